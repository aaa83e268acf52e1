// The fresh-token service: hands out a connection's access token, valid for at least the
// time asked, refreshing first when needed: exactly one refresh per connection at a time.
//
// - In one process, concurrent callers share one in-flight refresh (a promise per connection).
// - Across replicas, a refresh holds a lease on the row, and no database connection or
//   transaction is held while the provider is waited on (leased-refresh.ts, refresh-lease.ts).
// - The rotated refresh token is written with the new access token, fenced by the row's
//   version; a failed write is retried (persist-refresh.ts).
// - Failures are classified (oauth/provider-error.ts): a refused grant marks the connection
//   `reauthorization_required` (409); transient failures leave the tokens untouched (503).
import { translateDatabaseError } from '../store/db.js'
import { fillHeaders } from '../providers/templates.js'
import { visibleRow, type ConnectionRow } from './connection-store.js'
import {
  forceStands,
  notVendable,
  reauthorizationRequired,
  type FreshTokensOptions,
  type FreshTokenTimings,
  FRESH_TOKEN_TIMINGS,
  type RefreshRequest,
  type VendedToken,
} from './fresh-tokens-parts.js'
import { LeasedRefresh, type Outcome } from './leased-refresh.js'

export { FRESH_TOKEN_TIMINGS, type FreshTokenTimings, type RefreshRequest, type VendedToken }

export class FreshTokens {
  private inflight = new Map<string, Promise<ConnectionRow>>()

  private readonly leased: LeasedRefresh

  constructor(private readonly deps: FreshTokensOptions) {
    this.leased = new LeasedRefresh(deps, deps.timings ?? FRESH_TOKEN_TIMINGS, (row, seconds) =>
      this.isFresh(row, seconds),
    )
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
    // A refresh that completes after this moment answers this call too, forced or not.
    const requestedAt = this.deps.clock.now()
    let row = visibleRow(await this.deps.cache.read(id, () => this.deps.store.get(id)), namespaces)
    if (row.status !== 'active') throw notVendable(row)
    const force = forceStands(row, request.forceRefresh, this.deps)
    const refreshed = force || !this.isFresh(row, request.minValiditySeconds)
    if (refreshed)
      row = await this.refresh(id, { force, minValiditySeconds: request.minValiditySeconds, actor, requestedAt })
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

  /** Refreshes once for every concurrent caller in this process (across replicas: leased-refresh.ts). */
  refresh(id: string, request: RefreshRequest): Promise<ConnectionRow> {
    const running = this.inflight.get(id)
    if (running) return running
    const promise = this.refreshLeased(id, request).finally(() => this.inflight.delete(id))
    this.inflight.set(id, promise)
    return promise
  }

  /** Writes of tokens a provider already issued, in flight: shutdown waits for them. */
  get writesInFlight(): number {
    return this.leased.writesInFlight
  }

  /**
   * Resolves once no refresh is running (shutdown, before the pool closes): a refresh
   * still waiting on its provider may yet get rotated tokens that must be written.
   */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()])
    await this.leased.drain()
  }

  private async refreshLeased(id: string, request: RefreshRequest): Promise<ConnectionRow> {
    let outcome: Outcome
    try {
      outcome = await this.leased.run(id, request)
    } catch (err) {
      this.deps.cache.evict(id)
      throw translateDatabaseError(err)
    }
    this.deps.cache.evict(id)
    if ('error' in outcome) throw outcome.error
    this.deps.cache.put(outcome.row)
    return outcome.row
  }
}
