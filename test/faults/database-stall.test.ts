// Fault: the database stops answering in the middle of a transaction that holds a row
// lock, silently (a TCP proxy stops forwarding: no FIN, no RST), as in a network
// partition. With DATABASE_STATEMENT_TIMEOUT_MS and DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS
// at 1 s: the server ends the idle transaction and frees the lock within that second;
// the broker's query fails within the statement timeout plus its 5 s margin and the
// pool drops the connection; once the proxy forwards again the next request succeeds.
// (TCP keepalive cannot see this partition: the proxy's kernel answers the probes.) The
// change feed's LISTEN connection, which only receives, notices by its ping and reconnects.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { BOOTSTRAP_ID, startBroker, type TestBroker } from '../support/broker.js'
import { createDatabase } from '../support/db.js'
import { ChangeFeed } from '../../src/store/changes.js'
import pino from 'pino'
import { printFigures, sql, waitFor } from '../support/faults.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

let database: Awaited<ReturnType<typeof createDatabase>>
let proxy: TcpProxy
let broker: TestBroker
const figures: Record<string, number> = {}

beforeAll(async () => {
  database = await createDatabase()
  const { hostname, port } = new URL(database.url)
  proxy = await startTcpProxy({ host: hostname, port: Number(port) })
  broker = await startBroker({
    databaseUrl: proxy.url(database.url),
    env: {
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1000',
      DATABASE_POOL_SIZE: '3',
    },
  })
})
afterAll(async () => {
  printFigures('database stalls mid-transaction', figures)
  await proxy?.close()
  await broker?.close().catch(() => undefined)
  await database?.drop()
})

/** Can another session take the row lock at once (NOWAIT)? Asked directly, not through the proxy. */
async function lockFree(): Promise<boolean> {
  const direct = new pg.Client({ connectionString: database.url })
  await direct.connect()
  try {
    await direct.query('BEGIN')
    await direct.query('SELECT 1 FROM service_clients WHERE id = $1 FOR UPDATE NOWAIT', [BOOTSTRAP_ID])
    return true
  } catch {
    return false
  } finally {
    await direct.end()
  }
}

describe('a database that stops answering mid-transaction', () => {
  it('frees the lock on the server, fails the query on the broker, and the next request succeeds', async () => {
    const client = await broker.db.pool.connect()
    client.on('error', () => undefined)
    let released = false
    onTestFinished(() => {
      if (!released) client.release(true)
    })
    await client.query('BEGIN')
    await client.query('SELECT 1 FROM service_clients WHERE id = $1 FOR UPDATE', [BOOTSTRAP_ID])
    expect(await lockFree()).toBe(false)

    proxy.stall()
    const stalledAt = Date.now()
    const failed = client.query('SELECT 1').then(
      () => undefined,
      (err: Error) => err,
    )
    await waitFor(lockFree, 5_000, 'the row lock to be freed by idle_in_transaction_session_timeout', 100)
    figures.lockFreedAfterMs = Date.now() - stalledAt
    expect(figures.lockFreedAfterMs).toBeLessThan(5_000)
    const sessions = await sql(
      database.url,
      'SELECT count(*)::int AS n FROM pg_stat_activity ' +
        "WHERE application_name = 'oauth-broker' AND state LIKE 'idle in transaction%'",
    )
    expect(sessions[0]!.n).toBe(0)

    const err = await failed
    figures.queryFailedAfterMs = Date.now() - stalledAt
    expect(err?.message).toBe('Query read timeout')
    expect((err as Error & { code?: string }).code).toBe('08006')
    expect(figures.queryFailedAfterMs).toBeLessThan(1_000 + 5_000 + 2_000)
    client.release(err)
    released = true

    proxy.up()
    const recovered = await waitFor(
      async () => {
        try {
          await broker.token()
          return true
        } catch {
          return false
        }
      },
      10_000,
      'a broker token once the proxy forwards again',
      200,
    )
    expect(recovered).toBe(true)
    figures.recoveredAfterMs = Date.now() - stalledAt
  }, 30_000)

  it('the change feed notices its silent connection by its ping and reconnects once the proxy forwards', async () => {
    const feed = new ChangeFeed(proxy.url(database.url), pino({ level: 'silent' }), { intervalMs: 300, timeoutMs: 700 })
    onTestFinished(() => feed.close())
    await feed.start()
    expect(feed.connected).toBe(true)
    proxy.stall()
    const stalledAt = Date.now()
    await waitFor(() => !feed.connected, 5_000, 'the feed to notice the silence', 50)
    figures.feedNoticedAfterMs = Date.now() - stalledAt
    proxy.up()
    await waitFor(() => feed.connected, 10_000, 'the feed to reconnect', 50)
    figures.feedBackAfterMs = Date.now() - stalledAt
  }, 30_000)
})
