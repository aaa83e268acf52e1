// The proactive refresher: in every replica, a background loop that refreshes connections
// whose access token expires within REFRESH_WINDOW_SECONDS (or, once, whose refresh token
// expires within a day), so callers asking for the default 60 s of validity never wait on a
// refresh.
//
// - Replicas share the work: due rows are claimed with FOR UPDATE SKIP LOCKED and leased
//   (refresh_not_before) for the time a refresh can take, so no two replicas take the same row.
// - The refresh itself is the API's exactly-once path (FreshTokens.refresh): row lock, re-read,
//   nothing done if someone refreshed meanwhile.
// - At most REFRESH_CONCURRENCY refreshes per provider at a time, per replica.
// - A transient failure backs off exponentially with jitter (30 s doubling, at most 1 h); a
//   connection in reauthorization_required is never selected: no retry storm for dead grants.
import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import { ProblemError } from '../errors.js'
import { DecryptionError } from '../store/encryption.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { ConnectionStore } from './connection-store.js'
import type { FreshTokens } from './fresh-tokens.js'
import { claimParameters, type DueConnection, type RefresherOptions } from './refresh-schedule.js'

export { CLAIM_SQL, claimParameters, type RefresherOptions } from './refresh-schedule.js'

export interface ProactiveRefresherOptions {
  store: ConnectionStore
  freshTokens: FreshTokens
  metrics: Metrics
  log: Logger
  options: RefresherOptions
}

export interface TickResult {
  claimed: number
  refreshed: number
  failed: number
}

export class ProactiveRefresher {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<TickResult> | undefined
  private stopped = false

  constructor(private readonly deps: ProactiveRefresherOptions) {}

  start(): void {
    if (this.deps.options.windowSeconds <= 0) return
    const schedule = () => {
      if (this.stopped) return
      // Jitter keeps replicas started together from ticking together.
      const delay = this.deps.options.intervalSeconds * 1000 * (0.75 + Math.random() * 0.5)
      this.timer = setTimeout(() => {
        this.tick()
          .catch((err: unknown) =>
            this.deps.log.warn({ err: { message: (err as Error).message } }, 'proactive refresh tick failed'),
          )
          .finally(schedule)
      }, delay)
      this.timer.unref()
    }
    schedule()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running?.catch(() => undefined)
  }

  /** One pass: claim what is due (up to a batch) and refresh it. Concurrent calls share one pass. */
  tick(): Promise<TickResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined))
    return this.running
  }

  private async pass(): Promise<TickResult> {
    const claimed = await this.claim()
    const result: TickResult = { claimed: claimed.length, refreshed: 0, failed: 0 }
    const done = () => this.deps.metrics.proactiveRefreshLastPass.set(Date.now() / 1000)
    if (!claimed.length) {
      done()
      return result
    }
    const byProvider = new Map<string, Array<{ id: string; force: boolean; failures: number }>>()
    for (const c of claimed) byProvider.set(c.provider, [...(byProvider.get(c.provider) ?? []), c])
    await Promise.all(
      [...byProvider.values()].map(async (queue) => {
        const workers = Array.from(
          { length: Math.min(this.deps.options.concurrencyPerProvider, queue.length) },
          async () => {
            for (let next = queue.shift(); next; next = queue.shift()) {
              if (this.stopped) return
              if (await this.refreshOne(next)) result.refreshed++
              else result.failed++
            }
          },
        )
        await Promise.all(workers)
      }),
    )
    this.deps.log.info(result, 'proactive refresh pass')
    done()
    return result
  }

  private claim(): Promise<DueConnection[]> {
    return this.deps.store.claimDue(claimParameters(this.deps.options))
  }

  private async refreshOne({
    id,
    force,
    failures,
  }: {
    id: string
    force: boolean
    failures: number
  }): Promise<boolean> {
    try {
      await this.deps.freshTokens.refresh(id, {
        force,
        minValiditySeconds: this.deps.options.windowSeconds,
        actor: 'system',
      })
      this.deps.metrics.proactiveRefreshes.inc({ outcome: 'refreshed' })
      return true
    } catch (err) {
      const code =
        err instanceof ProblemError ? err.code : err instanceof DecryptionError ? 'secret_unreadable' : 'error'
      this.deps.metrics.proactiveRefreshes.inc({ outcome: code })
      // No caller sees this failure: the log is where a tampered ciphertext or a bug shows.
      if (err instanceof DecryptionError) {
        this.deps.log.error(
          { event: SECURITY_EVENTS.secretUnreadable, connectionId: id, code, reason: err.message },
          'a stored secret failed its integrity check; connection not refreshed',
        )
      } else if (!(err instanceof ProblemError)) {
        this.deps.log.error({ connectionId: id, err: { message: (err as Error).message } }, 'proactive refresh failed')
      }
      // A refused grant changed the status: the row is no longer selected. Anything else backs off.
      if (code !== 'reauthorization_required' && code !== 'connection_not_found')
        await this.backOff(id, failures).catch(() => undefined)
      return false
    }
  }

  /**
   * `failures`: the count when the row was claimed. A failure at the provider was already
   * counted by the refresh itself; others (database, unreadable secret) are counted here.
   */
  private backOff(id: string, failures: number): Promise<void> {
    return this.deps.store.backOff(id, failures)
  }
}
