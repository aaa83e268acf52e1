// What the fresh-token service (fresh-tokens.ts) is given and answers: its options and
// timings, the token it hands out, and the problems a refresh ends with.
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { problem, type ProblemError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { ProviderNetwork } from '../oauth/network.js'
import type { Provider } from '../providers/schema.js'
import type { ChangeFeed } from '../store/changes.js'
import type { Database } from '../store/db.js'
import type { ConnectionCache } from './connection-cache.js'
import type { ConnectionRow, ConnectionStore } from './connection-store.js'
import type { RevocationQueue } from './revocation-queue.js'

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
  /** When the caller asked; a refresh completed since then is its answer. Default: now. */
  requestedAt?: Date
}

export interface FreshTokensOptions {
  db: Database
  store: ConnectionStore
  cache: ConnectionCache
  providers: Map<string, Provider>
  audit: AuditLog
  clock: Clock
  metrics: Metrics
  log: Logger
  network: ProviderNetwork
  /** Wakes replicas waiting on another's refresh lease (a poll covers a missed one). */
  changes?: ChangeFeed
  /** Where tokens issued for a connection deleted meanwhile go to be revoked. */
  revocationQueue?: Pick<RevocationQueue, 'enqueueIssued'>
  /** Production's FRESH_TOKEN_TIMINGS unless a test injects shorter ones. */
  timings?: FreshTokenTimings
  /** FORCE_REFRESH_MIN_INTERVAL_SECONDS; undefined: 0 (every forced refresh reaches the provider). */
  forceRefreshMinIntervalSeconds?: number
}

export interface FreshTokenTimings {
  /**
   * How long a replica waits for another replica's refresh of the same connection, beyond
   * the provider timeout; the lease lasts twice the provider timeout plus this margin.
   */
  lockMarginMs: number
  /** How long the write of rotated tokens is retried while the database is unavailable. */
  persistRetryMs: number
}

/** Production timings; tests inject shorter ones (Deps.timings) instead of sleeping on these. */
export const FRESH_TOKEN_TIMINGS: FreshTokenTimings = { lockMarginMs: 2_000, persistRetryMs: 15_000 }

/**
 * Does a forced refresh still go to the provider? Not when the connection's current tokens
 * were obtained (code exchange or refresh) less than FORCE_REFRESH_MIN_INTERVAL_SECONDS ago:
 * those are handed out as they are, so a caller cannot spend the broker's client at the
 * provider, or rotate the grant, on every call.
 */
export function forceStands(
  row: Pick<ConnectionRow, 'tokenObtainedAt'>,
  force: boolean,
  deps: Pick<FreshTokensOptions, 'clock' | 'forceRefreshMinIntervalSeconds'>,
): boolean {
  if (!force || !row.tokenObtainedAt) return force
  const age = deps.clock.now().getTime() - row.tokenObtainedAt.getTime()
  return age >= (deps.forceRefreshMinIntervalSeconds ?? 0) * 1000
}

/** The answer for a refresh that failed at the provider without refusing the grant. */
export function failureProblem(failure: 'configuration' | 'transient', code: string): ProblemError {
  if (failure === 'configuration')
    return problem(
      'provider_rejected',
      `the provider refused the broker's request (${code}); the provider configuration needs attention`,
    )
  return problem(
    'provider_unavailable',
    `the provider could not refresh the token (${code}); stored tokens are unchanged`,
  )
}

export function reauthorizationRequired(row: Pick<ConnectionRow, 'id' | 'lastErrorCode'>): ProblemError {
  return problem(
    'reauthorization_required',
    "the provider no longer accepts this connection's grant; send its user through a connect session with connectionId",
    {
      connectionId: row.id,
      reason: row.lastErrorCode ?? undefined,
    },
  )
}

/** A live row that is not `active`: it waits for its service's confirmation, or needs its user again. */
export function notVendable(row: Pick<ConnectionRow, 'id' | 'status' | 'lastErrorCode'>): ProblemError {
  return row.status === 'pending_confirmation' ? problem('confirmation_pending') : reauthorizationRequired(row)
}
