// Cross-replica cache invalidation through PostgreSQL LISTEN/NOTIFY. Whoever changes a
// cached row calls `notifyChange` (inside its transaction when it has one: PostgreSQL
// delivers the notification only on commit). Every replica's ChangeFeed tells its
// subscribers; after a lost listening connection it reports `{ topic: '*' }` so caches
// drop everything they hold.
import pg from 'pg'
import type { Logger } from 'pino'
import { KEEPALIVE } from './db.js'

export const CHANGES_CHANNEL = 'oauth_broker_changes'

export type Topic = 'connection' | 'service_client' | 'signing_key' | 'webhook' | '*'
export interface Change {
  topic: Topic
  id?: string
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>
}
interface RawExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>
}

export async function notifyChange(db: Queryable | RawExecutor, change: Change): Promise<void> {
  const payload = JSON.stringify(change)
  if ('$executeRawUnsafe' in db) await db.$executeRawUnsafe('SELECT pg_notify($1, $2)', CHANGES_CHANNEL, payload)
  else await db.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload])
}

export class ChangeFeed {
  private client: pg.Client | undefined
  private listeners = new Set<(change: Change) => void>()
  private closed = false
  private retryTimer: NodeJS.Timeout | undefined
  private retryDelay = 250
  /** False while the listening connection is down: caches must not trust themselves then. */
  connected = false

  /**
   * `ping`: how often the listening connection is asked `SELECT 1`, and how long it may take
   * to answer before the connection is dropped and opened again. A LISTEN connection only
   * receives, so without it a silent partition (no FIN, no RST; keepalive answered by a
   * middlebox) would leave the feed deaf while it reports itself connected.
   */
  constructor(
    private url: string,
    private log: Logger,
    private ping = { intervalMs: 30_000, timeoutMs: 10_000 },
  ) {}

  subscribe(fn: (change: Change) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  async start(): Promise<void> {
    await this.connect()
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'oauth-broker-listen', ...KEEPALIVE })
    client.on('error', () => this.lost(client))
    client.on('end', () => this.lost(client))
    client.on('notification', (msg) => {
      if (msg.channel !== CHANGES_CHANNEL || !msg.payload) return
      try {
        this.emit(JSON.parse(msg.payload) as Change)
      } catch {
        this.log.warn('ignored a malformed change notification')
      }
    })
    await client.connect()
    await client.query(`LISTEN ${CHANGES_CHANNEL}`)
    this.client = client
    this.keepPinging(client)
    const wasDown = !this.connected
    this.connected = true
    this.retryDelay = 250
    // Anything may have changed while nobody listened.
    if (wasDown) this.emit({ topic: '*' })
  }

  private keepPinging(client: pg.Client): void {
    const timer = setInterval(() => {
      if (this.client !== client) return clearInterval(timer)
      const silent = setTimeout(() => {
        this.log.warn('change feed connection stopped answering; reconnecting')
        ;(client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()
      }, this.ping.timeoutMs)
      client.query('SELECT 1').then(
        () => clearTimeout(silent),
        () => clearTimeout(silent),
      )
    }, this.ping.intervalMs)
    timer.unref()
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return
    this.client = undefined
    this.connected = false
    this.emit({ topic: '*' })
    if (this.closed) return
    this.log.warn('change feed connection lost; reconnecting')
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.connect().catch(() => {
        this.retryDelay = Math.min(this.retryDelay * 2, 5_000)
        this.scheduleReconnect()
      })
    }, this.retryDelay)
    this.retryTimer.unref()
  }

  private emit(change: Change): void {
    for (const fn of this.listeners) {
      try {
        fn(change)
      } catch (err) {
        this.log.error({ err }, 'change listener failed')
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    const client = this.client
    this.client = undefined
    this.connected = false
    await client?.end().catch(() => undefined)
  }
}
