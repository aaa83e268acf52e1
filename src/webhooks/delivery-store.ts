// The rows of deliveries and their attempts (webhook_deliveries, webhook_attempts; the
// outbox writer in lifecycle-events.ts creates deliveries). A claim is one short statement:
// it takes due deliveries with FOR UPDATE SKIP LOCKED (replicas never take the same one)
// and moves their next attempt ahead as a lease, so nothing is held while sending and a
// replica that dies mid-send only delays the delivery until the lease runs out.
import { notifyChange } from '../store/changes.js'
import type { Database } from '../store/db.js'

export interface ClaimedDelivery {
  id: string
  /** This attempt's number, from 1. */
  attempt: number
  eventId: string
  body: string
  endpointId: string
  url: string
  secret: string
  previousSecret: string | null
  /** Does the client still hold the event's namespace? */
  held: boolean
  /** The client's allowed webhook URLs now (an admin may have narrowed them since). */
  allowedUrls: string[]
}

const CLAIM_SQL = `
  WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled
    ORDER BY d.next_attempt_at LIMIT $1
    FOR UPDATE OF d SKIP LOCKED)
  UPDATE webhook_deliveries d
  SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2), updated_at = now()
  FROM due, webhook_events ev, webhook_endpoints e, service_clients c
  WHERE d.id = due.id AND ev.id = d.event_id AND e.id = d.endpoint_id AND c.id = e.client_id
  RETURNING d.id::text AS id, d.attempts AS attempt, ev.id AS "eventId", ev.body, e.id AS "endpointId", e.url,
    e.secret, CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS "previousSecret",
    (c.namespaces = ARRAY['*'] OR ev.namespace = ANY(c.namespaces)) AS held, c.allowed_webhook_urls AS "allowedUrls"`

/** One attempt's record and the delivery's next state, in one statement. */
const RECORD_SQL = `
  WITH attempt AS (
    INSERT INTO webhook_attempts (delivery_id, attempt, response_status, error, duration_ms)
    VALUES ($1::bigint, $2, $3, $4, $5))
  UPDATE webhook_deliveries
  SET status = $6, next_attempt_at = now() + make_interval(secs => $7), updated_at = now()
  WHERE id = $1::bigint`

export type Outcome = { status: 'delivered' | 'failed' } | { status: 'pending'; retryInSeconds: number }

export interface AttemptResult {
  responseStatus?: number
  error?: string
  durationMs: number
}

export interface AttemptView {
  eventId: string
  type: string
  attempt: number
  responseStatus: number | null
  error: string | null
  attemptedAt: string
}

export class DeliveryStore {
  constructor(private db: Database) {}

  async claim(limit: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
    return (await this.db.pool.query<ClaimedDelivery>(CLAIM_SQL, [limit, leaseSeconds])).rows
  }

  async record(delivery: ClaimedDelivery, result: AttemptResult, outcome: Outcome): Promise<void> {
    const retryIn = outcome.status === 'pending' ? outcome.retryInSeconds : 0
    await this.db.pool.query(RECORD_SQL, [
      delivery.id,
      delivery.attempt,
      result.responseStatus ?? null,
      result.error ?? null,
      Math.round(result.durationMs),
      outcome.status,
      retryIn,
    ])
  }

  /** A success ends the endpoint's failing streak. */
  async endpointSucceeded(endpointId: string): Promise<void> {
    await this.db.pool.query(
      'UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL',
      [endpointId],
    )
  }

  /** A failed attempt: true when it disabled the endpoint (failing for `disableAfterSeconds`). */
  async endpointFailed(endpointId: string, disableAfterSeconds: number): Promise<boolean> {
    const { rows } = await this.db.pool.query<{ enabled: boolean }>(
      `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()),
         enabled = enabled AND coalesce(failing_since, now()) > now() - make_interval(secs => $2)
       WHERE id = $1 AND enabled RETURNING enabled`,
      [endpointId, disableAfterSeconds],
    )
    return rows[0]?.enabled === false
  }

  /** The age in seconds of the oldest delivery that is due and not being sent (0: none). */
  async oldestDueAgeSeconds(): Promise<number> {
    const { rows } = await this.db.pool.query<{ age: number | null }>(
      `SELECT extract(epoch FROM now() - min(d.next_attempt_at))::float8 AS age
       FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled`,
    )
    return Math.max(0, rows[0]?.age ?? 0)
  }

  /** The recent attempts to one endpoint, newest first: coarse outcomes only, never a body. */
  async attempts(endpointId: string, limit: number): Promise<AttemptView[]> {
    const { rows } = await this.db.pool.query<AttemptView & { attemptedAt: Date }>(
      `SELECT ev.id AS "eventId", ev.type, a.attempt, a.response_status AS "responseStatus", a.error,
         a.attempted_at AS "attemptedAt"
       FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
       JOIN webhook_events ev ON ev.id = d.event_id
       WHERE d.endpoint_id = $1 ORDER BY a.id DESC LIMIT $2`,
      [endpointId, limit],
    )
    return rows.map((r) => ({ ...r, attemptedAt: new Date(r.attemptedAt).toISOString() }))
  }

  /** Failed deliveries, newest first (the ops command line). */
  async failed(limit: number): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.db.pool.query(
      `SELECT ev.id AS "eventId", ev.type, ev.connection_id AS "connectionId", d.endpoint_id AS "endpointId",
         e.url, d.attempts, d.updated_at AS "failedAt"
       FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
       JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE d.status = 'failed' ORDER BY d.updated_at DESC LIMIT $1`,
      [limit],
    )
    return rows
  }

  /**
   * Forgets events older than `days` with their deliveries and attempts, except each
   * connection's newest event (its sequence is where the next one counts on from) and
   * events still pending for an enabled endpoint. A disabled endpoint keeps nothing that
   * old: else an endpoint left disabled would keep its last events forever.
   */
  purge(days = 30): Promise<number> {
    return this.purgeBefore(new Date(Date.now() - days * 86_400_000))
  }

  /** As purge(), for events created before `cutoff` (WEBHOOK_RETENTION_DAYS, store/retention.ts). */
  async purgeBefore(cutoff: Date): Promise<number> {
    const { rowCount } = await this.db.pool.query(
      `DELETE FROM webhook_events e WHERE e.created_at < $1
         AND EXISTS (SELECT 1 FROM webhook_events n WHERE n.connection_id = e.connection_id AND n.sequence > e.sequence)
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
           WHERE d.event_id = e.id AND d.status = 'pending' AND w.enabled)`,
      [cutoff],
    )
    return rowCount ?? 0
  }

  /** Sends an event again to its endpoints (all, or one): same webhook-id, attempts from 1. */
  async redeliver(eventId: string, endpointId?: string): Promise<number> {
    const { rowCount } = await this.db.pool.query(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
       WHERE event_id = $1 AND ($2::text IS NULL OR endpoint_id = $2)`,
      [eventId, endpointId ?? null],
    )
    await notifyChange(this.db.pool, { topic: 'webhook', id: eventId })
    return rowCount ?? 0
  }
}
