// The proactive refresher: in every replica, a background loop that refreshes connections
// whose access token expires within REFRESH_WINDOW_SECONDS (or, once, whose refresh token
// expires within a day), so callers asking for the default 60 s of validity never wait on a
// refresh.
//
// - Replicas share the work: due rows are claimed with FOR UPDATE SKIP LOCKED and leased
//   (refresh_not_before) for the time a refresh can take, so no two replicas take the same row.
// - The refresh itself is the API's exactly-once path (FreshTokens.refresh): lease on the row,
//   re-read, nothing done if someone refreshed meanwhile; rows under a live lease are not claimed.
// - At most REFRESH_CONCURRENCY refreshes per provider at a time, per replica, within the
//   provider's bulkhead (oauth/bulkhead.ts), where request-path callers come first.
// - Full batches are followed by the next at once (bounded per pass), so a backlog drains.
// - A transient failure backs off exponentially with jitter (30 s doubling, at most 1 h); a
//   connection in reauthorization_required is never selected: no retry storm for dead grants.
import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import { ProblemError } from '../errors.js'
import { DecryptionError } from '../store/encryption.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { ConnectionStore } from './connection-store.js'
import { inBackground } from '../oauth/bulkhead.js'
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

/** A pass claims batch after batch while they come back full, at most this many. */
export const MAX_BATCHES_PER_PASS = 50

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

  /**
   * One pass: claim what is due, a batch at a time, and refresh it; concurrent calls share one
   * pass. A full batch means more may be due: the next is claimed at once, so a backlog drains
   * at the provider bulkheads' pace, not one batch per interval; at most MAX_BATCHES_PER_PASS,
   * and stop() ends the pass after the batch in hand. Provider calls run at background priority.
   */
  tick(): Promise<TickResult> {
    this.running ??= inBackground(() => this.drain()).finally(() => (this.running = undefined))
    return this.running
  }

  private async drain(): Promise<TickResult> {
    const total: TickResult = { claimed: 0, refreshed: 0, failed: 0 }
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS && !this.stopped; batch++) {
      const result = await this.pass()
      total.claimed += result.claimed
      total.refreshed += result.refreshed
      total.failed += result.failed
      if (result.claimed < this.deps.options.batchSize) break
    }
    return total
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
