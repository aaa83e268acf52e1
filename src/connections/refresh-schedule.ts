// When the proactive refresher takes a connection: the due rule (CLAIM_SQL) and the back-off
// after a failure. The statements run in the connection store, the owner of the table.
export interface RefresherOptions {
  windowSeconds: number
  intervalSeconds: number
  concurrencyPerProvider: number
  batchSize: number
  /** How long a claim keeps other replicas away: longer than any refresh can take. */
  leaseSeconds: number
}

/** Refresh tokens are renewed this long before they expire (or the access-token window, if longer). */
export const REFRESH_TOKEN_WINDOW_SECONDS = 86_400
export const BACKOFF_BASE_SECONDS = 30
export const BACKOFF_MAX_SECONDS = 3_600

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
 * A row whose refresh lease is live (refresh-lease.ts) is being refreshed: not claimed.
 * Each arm bounds one indexed column (status + expires_at, status + refresh_token_expires_at),
 * so the claim reads only the rows near expiry; test/connections/proactive-refresh.test.ts
 * checks the plan with EXPLAIN.
 */
export const CLAIM_SQL = `
  WITH due AS (
    SELECT id,
           NOT (expires_at IS NOT NULL AND expires_at < now() + make_interval(secs => $1)
                AND expires_at - now() < (expires_at - COALESCE(token_obtained_at,
                                                                expires_at - make_interval(secs => 2 * $1))) / 2)
           AS force
      FROM connections
     WHERE status = 'active'
       AND refresh_token IS NOT NULL
       AND (refresh_not_before IS NULL OR refresh_not_before <= now())
       AND (refresh_lease_until IS NULL OR refresh_lease_until <= now())
       AND ((expires_at < now() + make_interval(secs => $1)
             AND expires_at - now() < (expires_at - COALESCE(token_obtained_at,
                                                             expires_at - make_interval(secs => 2 * $1))) / 2)
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
  return [
    options.windowSeconds,
    Math.max(options.windowSeconds, REFRESH_TOKEN_WINDOW_SECONDS),
    options.batchSize,
    options.leaseSeconds,
  ]
}

/** A claimed row: `failures` is its count of consecutive refresh failures when claimed. */
export interface DueConnection {
  id: string
  provider: string
  force: boolean
  failures: number
}

/**
 * Backs a row off after a failure not counted by the refresh itself ($1 id, $2 most seconds,
 * $3 base seconds, $4 failures when claimed): exponential, with jitter.
 */
export const BACKOFF_SQL = `
  UPDATE connections
     SET refresh_failures = GREATEST(refresh_failures, $4 + 1),
         refresh_not_before = now() + make_interval(secs => LEAST($2, $3 * power(2, $4)) * (0.5 + random()))
   WHERE id = $1`
