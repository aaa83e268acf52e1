// Tables that only grow (audit events, used client-assertion jtis, expired connect
// sessions and their attempts, and whatever other parts register) are purged now and then
// in bounded batches: each batch is one short DELETE of at most `batchSize` rows, so no
// purge holds locks or a long transaction. Any replica may run it: rows another replica is
// deleting at the same moment are skipped (SKIP LOCKED), not waited on.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Database } from './db.js'

export interface PurgeRule {
  /** The table; its rows are deleted by ctid, so any key shape works. */
  table: string
  /** The column compared with the cutoff (rows with a smaller value go); index it. */
  column: string
  /** The oldest value kept, or undefined to keep everything (retention off). */
  cutoff(now: Date): Date | undefined
  /** A table whose purge keeps more than the cutoff says (webhook events): its own bounded delete. */
  purge?(cutoff: Date): Promise<number>
}

export interface RetentionOptions {
  batchSize?: number
  /** Batches per table per pass: a huge backlog drains over several passes. */
  maxBatches?: number
}

export class Retention {
  private rules: PurgeRule[] = []
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private batchSize: number
  private maxBatches: number

  constructor(
    private db: Database,
    private clock: Clock,
    private log: Logger,
    options: RetentionOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000
    this.maxBatches = options.maxBatches ?? 100
  }

  /** Another ever-growing table (e.g. webhook deliveries) joins the purge. */
  add(rule: PurgeRule): void {
    this.rules.push(rule)
  }

  /** One pass over every table; returns the rows deleted per table. */
  async purge(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {}
    const now = this.clock.now()
    for (const rule of this.rules) {
      const cutoff = rule.cutoff(now)
      if (!cutoff) continue
      const count = rule.purge ? await rule.purge(cutoff) : await this.purgeTable(rule, cutoff)
      deleted[rule.table] = (deleted[rule.table] ?? 0) + count
    }
    return deleted
  }

  private async purgeTable(rule: PurgeRule, cutoff: Date): Promise<number> {
    let total = 0
    for (let batch = 0; batch < this.maxBatches; batch++) {
      const { rowCount } = await this.db.pool.query(
        `DELETE FROM ${rule.table} WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${rule.table} WHERE ${rule.column} < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))`,
        [cutoff, this.batchSize],
      )
      total += rowCount ?? 0
      if ((rowCount ?? 0) < this.batchSize) break
    }
    return total
  }

  /** Purges every `intervalMs` (unref'd timer); a pass still running is not started twice. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.running ??= this.purge()
        .then((deleted) => {
          if (Object.values(deleted).some((n) => n > 0)) this.log.info({ deleted }, 'expired records purged')
        })
        .catch((err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, 'purge failed'))
        .finally(() => (this.running = undefined))
    }, intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000

/** The broker's own rules: audit events by AUDIT_RETENTION_DAYS (0: kept), the rest once expired or given up. */
export function brokerPurgeRules(auditRetentionDays: number): PurgeRule[] {
  return [
    {
      table: 'audit_events',
      column: 'occurred_at',
      cutoff: (now) => (auditRetentionDays > 0 ? new Date(now.getTime() - auditRetentionDays * DAY_MS) : undefined),
    },
    // A jti need only be remembered until its assertion expires (RFC 7523 §3).
    { table: 'client_assertion_jtis', column: 'expires_at', cutoff: (now) => now },
    // A day past expiry, so a late callback still finds its session and says "expired";
    // the attempts go with their session (ON DELETE CASCADE).
    { table: 'connect_sessions', column: 'expires_at', cutoff: (now) => new Date(now.getTime() - DAY_MS) },
    // Revocations given up on (24 h): the worker drops one at its last retry, at most an hour
    // (its longest backoff) past give_up_at; this catches any it never got back to.
    { table: 'revocation_queue', column: 'give_up_at', cutoff: (now) => new Date(now.getTime() - HOUR_MS) },
  ]
}

/**
 * Webhook events older than WEBHOOK_RETENTION_DAYS (0: kept), their deliveries and attempts
 * with them, except each connection's newest event (its sequence goes on from it).
 */
export function webhookPurgeRule(
  deliveries: { purgeBefore(cutoff: Date): Promise<number> },
  retentionDays: number,
): PurgeRule {
  return {
    table: 'webhook_events',
    column: 'created_at',
    cutoff: (now) => (retentionDays > 0 ? new Date(now.getTime() - retentionDays * DAY_MS) : undefined),
    purge: (cutoff) => deliveries.purgeBefore(cutoff),
  }
}
