// Audit events: who connected, revoked, refreshed, which service client received which
// token. Events tied to a database change are written in that change's transaction
// (`write(event, tx)`); high-volume events (tokens handed out) are buffered and written
// in batches every 200 ms, so the hot path never waits on an INSERT. A crash can lose
// at most one batch interval of buffered events; a database outage keeps up to
// MAX_BUFFER events in memory and retries.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Database, Tx } from '../store/db.js'
import type { Metrics } from '../metrics.js'

export const AUDIT_EVENT_TYPES = [
  'service_client.created',
  'service_client.updated',
  'service_client.deleted',
  'service_client.secret_rotated',
  'service_client.keys_changed',
  'signing_key.created',
  'signing_key.rotated',
  'broker_token.issued',
  'encryption.reencrypted',
  'connection.created',
  'connection.reauthorized',
  'connection.revoked',
  'connection.token_vended',
  'connection.refresh_succeeded',
  'connection.refresh_failed',
  'connection.confirmed',
  'connection.confirmation_discarded',
  'webhook_endpoint.created',
  'webhook_endpoint.updated',
  'webhook_endpoint.deleted',
  'webhook_endpoint.secret_rotated',
] as const
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number]

export interface AuditEventInput {
  type: AuditEventType
  /** Service client id, `cli`, `bootstrap` or `system`. */
  actor: string
  connectionId?: string
  /** The connection's namespace, for events about one: admins see only their namespaces' events. */
  namespace?: string
  /** Never a secret. */
  detail?: Record<string, unknown>
}

export interface AuditEvent {
  id: string
  occurredAt: string
  type: string
  actor: string
  connectionId: string | null
  namespace: string | null
  detail: Record<string, unknown>
}

const FLUSH_INTERVAL_MS = 200
const MAX_BATCH = 1000
const MAX_BUFFER = 50_000

export class AuditLog {
  private buffer: Array<AuditEventInput & { occurredAt: Date }> = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined

  constructor(
    private db: Database,
    private clock: Clock,
    private log: Logger,
    private metrics: Metrics,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), FLUSH_INTERVAL_MS)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }

  /** Buffered: returns at once; the event is written within FLUSH_INTERVAL_MS. */
  record(event: AuditEventInput): void {
    if (this.buffer.length >= MAX_BUFFER) {
      this.buffer.shift()
      this.metrics.auditEventsDropped.inc()
    }
    this.buffer.push({ ...event, occurredAt: this.clock.now() })
    this.metrics.auditBuffer.set(this.buffer.length)
  }

  /** Written now, inside `tx` when given, so the event commits with the change it records. */
  async write(event: AuditEventInput, tx?: Tx): Promise<void> {
    await (tx ?? this.db.prisma).auditEvent.create({
      data: {
        occurredAt: this.clock.now(),
        type: event.type,
        actor: event.actor,
        connectionId: event.connectionId ?? null,
        namespace: event.namespace ?? null,
        detail: (event.detail ?? {}) as object,
      },
    })
  }

  flush(): Promise<void> {
    this.flushing ??= this.flushBuffer().finally(() => (this.flushing = undefined))
    return this.flushing
  }

  private async flushBuffer(): Promise<void> {
    while (this.buffer.length) {
      const batch = this.buffer.slice(0, MAX_BATCH)
      try {
        await this.db.pool.query(
          `INSERT INTO audit_events (occurred_at, type, actor, connection_id, namespace, detail)
           SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
          [
            batch.map((e) => e.occurredAt),
            batch.map((e) => e.type),
            batch.map((e) => e.actor),
            batch.map((e) => e.connectionId ?? null),
            batch.map((e) => e.namespace ?? null),
            batch.map((e) => JSON.stringify(e.detail ?? {})),
          ],
        )
      } catch (err) {
        this.log.warn(
          { err: { message: (err as Error).message }, pending: this.buffer.length },
          'audit events not written yet; will retry',
        )
        return
      }
      this.buffer.splice(0, batch.length)
      this.metrics.auditBuffer.set(this.buffer.length)
    }
  }

  /**
   * Newest first. `namespaces` (undefined: all) bounds the events about connections the
   * caller sees; with it, `actors` bounds the events about no connection (service clients,
   * keys) to those these clients caused. `namespace` keeps only the events of that namespace.
   */
  async list(query: {
    connectionId?: string
    type?: string
    namespaces: string[] | undefined
    actors?: string[]
    namespace?: string
    cursor?: string
    limit: number
  }): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    await this.flush()
    const rows = await this.db.prisma.auditEvent.findMany({
      where: {
        ...(query.namespace !== undefined ? { namespace: query.namespace } : {}),
        ...(query.namespaces !== undefined
          ? {
              OR: [
                { namespace: null, ...(query.actors ? { actor: { in: query.actors } } : {}) },
                { namespace: { in: query.namespaces } },
              ],
            }
          : {}),
        ...(query.connectionId !== undefined ? { connectionId: query.connectionId } : {}),
        ...(query.type !== undefined ? { type: query.type } : {}),
        ...(query.cursor !== undefined ? { id: { lt: BigInt(query.cursor) } } : {}),
      },
      orderBy: { id: 'desc' },
      take: query.limit + 1,
    })
    const page = rows.slice(0, query.limit)
    return {
      items: page.map((r) => ({
        id: r.id.toString(),
        occurredAt: r.occurredAt.toISOString(),
        type: r.type,
        actor: r.actor,
        connectionId: r.connectionId,
        namespace: r.namespace,
        detail: r.detail as Record<string, unknown>,
      })),
      nextCursor: rows.length > query.limit ? page[page.length - 1]!.id.toString() : null,
    }
  }
}
