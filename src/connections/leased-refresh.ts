// One refresh of one connection across replicas (FreshTokens.refresh shares it within the
// process): claim the lease (refresh-lease.ts), call the provider with no transaction
// open, write the outcome fenced by the version the lease was claimed at.
//
// - A replica that found the lease held waits (notification or poll) and re-reads: it uses
//   the refresh the other one made, or answers the failure the other one met (a hanging
//   provider would otherwise cost each waiting replica a timeout of its own).
// - The rotated refresh token is written in the same statement as the new access token; a
//   response without a refresh token keeps the old one. A failed write is retried (`persist`).
// - A refused grant marks the connection `reauthorization_required` (409), unless the row
//   got a newer grant meanwhile; transient failures leave the tokens untouched (503).
import { problem, type ProblemError } from '../errors.js'
import { sendProviderRequest } from '../oauth/http.js'
import { failureOf, ProviderError } from '../oauth/provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from '../oauth/token-endpoint.js'
import type { RefreshableProvider } from '../providers/schema.js'
import type { ConnectionRow } from './connection-store.js'
import {
  failureProblem,
  forceStands,
  reauthorizationRequired,
  type FreshTokensOptions,
  type FreshTokenTimings,
  type RefreshRequest,
} from './fresh-tokens-parts.js'
import { persistRefresh } from './persist-refresh.js'
import { RefreshLease } from './refresh-lease.js'

export type Outcome = { row: ConnectionRow } | { error: ProblemError }
type Claimed = { row: ConnectionRow; provider: RefreshableProvider; refreshToken: string }

export class LeasedRefresh {
  readonly lease: RefreshLease
  /** Writes of tokens the provider already issued: shutdown waits for them (`drain`). */
  private writes = new Set<Promise<unknown>>()

  constructor(
    private readonly deps: FreshTokensOptions,
    private readonly timings: FreshTokenTimings,
    private readonly isFresh: (row: ConnectionRow, minValiditySeconds: number) => boolean,
  ) {
    const leaseMs = deps.network.timeoutMs * 2 + timings.lockMarginMs
    this.lease = new RefreshLease({ db: deps.db, changes: deps.changes, leaseMs })
  }

  get writesInFlight(): number {
    return this.writes.size
  }

  /** Resolves once no write of issued tokens is in flight. */
  async drain(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes])
  }

  async run(id: string, request: RefreshRequest): Promise<Outcome> {
    const requestedAt = request.requestedAt ?? this.deps.clock.now()
    // A waiter gives up when another replica's refresh takes longer than a provider call can.
    const giveUpAt = Date.now() + this.deps.network.timeoutMs + this.timings.lockMarginMs
    for (;;) {
      const row = await this.deps.store.get(id)
      const decision = await this.decide(row, request, requestedAt)
      if (decision !== 'refresh') return decision.done
      // Taken only over the row as read: a change since then means deciding again.
      if (!this.lease.heldByOther(row!) && (await this.lease.claim(row!)))
        return this.refreshClaimed(row!, request.actor)
      if (Date.now() >= giveUpAt)
        return { error: problem('provider_unavailable', 'another refresh of this connection is still running') }
      const until = row!.refreshLeaseUntil?.getTime() ?? 0
      await this.lease.waitForChange(id, Math.min(Math.max(until, Date.now() + 50), giveUpAt))
    }
  }

  /** On the row as read: reuse what another caller did meanwhile, answer without the provider, or refresh. */
  private async decide(
    row: ConnectionRow | undefined,
    request: RefreshRequest,
    requestedAt: Date,
  ): Promise<{ done: Outcome } | 'refresh'> {
    if (!row || row.status === 'revoked') return { done: { error: problem('connection_not_found') } }
    if (row.status === 'reauthorization_required') return { done: { error: reauthorizationRequired(row) } }
    // Another caller (this replica or another) refreshed since this request began.
    const refreshedSince = row.lastRefreshedAt !== null && row.lastRefreshedAt >= requestedAt
    const force = forceStands(row, request.force, this.deps)
    if (refreshedSince || (!force && this.isFresh(row, request.minValiditySeconds))) return { done: { row } }
    // Or its refresh failed at the provider meanwhile: that is our answer too.
    const failedSince =
      row.lastErrorAt !== null && row.lastErrorAt >= requestedAt && row.lastErrorCode !== null
        ? failureOf(row.lastErrorCode)
        : undefined
    if (failedSince === 'transient' || failedSince === 'configuration') {
      this.deps.log.info(
        { connectionId: row.id, provider: row.provider, code: row.lastErrorCode },
        'refresh not retried: it failed at the provider while this request waited',
      )
      return { done: { error: failureProblem(failedSince, row.lastErrorCode!) } }
    }
    const provider = this.deps.providers.get(row.provider)
    if (!provider)
      return { done: { error: problem('provider_unavailable', `provider ${row.provider} is no longer configured`) } }
    // API keys do not expire and cannot be refreshed: the stored key is the answer.
    if (provider.mode === 'api_key') return { done: { row } }
    if (this.deps.store.open(row, 'refresh_token')) return 'refresh'
    // Nothing to refresh with: a token that still works is handed out with its true expiry.
    if (row.expiresAt && row.expiresAt > this.deps.clock.now()) return { done: { row } }
    const error = reauthorizationRequired({ ...row, lastErrorCode: 'no_refresh_token' })
    const marked = await this.lease.fencedWrite(
      row,
      async (tx, current) => {
        await this.deps.store.requireReauthorization(tx, current, 'no_refresh_token', request.actor)
        return { error }
      },
      async (_tx, current) => this.current(current),
    )
    return { done: marked }
  }

  /** This replica holds the lease: the provider call (no transaction open), then the fenced write. */
  private async refreshClaimed(row: ConnectionRow, actor: string): Promise<Outcome> {
    const provider = this.deps.providers.get(row.provider) as RefreshableProvider
    const claimed: Claimed = { row, provider, refreshToken: this.deps.store.open(row, 'refresh_token')! }
    let tokens: TokenSet
    const started = Date.now()
    try {
      tokens = await this.callTokenEndpoint(claimed)
    } catch (err) {
      if (!(err instanceof ProviderError)) {
        await this.lease.release(row.id).catch(() => undefined)
        throw err
      }
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
      return this.recordFailure(row, err, actor)
    }
    const write = persistRefresh(this.deps, this.lease, this.timings, { row, tokens, actor })
    this.writes.add(write)
    const written = await write.finally(() => this.writes.delete(write))
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
    return { row: written }
  }

  /** The refresh_token grant at the provider. */
  private async callTokenEndpoint({ row, provider, refreshToken }: Claimed): Promise<TokenSet> {
    const res = await sendProviderRequest(
      buildTokenRequest(provider, row.params as Record<string, string>, {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      }),
      this.deps.network.http(provider, 'refresh'),
    )
    return parseTokenResponse(provider, res)
  }

  /**
   * The failure is recorded only over the version the lease was claimed at: a refused
   * grant then is the stored one (not a lost race), so the connection needs its user
   * again (docs/security.md, checklist item 14). A newer grant meanwhile is the answer.
   */
  private recordFailure(row: ConnectionRow, err: ProviderError, actor: string): Promise<Outcome> {
    return this.lease.fencedWrite<Outcome>(
      row,
      async (tx, current) => {
        if (err.failure === 'grant') {
          await this.deps.store.requireReauthorization(tx, current, err.code, actor)
          return { error: reauthorizationRequired({ ...current, lastErrorCode: err.code }) }
        }
        await this.deps.store.recordFailure(tx, current, { failure: err.failure, code: err.code }, actor)
        if (err.failure === 'configuration')
          this.deps.log.error(
            { connectionId: row.id, provider: row.provider, code: err.code },
            'the provider refused the broker client; check its configuration',
          )
        return { error: failureProblem(err.failure, err.code) }
      },
      async (_tx, current) => this.current(current),
    )
  }

  /** After a fenced write: the row's newer grant is the answer, unless it was deleted. */
  private current(row: ConnectionRow | undefined): Outcome {
    return row && row.status === 'active' ? { row } : { error: problem('connection_not_found') }
  }
}
