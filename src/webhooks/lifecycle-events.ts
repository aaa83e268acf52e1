// The outbox of lifecycle events. connections/connection-store.ts calls recordLifecycleEvent
// inside the transaction of each change it reports, so an event exists exactly when its
// change committed: none for a rollback, none lost when the process dies after the commit.
// The same statement fans the event out to the endpoints that want it (a delivery each);
// the change notification wakes the delivery workers of every replica.
import { randomBytes } from 'node:crypto'
import { notifyChange } from '../store/changes.js'
import type { Tx } from '../store/db.js'

export const EVENT_TYPES = [
  'connection.created',
  'connection.reauthorized',
  'connection.reauthorization_required',
  'connection.deleted',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** What an event tells about a connection: never a token, secret or credential. */
export interface LifecycleConnection {
  id: string
  provider: string
  ownerId: string
  namespace: string
  status: string
}

/** The status an event implies, whatever the row read before the change says. */
const STATUS_AFTER: Partial<Record<EventType, string>> = {
  'connection.reauthorization_required': 'reauthorization_required',
  'connection.deleted': 'deleted',
}

/** The webhook-id of an event (Standard Webhooks suggests the msg_ prefix). */
export function newEventId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`
}

/**
 * Endpoints that take an event: enabled, subscribed to its type, and holding its
 * namespace both themselves and through their client's current namespaces.
 */
const FAN_OUT_SQL = `
  INSERT INTO webhook_deliveries (event_id, endpoint_id)
  SELECT $1, e.id FROM webhook_endpoints e JOIN service_clients c ON c.id = e.client_id
  WHERE e.enabled
    AND (e.events = ARRAY['*'] OR $2 = ANY(e.events))
    AND (e.namespaces = ARRAY['*'] OR $3 = ANY(e.namespaces))
    AND (c.namespaces = ARRAY['*'] OR $3 = ANY(c.namespaces))`

/**
 * Writes the event and its deliveries in `tx`, the transaction of the change. `sequence`
 * grows per connection: every caller holds the connection's row lock (or created the row).
 */
export async function recordLifecycleEvent(tx: Tx, type: EventType, connection: LifecycleConnection): Promise<void> {
  // connection.created means usable: a connection created in another state (awaiting its
  // confirmation, say) is announced by the step that makes it active, with the same call.
  if (type === 'connection.created' && connection.status !== 'active') return
  // Never announced, so never announced gone: a held grant that is discarded or deleted.
  if (connection.status === 'pending_confirmation') return
  const rows = await tx.$queryRawUnsafe<Array<{ next: number }>>(
    'SELECT coalesce(max(sequence), 0)::int + 1 AS next FROM webhook_events WHERE connection_id = $1',
    connection.id,
  )
  const sequence = rows[0]!.next
  const id = newEventId()
  const status = STATUS_AFTER[type] ?? connection.status
  const data = { connectionId: connection.id, provider: connection.provider, ownerId: connection.ownerId }
  const body = JSON.stringify({
    type,
    timestamp: new Date().toISOString(),
    data: { ...data, namespace: connection.namespace, status, sequence },
  })
  await tx.$executeRawUnsafe(
    'INSERT INTO webhook_events (id, type, connection_id, namespace, sequence, body) VALUES ($1, $2, $3, $4, $5, $6)',
    id,
    type,
    connection.id,
    connection.namespace,
    sequence,
    body,
  )
  const fannedOut = await tx.$executeRawUnsafe(FAN_OUT_SQL, id, type, connection.namespace)
  if (fannedOut > 0) await notifyChange(tx, { topic: 'webhook', id })
}
