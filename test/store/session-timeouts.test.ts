// The broker's own database sessions carry the statement and idle-in-transaction
// timeouts it was configured with; the migration session carries neither (an index
// build may take minutes); TCP keepalive is on for both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationSession } from '../../src/store/migrate.js'
import { startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker({
    env: { DATABASE_STATEMENT_TIMEOUT_MS: '12345', DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '23456' },
  })
})
afterAll(() => broker?.close())

const show = async (q: (sql: string) => Promise<{ rows: Array<Record<string, string>> }>, name: string) =>
  Object.values((await q(`SHOW ${name}`)).rows[0]!)[0]

describe('database session limits', () => {
  it('hold on the request path: the pool and Prisma through it', async () => {
    const pool = (sql: string) => broker.db.pool.query<Record<string, string>>(sql)
    expect(await show(pool, 'statement_timeout')).toBe('12345ms')
    expect(await show(pool, 'idle_in_transaction_session_timeout')).toBe('23456ms')
    const viaPrisma = await broker.db.prisma.$transaction(async (tx) => ({
      statement: await tx.$queryRawUnsafe<Array<{ statement_timeout: string }>>('SHOW statement_timeout'),
      idle: await tx.$queryRawUnsafe<Array<{ v: string }>>(
        "SELECT current_setting('idle_in_transaction_session_timeout') AS v",
      ),
    }))
    expect(viaPrisma.statement[0]!.statement_timeout).toBe('12345ms')
    expect(viaPrisma.idle[0]!.v).toBe('23456ms')
  })

  it('do not hold on the migration session', async () => {
    const client = await migrationSession(broker.db.pool)
    try {
      const q = (sql: string) => client.query<Record<string, string>>(sql)
      expect(await show(q, 'statement_timeout')).toBe('0')
      expect(await show(q, 'idle_in_transaction_session_timeout')).toBe('0')
      expect(await show(q, 'application_name')).toBe('oauth-broker-migrate')
    } finally {
      await client.end()
    }
  })

  it('default to 30 s and 60 s, and an idle transaction past its limit is ended by the server', async () => {
    const defaults = await startBroker({ databaseUrl: broker.databaseUrl, env: { PUBLIC_URL: broker.url } })
    try {
      const pool = (sql: string) => defaults.db.pool.query<Record<string, string>>(sql)
      expect(await show(pool, 'statement_timeout')).toBe('30s')
      expect(await show(pool, 'idle_in_transaction_session_timeout')).toBe('1min')
    } finally {
      await defaults.close()
    }
    const client = await broker.db.pool.connect()
    client.on('error', () => undefined)
    try {
      await client.query("SET idle_in_transaction_session_timeout = '200ms'")
      await client.query('BEGIN')
      await new Promise((r) => setTimeout(r, 600))
      await expect(client.query('SELECT 1')).rejects.toThrow()
    } finally {
      client.release(true)
    }
  })
})
