// The configuration's operational limits: provider bulkheads, forceRefresh coalescing,
// database session limits, retention and webhook delivery (docs/configuration.md).
import type { EnvReader } from './env-reader.js'

export interface OperationalLimits {
  /** Calls to one provider at a time per replica (request path and proactive refresher together). */
  providerConcurrency: number
  /** A forceRefresh this soon after the current tokens were obtained returns them as they are. */
  forceRefreshMinIntervalSeconds: number
  /** Session limits of the broker's database connections (not migrations'); 0 turns one off. */
  databaseTimeouts: { statementTimeoutMs: number; idleInTransactionTimeoutMs: number }
  /** Days audit events are kept; 0 keeps them forever. */
  auditRetentionDays: number
  /** Days webhook events (with their deliveries and attempts) are kept; 0 keeps them forever. */
  webhookRetentionDays: number
  /** Webhook deliveries: the delays between attempts (seconds) and the timeout of one attempt. */
  webhooks: { retryScheduleSeconds: number[]; timeoutMs: number }
}

/** The bulkheads and the forceRefresh coalescing that keep one provider or caller from taking the broker down. */
export function readProviderLimits(
  p: EnvReader,
): Pick<OperationalLimits, 'providerConcurrency' | 'forceRefreshMinIntervalSeconds'> {
  return {
    providerConcurrency: p.integer('PROVIDER_CONCURRENCY', 8, 1, 1_000),
    forceRefreshMinIntervalSeconds: p.integer('FORCE_REFRESH_MIN_INTERVAL_SECONDS', 10, 0, 3_600),
  }
}

/** Database session limits and retention (docs/operations.md). */
export function readLimits(
  p: EnvReader,
): Pick<OperationalLimits, 'databaseTimeouts' | 'auditRetentionDays' | 'webhookRetentionDays'> {
  return {
    databaseTimeouts: {
      statementTimeoutMs: p.integer('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0, 3_600_000),
      idleInTransactionTimeoutMs: p.integer('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 60_000, 0, 3_600_000),
    },
    auditRetentionDays: p.integer('AUDIT_RETENTION_DAYS', 90, 0, 36_500),
    webhookRetentionDays: p.integer('WEBHOOK_RETENTION_DAYS', 30, 0, 36_500),
  }
}

export function readWebhooks(p: EnvReader, problems: string[]): OperationalLimits['webhooks'] {
  const retryScheduleSeconds = readRetrySchedule(p.string('WEBHOOK_RETRY_SCHEDULE_SECONDS'), problems)
  return { retryScheduleSeconds, timeoutMs: p.integer('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000) }
}

/** WEBHOOK_RETRY_SCHEDULE_SECONDS: delays between attempts, in seconds (fractions allowed). */
function readRetrySchedule(raw: string | undefined, problems: string[]): number[] {
  const text = raw ?? '5,300,1800,7200,18000,36000,36000'
  const delays = text.split(',').map((s) => (s.trim() ? Number(s) : Number.NaN))
  if (delays.length > 20 || delays.some((d) => !Number.isFinite(d) || d < 0 || d > 604_800)) {
    problems.push('WEBHOOK_RETRY_SCHEDULE_SECONDS: 1-20 comma-separated delays in seconds, each 0 to 604800')
    return []
  }
  return delays
}
