// TCP keepalive on every PostgreSQL connection the broker opens: the request-path pool,
// the change feed's LISTEN connection and the migration session. Asserted on the sockets
// themselves: Linux shows an established socket's keepalive timer in /proc/net/tcp
// (timer kind 2), which a socket without SO_KEEPALIVE never has while idle.
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import type pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChangeFeed } from '../../src/store/changes.js'
import { migrationSession } from '../../src/store/migrate.js'
import { startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker({})
})
afterAll(() => broker?.close())

/** The socket under a pg client (pg keeps it as `connection.stream`). */
const socketOf = (client: pg.Client | pg.PoolClient) =>
  (client as unknown as { connection: { stream: Socket } }).connection.stream

/** The kernel's timer kind for the TCP socket bound to `localPort`: 2 while its keepalive timer runs. */
function timerKind(localPort: number): number | undefined {
  const port = localPort.toString(16).toUpperCase().padStart(4, '0')
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address ends in :PORT; state 01 = ESTABLISHED; fields[5] is "tr:tm->when".
      if (fields[1]?.endsWith(`:${port}`) && fields[3] === '01') return Number.parseInt(fields[5]!.split(':')[0]!, 16)
    }
  }
  return undefined
}

const KEEPALIVE_TIMER = 2

describe('TCP keepalive', () => {
  it('is on for the request-path pool', async () => {
    const client = await broker.db.pool.connect()
    try {
      await client.query('SELECT 1')
      expect(timerKind(socketOf(client).localPort!)).toBe(KEEPALIVE_TIMER)
    } finally {
      client.release()
    }
  })

  it('is on for the change feed (LISTEN) connection', async () => {
    const feed = new ChangeFeed(broker.databaseUrl, pino({ level: 'silent' }))
    await feed.start()
    try {
      const client = (feed as unknown as { client: pg.Client }).client
      expect(timerKind(socketOf(client).localPort!)).toBe(KEEPALIVE_TIMER)
    } finally {
      await feed.close()
    }
  })

  it('is on for the migration session', async () => {
    const client = await migrationSession(broker.db.pool)
    try {
      expect(timerKind(socketOf(client).localPort!)).toBe(KEEPALIVE_TIMER)
    } finally {
      await client.end()
    }
  })

  it('shows: a connection without it has no keepalive timer (the check can fail)', async () => {
    const { Client } = (await import('pg')).default
    const client = new Client({ connectionString: broker.databaseUrl })
    await client.connect()
    try {
      await client.query('SELECT 1')
      expect(timerKind(socketOf(client).localPort!)).toBe(0)
    } finally {
      await client.end()
    }
  })
})
