// The fresh-token service: hands out a connection's access token, valid for at least the
// time asked, refreshing first when needed: exactly one refresh per connection at a time.
//
// - In one process, concurrent callers share one in-flight refresh (a promise per connection).
// - Across replicas, the refresh runs inside a transaction holding the connection's row lock
//   (SELECT ... FOR UPDATE) for the length of the provider call. A replica that waited for
//   the lock re-reads the row and uses the refresh the other one made.
// - The rotated refresh token is written in the same transaction as the new access token; a
//   response without a refresh token keeps the old one.
// - Failures are classified (oauth/provider-error.ts): a refused grant marks the connection
//   `reauthorization_required` (409); transient failures leave the tokens untouched (503).
//   A database failure after the provider rotated the tokens is retried (see `persist`).
// - A replica that waited for the lock while another's refresh failed at the provider
//   answers that failure instead of asking again (a hanging provider would cost each
//   waiting replica a timeout of its own).
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { problem, ProblemError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { sendProviderRequest } from '../oauth/http.js'
import { fillHeaders } from '../oauth/placeholders.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { failureOf, ProviderError } from '../oauth/provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from '../oauth/token-endpoint.js'
import type { Provider } from '../providers/schema.js'
import { notifyChange } from '../store/changes.js'
import { isDatabaseUnavailable, type Database, type Tx } from '../store/db.js'
import type { ConnectionCache } from './connection-cache.js'
import type { ConnectionRow, ConnectionStore } from './connection-store.js'

export interface VendedToken {
  accessToken: string
  tokenType: string
  expiresAt: string | null
  scopes: string[]
  provider: string
  connectionId: string
  /** Headers the provider's API needs besides Authorization (e.g. Interact's X-Tenant). */
  headers: Record<string, string>
}

export interface RefreshRequest {
  /** Refresh even if the token is fresh (still shared with concurrent callers). */
  force: boolean
  /** Seconds the token must stay valid; a row at least this fresh needs no refresh. */
  minValiditySeconds: number
  /** Who asked (audit); `system` for the background refresher. */
  actor: string
}

export interface FreshTokenTimings {
  /** How long a replica waits for another replica's refresh of the same connection, beyond the provider timeout. */
  lockMarginMs: number
  /** How long the write of rotated tokens is retried while the database is unavailable. */
  persistRetryMs: number
}

/** Production timings; tests inject shorter ones (Deps.timings) instead of sleeping on these. */
export const FRESH_TOKEN_TIMINGS: FreshTokenTimings = { lockMarginMs: 2_000, persistRetryMs: 15_000 }

export class FreshTokens {
  private inflight = new Map<string, Promise<ConnectionRow>>()

  constructor(
    private db: Database,
    private store: ConnectionStore,
    private cache: ConnectionCache,
    private providers: Map<string, Provider>,
    private audit: AuditLog,
    private clock: Clock,
    private metrics: Metrics,
    private log: Logger,
    private network: ProviderNetwork,
    private timings: FreshTokenTimings = FRESH_TOKEN_TIMINGS,
  ) {}

  async accessToken(id: string, request: { minValiditySeconds: number; forceRefresh: boolean }, actor: string): Promise<VendedToken> {
    let row = await this.cache.read(id, () => this.store.get(id))
    if (!row || row.status === 'revoked') throw problem('connection_not_found')
    if (row.status === 'reauthorization_required') throw reauthorizationRequired(row)
    const refreshed = request.forceRefresh || !this.isFresh(row, request.minValiditySeconds)
    if (refreshed) row = await this.refresh(id, { force: request.forceRefresh, minValiditySeconds: request.minValiditySeconds, actor })
    const accessToken = this.store.open(row, 'access_token')
    if (!accessToken) throw reauthorizationRequired(row)
    this.audit.record({ type: 'connection.token_vended', actor, connectionId: id, detail: { refreshed } })
    this.metrics.tokensVended.inc({ provider: row.provider })
    return {
      accessToken,
      tokenType: row.tokenType,
      expiresAt: row.expiresAt?.toISOString() ?? null,
      scopes: row.scopes,
      provider: row.provider,
      connectionId: row.id,
      headers: this.headersFor(row),
    }
  }

  private headersFor(row: ConnectionRow): Record<string, string> {
    const provider = this.providers.get(row.provider)
    if (!provider || !Object.keys(provider.apiHeaders).length) return {}
    try {
      return fillHeaders(provider.apiHeaders, row.params as Record<string, string>)
    } catch {
      return {}
    }
  }

  /**
   * Is the token valid for at least `minValiditySeconds`? A token with no known expiry
   * counts as fresh (refreshing it would only be guessing). When the provider's lifetimes
   * are shorter than asked, no refresh could satisfy the caller: the token then counts as
   * fresh for the first half of its lifetime, so callers do not trigger a refresh each.
   */
  isFresh(row: ConnectionRow, minValiditySeconds: number): boolean {
    if (!row.expiresAt) return true
    const remaining = row.expiresAt.getTime() - this.clock.now().getTime()
    const lifetime = row.tokenObtainedAt ? row.expiresAt.getTime() - row.tokenObtainedAt.getTime() : Infinity
    const asked = minValiditySeconds * 1000
    return remaining >= (lifetime >= asked ? asked : lifetime / 2)
  }

  /** Refreshes once for every concurrent caller in this process. */
  refresh(id: string, request: RefreshRequest): Promise<ConnectionRow> {
    const running = this.inflight.get(id)
    if (running) return running
    const promise = this.refreshUnderLock(id, request).finally(() => this.inflight.delete(id))
    this.inflight.set(id, promise)
    return promise
  }

  private async refreshUnderLock(id: string, request: RefreshRequest): Promise<ConnectionRow> {
    const requestedAt = this.clock.now()
    let obtained: { tokens: TokenSet; fromVersion: number; row: ConnectionRow } | undefined
    let outcome: { row: ConnectionRow } | { error: ProblemError }
    try {
      outcome = await this.db.prisma.$transaction(
        async (tx) => {
          await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = '${this.network.timeoutMs + this.timings.lockMarginMs}ms'`)
          const row = await this.store.lock(tx, id)
          if (!row || row.status === 'revoked') return { error: problem('connection_not_found') }
          if (row.status === 'reauthorization_required') return { error: reauthorizationRequired(row) }
          // Another caller (this replica or another) refreshed while we waited for the lock.
          const refreshedSince = row.lastRefreshedAt !== null && row.lastRefreshedAt >= requestedAt
          if (refreshedSince || (!request.force && this.isFresh(row, request.minValiditySeconds))) return { row }
          // Or its refresh failed at the provider meanwhile: that is our answer too.
          const failedSince = row.lastErrorAt !== null && row.lastErrorAt >= requestedAt && row.lastErrorCode !== null ? failureOf(row.lastErrorCode) : undefined
          if (failedSince === 'transient' || failedSince === 'configuration') {
            this.log.info({ connectionId: id, provider: row.provider, code: row.lastErrorCode }, 'refresh not retried: it failed at the provider while this request waited')
            return { error: failureProblem(failedSince, row.lastErrorCode!) }
          }

          const provider = this.providers.get(row.provider)
          if (!provider) return { error: problem('provider_unavailable', `provider ${row.provider} is no longer configured`) }
          // API keys do not expire and cannot be refreshed: the stored key is the answer.
          if (provider.mode === 'api_key') return { row }
          const refreshToken = this.store.open(row, 'refresh_token')
          if (!refreshToken) {
            // Nothing to refresh with: a token that still works is handed out with its true expiry.
            if (row.expiresAt && row.expiresAt > this.clock.now()) return { row }
            return { error: await this.markReauthorization(tx, row, 'no_refresh_token', request.actor) }
          }

          let tokens: TokenSet
          const started = Date.now()
          try {
            const res = await sendProviderRequest(
              buildTokenRequest(provider, row.params as Record<string, string>, { grant_type: 'refresh_token', refresh_token: refreshToken }),
              this.network.http(provider),
            )
            tokens = parseTokenResponse(provider, res)
          } catch (err) {
            if (!(err instanceof ProviderError)) throw err
            this.metrics.refreshes.inc({ provider: row.provider, outcome: err.failure })
            this.log.warn({ connectionId: id, provider: row.provider, failure: err.failure, code: err.code, ms: Date.now() - started }, 'refresh failed')
            return { error: await this.recordFailure(tx, row, err, request.actor) }
          }
          obtained = { tokens, fromVersion: row.version, row }
          const updated = await this.writeTokens(tx, row, tokens, request.actor)
          this.metrics.refreshes.inc({ provider: row.provider, outcome: 'success' })
          this.log.info({ connectionId: id, provider: row.provider, rotated: tokens.refreshToken !== undefined, ms: Date.now() - started }, 'refreshed')
          return { row: updated }
        },
        { maxWait: 5_000, timeout: this.network.timeoutMs * 2 + this.timings.lockMarginMs + 5_000 },
      )
    } catch (err) {
      // The provider already answered with new tokens: they must not be lost.
      if (obtained) return this.persist(obtained, request.actor, err)
      throw translateDatabaseError(err)
    }
    if ('error' in outcome) {
      this.cache.evict(id)
      throw outcome.error
    }
    this.cache.evict(id)
    this.cache.put(outcome.row)
    return outcome.row
  }

  private async writeTokens(tx: Tx, row: ConnectionRow, tokens: TokenSet, actor: string): Promise<ConnectionRow> {
    const now = this.clock.now()
    const updated = await tx.connection.update({
      where: { id: row.id },
      data: {
        ...this.store.tokenColumns(row.id, tokens, row.scopes),
        status: 'active',
        version: { increment: 1 },
        metadata: { ...(row.metadata as object), ...tokens.metadata },
        lastRefreshedAt: now,
        lastErrorCode: null,
        lastErrorAt: null,
        refreshNotBefore: null,
        refreshFailures: 0,
        updatedAt: now,
      },
    })
    await this.audit.write({ type: 'connection.refresh_succeeded', actor, connectionId: row.id, detail: { rotated: tokens.refreshToken !== undefined } }, tx)
    await notifyChange(tx, { topic: 'connection', id: row.id })
    return updated
  }

  private async markReauthorization(tx: Tx, row: ConnectionRow, code: string, actor: string): Promise<ProblemError> {
    const now = this.clock.now()
    await tx.connection.update({ where: { id: row.id }, data: { status: 'reauthorization_required', lastErrorCode: code, lastErrorAt: now, updatedAt: now } })
    await this.audit.write({ type: 'connection.refresh_failed', actor, connectionId: row.id, detail: { failure: 'grant', code } }, tx)
    await notifyChange(tx, { topic: 'connection', id: row.id })
    return reauthorizationRequired({ ...row, lastErrorCode: code })
  }

  private async recordFailure(tx: Tx, row: ConnectionRow, err: ProviderError, actor: string): Promise<ProblemError> {
    // Under the row lock the stored refresh token is the one just refused: a refused grant
    // is not a lost race, so the connection needs its user again. (SECURITY.md item 14)
    if (err.failure === 'grant') return this.markReauthorization(tx, row, err.code, actor)
    const now = this.clock.now()
    // refresh_failures counts consecutive failures, whoever refreshed (the refresher backs off on it).
    await tx.connection.update({ where: { id: row.id }, data: { lastErrorCode: err.code, lastErrorAt: now, refreshFailures: { increment: 1 } } })
    await this.audit.write({ type: 'connection.refresh_failed', actor, connectionId: row.id, detail: { failure: err.failure, code: err.code } }, tx)
    await notifyChange(tx, { topic: 'connection', id: row.id })
    if (err.failure === 'configuration') this.log.error({ connectionId: row.id, provider: row.provider, code: err.code }, 'the provider refused the broker client; check its configuration')
    return failureProblem(err.failure, err.code)
  }

  /**
   * The provider issued new tokens but the transaction failed (database unavailable). The
   * old refresh token may already be void at the provider, so the new tokens are written
   * again, guarded by the version they were refreshed from, until it works or
   * the persist-retry window (15 s) passes. Residual risk: if the process dies before the write, a
   * rotating provider's grant is lost and the connection needs its user again.
   */
  private async persist(obtained: { tokens: TokenSet; fromVersion: number; row: ConnectionRow }, actor: string, cause: unknown): Promise<ConnectionRow> {
    const { row, tokens, fromVersion } = obtained
    const deadline = Date.now() + this.timings.persistRetryMs
    let delay = 100
    this.log.warn({ connectionId: row.id, err: { message: (cause as Error).message } }, 'refreshed tokens not stored yet; retrying the write')
    for (;;) {
      try {
        const written = await this.db.prisma.$transaction(async (tx) => {
          const current = await this.store.lock(tx, row.id)
          // Only over the version the tokens were refreshed from: anything newer wins.
          if (!current || current.version !== fromVersion) return current
          return this.writeTokens(tx, current, tokens, actor)
        })
        this.cache.evict(row.id)
        if (!written || written.version === fromVersion) throw problem('connection_not_found')
        this.metrics.refreshWriteRetries.inc({ outcome: 'stored' })
        return written
      } catch (err) {
        if (err instanceof ProblemError) throw err
        if (Date.now() + delay > deadline) {
          this.metrics.refreshWriteRetries.inc({ outcome: 'lost' })
          this.log.error({ connectionId: row.id }, 'refreshed tokens could not be stored: the connection may need its user again')
          throw translateDatabaseError(err)
        }
        await new Promise((r) => setTimeout(r, delay))
        delay = Math.min(delay * 2, 2_000)
      }
    }
  }
}

/** The answer for a refresh that failed at the provider without refusing the grant. */
function failureProblem(failure: 'configuration' | 'transient', code: string): ProblemError {
  if (failure === 'configuration') return problem('provider_rejected', `the provider refused the broker's request (${code}); the provider configuration needs attention`)
  return problem('provider_unavailable', `the provider could not refresh the token (${code}); stored tokens are unchanged`)
}

function reauthorizationRequired(row: Pick<ConnectionRow, 'id' | 'lastErrorCode'>): ProblemError {
  return problem('reauthorization_required', 'the provider no longer accepts this connection\'s grant; send its user through a connect session with connectionId', {
    connectionId: row.id,
    reason: row.lastErrorCode ?? undefined,
  })
}

function translateDatabaseError(err: unknown): unknown {
  if (err instanceof ProblemError) return err
  const code = (err as { code?: string }).code
  const message = (err as Error).message ?? ''
  // lock_timeout: another replica's refresh of this connection is taking too long.
  if (code === '55P03' || /lock timeout/i.test(message)) return problem('provider_unavailable', 'another refresh of this connection is still waiting on the provider')
  if (isDatabaseUnavailable(err) || /Transaction API error|Unable to start a transaction/i.test(message)) return problem('database_unavailable')
  return err
}
