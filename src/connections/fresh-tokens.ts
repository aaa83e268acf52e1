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
import { problem, ProblemError } from '../errors.js'
import { sendProviderRequest } from '../oauth/http.js'
import { fillHeaders } from '../providers/templates.js'
import { failureOf, ProviderError } from '../oauth/provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from '../oauth/token-endpoint.js'
import type { RefreshableProvider } from '../providers/schema.js'
import { translateDatabaseError, type Tx } from '../store/db.js'
import { visibleRow, type ConnectionRow } from './connection-store.js'
import {
  failureProblem,
  reauthorizationRequired,
  type FreshTokensOptions,
  type FreshTokenTimings,
  FRESH_TOKEN_TIMINGS,
  type RefreshRequest,
  type VendedToken,
} from './fresh-tokens-parts.js'

export { FRESH_TOKEN_TIMINGS, type FreshTokenTimings, type RefreshRequest, type VendedToken }

type Outcome = { row: ConnectionRow } | { error: ProblemError }
/** Tokens the provider issued in this refresh: kept so a failed write can be retried (`persist`). */
type Obtained = { tokens: TokenSet; fromVersion: number; row: ConnectionRow }
type Attempt = { obtained?: Obtained }

export class FreshTokens {
  private inflight = new Map<string, Promise<ConnectionRow>>()

  private readonly timings: FreshTokenTimings

  constructor(private readonly deps: FreshTokensOptions) {
    this.timings = deps.timings ?? FRESH_TOKEN_TIMINGS
  }

  /**
   * `namespaces`: the caller's (service-clients/namespaces.ts). The row (cached or read)
   * carries its namespace, so the check costs no database round trip.
   */
  async accessToken(
    id: string,
    request: { minValiditySeconds: number; forceRefresh: boolean },
    actor: string,
    namespaces: readonly string[],
  ): Promise<VendedToken> {
    let row = visibleRow(await this.deps.cache.read(id, () => this.deps.store.get(id)), namespaces)
    if (row.status === 'reauthorization_required') throw reauthorizationRequired(row)
    const refreshed = request.forceRefresh || !this.isFresh(row, request.minValiditySeconds)
    if (refreshed)
      row = await this.refresh(id, {
        force: request.forceRefresh,
        minValiditySeconds: request.minValiditySeconds,
        actor,
      })
    const accessToken = this.deps.store.open(row, 'access_token')
    if (!accessToken) throw reauthorizationRequired(row)
    this.deps.audit.record({
      type: 'connection.token_vended',
      actor,
      connectionId: id,
      namespace: row.namespace,
      detail: { refreshed },
    })
    this.deps.metrics.tokensVended.inc({ provider: row.provider })
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
    const provider = this.deps.providers.get(row.provider)
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
    const remaining = row.expiresAt.getTime() - this.deps.clock.now().getTime()
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
    const requestedAt = this.deps.clock.now()
    const attempt: Attempt = {}
    let outcome: Outcome
    try {
      outcome = await this.deps.db.prisma.$transaction(
        async (tx) => {
          await tx.$executeRawUnsafe(
            `SET LOCAL lock_timeout = '${this.deps.network.timeoutMs + this.timings.lockMarginMs}ms'`,
          )
          return this.refreshLocked(tx, id, request, requestedAt, attempt)
        },
        { maxWait: 5_000, timeout: this.deps.network.timeoutMs * 2 + this.timings.lockMarginMs + 5_000 },
      )
    } catch (err) {
      // The provider already answered with new tokens: they must not be lost.
      if (attempt.obtained) return this.persist(attempt.obtained, request.actor, err)
      throw translateDatabaseError(err)
    }
    if ('error' in outcome) {
      this.deps.cache.evict(id)
      throw outcome.error
    }
    this.deps.cache.evict(id)
    this.deps.cache.put(outcome.row)
    return outcome.row
  }

  /** Under the row lock: re-read, reuse what another caller did meanwhile, else refresh. */
  private async refreshLocked(
    tx: Tx,
    id: string,
    request: RefreshRequest,
    requestedAt: Date,
    attempt: Attempt,
  ): Promise<Outcome> {
    const row = await this.deps.store.lock(tx, id)
    if (!row || row.status === 'revoked') return { error: problem('connection_not_found') }
    if (row.status === 'reauthorization_required') return { error: reauthorizationRequired(row) }
    // Another caller (this replica or another) refreshed while we waited for the lock.
    const refreshedSince = row.lastRefreshedAt !== null && row.lastRefreshedAt >= requestedAt
    if (refreshedSince || (!request.force && this.isFresh(row, request.minValiditySeconds))) return { row }
    // Or its refresh failed at the provider meanwhile: that is our answer too.
    const failedSince =
      row.lastErrorAt !== null && row.lastErrorAt >= requestedAt && row.lastErrorCode !== null
        ? failureOf(row.lastErrorCode)
        : undefined
    if (failedSince === 'transient' || failedSince === 'configuration') {
      this.deps.log.info(
        { connectionId: id, provider: row.provider, code: row.lastErrorCode },
        'refresh not retried: it failed at the provider while this request waited',
      )
      return { error: failureProblem(failedSince, row.lastErrorCode!) }
    }

    const provider = this.deps.providers.get(row.provider)
    if (!provider) return { error: problem('provider_unavailable', `provider ${row.provider} is no longer configured`) }
    // API keys do not expire and cannot be refreshed: the stored key is the answer.
    if (provider.mode === 'api_key') return { row }
    const refreshToken = this.deps.store.open(row, 'refresh_token')
    if (!refreshToken) {
      // Nothing to refresh with: a token that still works is handed out with its true expiry.
      if (row.expiresAt && row.expiresAt > this.deps.clock.now()) return { row }
      return { error: await this.markReauthorization(tx, row, 'no_refresh_token', request.actor) }
    }
    return this.refreshAtProvider(tx, { row, provider, refreshToken }, request.actor, attempt)
  }

  /** The refresh_token grant at the provider; the outcome is written under the same lock. */
  private async refreshAtProvider(
    tx: Tx,
    { row, provider, refreshToken }: { row: ConnectionRow; provider: RefreshableProvider; refreshToken: string },
    actor: string,
    attempt: Attempt,
  ): Promise<Outcome> {
    let tokens: TokenSet
    const started = Date.now()
    try {
      const res = await sendProviderRequest(
        buildTokenRequest(provider, row.params as Record<string, string>, {
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        }),
        this.deps.network.http(provider, 'refresh'),
      )
      tokens = parseTokenResponse(provider, res)
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      this.deps.metrics.refreshes.inc({ provider: row.provider, outcome: err.failure })
      this.deps.log.warn(
        {
          connectionId: row.id,
          provider: row.provider,
          failure: err.failure,
          code: err.code,
          ms: Date.now() - started,
        },
        'refresh failed',
      )
      return { error: await this.recordFailure(tx, row, err, actor) }
    }
    attempt.obtained = { tokens, fromVersion: row.version, row }
    const updated = await this.deps.store.recordRefresh(tx, row, tokens, actor)
    this.deps.metrics.refreshes.inc({ provider: row.provider, outcome: 'success' })
    this.deps.log.info(
      {
        connectionId: row.id,
        provider: row.provider,
        rotated: tokens.refreshToken !== undefined,
        ms: Date.now() - started,
      },
      'refreshed',
    )
    return { row: updated }
  }

  private async markReauthorization(tx: Tx, row: ConnectionRow, code: string, actor: string): Promise<ProblemError> {
    await this.deps.store.requireReauthorization(tx, row, code, actor)
    return reauthorizationRequired({ ...row, lastErrorCode: code })
  }

  private async recordFailure(tx: Tx, row: ConnectionRow, err: ProviderError, actor: string): Promise<ProblemError> {
    // Under the row lock the stored refresh token is the one just refused: a refused grant is not
    // a lost race, so the connection needs its user again. (docs/security.md, checklist item 14)
    if (err.failure === 'grant') return this.markReauthorization(tx, row, err.code, actor)
    await this.deps.store.recordFailure(tx, row, { failure: err.failure, code: err.code }, actor)
    if (err.failure === 'configuration')
      this.deps.log.error(
        { connectionId: row.id, provider: row.provider, code: err.code },
        'the provider refused the broker client; check its configuration',
      )
    return failureProblem(err.failure, err.code)
  }

  /**
   * The provider issued new tokens but the transaction failed (database unavailable). The
   * old refresh token may already be void at the provider, so the new tokens are written
   * again, guarded by the version they were refreshed from, until it works or
   * the persist-retry window (15 s) passes. Residual risk: if the process dies before the write, a
   * rotating provider's grant is lost and the connection needs its user again.
   */
  private async persist(obtained: Obtained, actor: string, cause: unknown): Promise<ConnectionRow> {
    const { row, tokens, fromVersion } = obtained
    const deadline = Date.now() + this.timings.persistRetryMs
    let delay = 100
    this.deps.log.warn(
      { connectionId: row.id, err: { message: (cause as Error).message } },
      'refreshed tokens not stored yet; retrying the write',
    )
    for (;;) {
      try {
        const written = await this.deps.db.prisma.$transaction(async (tx) => {
          const current = await this.deps.store.lock(tx, row.id)
          // Only over the version the tokens were refreshed from: anything newer wins.
          if (!current || current.version !== fromVersion) return current
          return this.deps.store.recordRefresh(tx, current, tokens, actor)
        })
        this.deps.cache.evict(row.id)
        if (!written || written.version === fromVersion) throw problem('connection_not_found')
        this.deps.metrics.refreshWriteRetries.inc({ outcome: 'stored' })
        return written
      } catch (err) {
        if (err instanceof ProblemError) throw err
        if (Date.now() + delay > deadline) {
          this.deps.metrics.refreshWriteRetries.inc({ outcome: 'lost' })
          this.deps.log.error(
            { connectionId: row.id },
            'refreshed tokens could not be stored: the connection may need its user again',
          )
          throw translateDatabaseError(err)
        }
        await new Promise((r) => setTimeout(r, delay))
        delay = Math.min(delay * 2, 2_000)
      }
    }
  }
}
