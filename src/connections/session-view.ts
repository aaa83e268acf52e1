// What GET /v1/connect-sessions/:id shows of a connect session: how it stands, never its
// token or anything of its attempts.
import { ProblemError } from '../errors.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { ConnectSessionRow } from './connect-sessions.js'

export type ConnectSessionStatus = 'pending' | 'completed' | 'pending_confirmation' | 'failed' | 'expired'

export interface ConnectSessionView {
  id: string
  provider: string
  ownerId: string
  namespace: string
  status: ConnectSessionStatus
  /** The connection made (or to re-authorize). */
  connectionId?: string
  /** Why it failed: a connect error code, or why its pending grant was discarded. */
  error?: string
  expiresAt: string
}

/**
 * A session not yet completed is `pending` until it expires; a grant still waiting for its
 * confirmation when the session expires is `expired` too (the sweep discards it).
 */
export function connectSessionView(row: ConnectSessionRow, now: Date): ConnectSessionView {
  const expired = row.expiresAt <= now
  let status: ConnectSessionStatus
  if (row.outcome === 'completed' || row.outcome === 'failed' || row.outcome === 'expired') status = row.outcome
  else if (row.outcome === 'pending_confirmation') status = expired ? 'expired' : 'pending_confirmation'
  else status = expired ? 'expired' : 'pending'
  return {
    id: row.id,
    provider: row.provider,
    ownerId: row.ownerId,
    namespace: row.namespace,
    status,
    ...(row.connectionId ? { connectionId: row.connectionId } : {}),
    ...(row.error ? { error: row.error } : {}),
    expiresAt: row.expiresAt.toISOString(),
  }
}

/** A session of a namespace the caller does not hold: answered as a missing one, logged apart. */
export function hiddenSession(): ProblemError {
  return new ProblemError('connect_session_not_found', undefined, undefined, SECURITY_EVENTS.namespaceHidden)
}
