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
import type { Database } from '../store/db.js'
import { DecryptionError } from '../store/encryption.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { FreshTokens } from './fresh-tokens.js'

export interface RefresherOptions {
  windowSeconds: number
  intervalSeconds: number
  concurrencyPerProvider: number
  batchSize: number
  /** How long a claim keeps other replicas away: longer than any refresh can take. */
  leaseSeconds: number
}

/** Refresh tokens are renewed this long before they expire (or the access-token window, if longer). */
const REFRESH_TOKEN_WINDOW_SECONDS = 86_400
const BACKOFF_BASE_SECONDS = 30
const BACKOFF_MAX_SECONDS = 3_600

/**
 * Due rows, claimed and leased in one statement ($1 access-token window, $2 refresh-token
 * window, $3 batch size, $4 lease, all seconds). A row is due when
 * - its access token expires within the window and is past half its lifetime (a token
 *   living shorter than the window is not refreshed on every pass), or
 * - its refresh token expires within the refresh-token window and no tokens were written
 *   since it entered that window: one forced refresh tries to get a new refresh token;
 *   if the provider does not push the expiry forward (no new refresh token, or the same
 *   remaining lifetime), refreshing again cannot help, so the row is not due by this reason
 *   any more.
 * Each arm bounds one indexed column (status + expires_at, status + refresh_token_expires_at),
 * so the claim reads only the rows near expiry; test/connections/proactive-refresh.test.ts
 * checks the plan with EXPLAIN.
 */
export const CLAIM_SQL = `
  WITH due AS (
    SELECT id,
           NOT (expires_at IS NOT NULL AND expires_at < now() + make_interval(secs => $1)
                AND expires_at - now() < (expires_at - COALESCE(token_obtained_at, expires_at - make_interval(secs => 2 * $1))) / 2) AS force
      FROM connections
     WHERE status = 'active'
       AND refresh_token IS NOT NULL
       AND (refresh_not_before IS NULL OR refresh_not_before <= now())
       AND ((expires_at < now() + make_interval(secs => $1)
             AND expires_at - now() < (expires_at - COALESCE(token_obtained_at, expires_at - make_interval(secs => 2 * $1))) / 2)
            OR (refresh_token_expires_at < now() + make_interval(secs => $2)
                AND COALESCE(token_obtained_at, '-infinity') < refresh_token_expires_at - make_interval(secs => $2)))
     ORDER BY expires_at NULLS LAST
     LIMIT $3
     FOR UPDATE SKIP LOCKED)
  UPDATE connections c SET refresh_not_before = now() + make_interval(secs => $4)
    FROM due WHERE c.id = due.id
  RETURNING c.id, c.provider, due.force, c.refresh_failures AS failures`

/** CLAIM_SQL's parameters. */
export function claimParameters(options: RefresherOptions): number[] {
  return [options.windowSeconds, Math.max(options.windowSeconds, REFRESH_TOKEN_WINDOW_SECONDS), options.batchSize, options.leaseSeconds]
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

  constructor(
    private db: Database,
    private freshTokens: FreshTokens,
    private metrics: Metrics,
    private log: Logger,
    private options: RefresherOptions,
  ) {}

  start(): void {
    if (this.options.windowSeconds <= 0) return
    const schedule = () => {
      if (this.stopped) return
      // Jitter keeps replicas started together from ticking together.
      const delay = this.options.intervalSeconds * 1000 * (0.75 + Math.random() * 0.5)
      this.timer = setTimeout(() => {
        this.tick()
          .catch((err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, 'proactive refresh tick failed'))
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
    if (!claimed.length) return result
    const byProvider = new Map<string, Array<{ id: string; force: boolean; failures: number }>>()
    for (const c of claimed) byProvider.set(c.provider, [...(byProvider.get(c.provider) ?? []), c])
    await Promise.all(
      [...byProvider.values()].map(async (queue) => {
        const workers = Array.from({ length: Math.min(this.options.concurrencyPerProvider, queue.length) }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) {
            if (this.stopped) return
            if (await this.refreshOne(next)) result.refreshed++
            else result.failed++
          }
        })
        await Promise.all(workers)
      }),
    )
    this.log.info(result, 'proactive refresh pass')
    return result
  }

  private async claim(): Promise<Array<{ id: string; provider: string; force: boolean; failures: number }>> {
    const { rows } = await this.db.pool.query<{ id: string; provider: string; force: boolean; failures: number }>(CLAIM_SQL, claimParameters(this.options))
    return rows
  }

  private async refreshOne({ id, force, failures }: { id: string; force: boolean; failures: number }): Promise<boolean> {
    try {
      await this.freshTokens.refresh(id, { force, minValiditySeconds: this.options.windowSeconds, actor: 'system' })
      this.metrics.proactiveRefreshes.inc({ outcome: 'refreshed' })
      return true
    } catch (err) {
      const code = err instanceof ProblemError ? err.code : err instanceof DecryptionError ? 'secret_unreadable' : 'error'
      this.metrics.proactiveRefreshes.inc({ outcome: code })
      // No caller sees this failure: the log is where a tampered ciphertext or a bug shows.
      if (err instanceof DecryptionError) {
        this.log.error({ event: SECURITY_EVENTS.secretUnreadable, connectionId: id, code, reason: err.message }, 'a stored secret failed its integrity check; connection not refreshed')
      } else if (!(err instanceof ProblemError)) {
        this.log.error({ connectionId: id, err: { message: (err as Error).message } }, 'proactive refresh failed')
      }
      // A refused grant changed the status: the row is no longer selected. Anything else backs off.
      if (code !== 'reauthorization_required' && code !== 'connection_not_found') await this.backOff(id, failures).catch(() => undefined)
      return false
    }
  }

  /**
   * `failures`: the count when the row was claimed. A failure at the provider was already
   * counted by the refresh itself; others (database, unreadable secret) are counted here.
   */
  private async backOff(id: string, failures: number): Promise<void> {
    await this.db.pool.query(
      `UPDATE connections
          SET refresh_failures = GREATEST(refresh_failures, $4 + 1),
              refresh_not_before = now() + make_interval(secs => LEAST($2, $3 * power(2, $4)) * (0.5 + random()))
        WHERE id = $1`,
      [id, BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS, failures],
    )
  }
}
