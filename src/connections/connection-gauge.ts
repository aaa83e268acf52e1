// broker_connections{provider,status}: how many connections each provider has in each
// state (reauthorization_required is the health signal ops watch). Counted at scrape time,
// at most once a minute per replica (one GROUP BY over the connections table, bounded by
// a statement timeout), so a scrape every few seconds costs no more than one count a minute.
import { Gauge, type Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import type { Database } from '../store/db.js'

/** How long one count is reused. */
export const CONNECTION_COUNT_MAX_AGE_MS = 60_000
/** A count slower than this is abandoned: the last values stay. */
const COUNT_TIMEOUT_MS = 2_000

interface CountRow {
  provider: string
  status: string
  n: number
}

export function registerConnectionGauge(registry: Registry, db: Database, clock: Clock): Gauge<'provider' | 'status'> {
  let countedAt = Number.NEGATIVE_INFINITY
  let rows: CountRow[] = []
  async function count(): Promise<void> {
    const client = await db.pool.connect()
    try {
      await client.query('BEGIN READ ONLY')
      await client.query(`SET LOCAL statement_timeout = ${COUNT_TIMEOUT_MS}`)
      // Revoked rows are kept as tombstones and only grow: not a state to watch.
      const result = await client.query<CountRow>(
        `SELECT provider, status, count(*)::int AS n FROM connections
         WHERE status <> 'revoked' GROUP BY provider, status`,
      )
      await client.query('COMMIT')
      rows = result.rows
    } catch {
      await client.query('ROLLBACK').catch(() => undefined)
    } finally {
      client.release()
    }
  }
  return new Gauge({
    name: 'broker_connections',
    help: 'Connections by provider and status (active, reauthorization_required), counted at most once a minute',
    labelNames: ['provider', 'status'] as const,
    registers: [registry],
    async collect() {
      const now = clock.now().getTime()
      if (now - countedAt >= CONNECTION_COUNT_MAX_AGE_MS) {
        countedAt = now
        // A database that is down keeps the last count rather than failing the scrape.
        await count().catch(() => undefined)
      }
      this.reset()
      for (const row of rows) this.set({ provider: row.provider, status: row.status }, row.n)
    },
  })
}
