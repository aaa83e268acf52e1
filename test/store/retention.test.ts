// The purge of ever-growing tables: audit events older than AUDIT_RETENTION_DAYS, used
// client-assertion jtis past their expiry, connect sessions (and their attempts) a day
// past theirs, revocations given up on more than an hour ago go, in bounded batches;
// recent rows stay; a table another part registers is purged too; AUDIT_RETENTION_DAYS=0
// keeps every audit event. Webhook events older than WEBHOOK_RETENTION_DAYS go too,
// except each connection's newest; 0 keeps them.
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brokerPurgeRules, Retention, webhookPurgeRule } from '../../src/store/retention.js'
import { startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker
const q = (sql: string, values: unknown[] = []) => broker.db.pool.query(sql, values)
const count = async (sql: string, values: unknown[] = []) =>
  Number((await q(`SELECT count(*) AS n FROM ${sql}`, values)).rows[0].n)

beforeAll(async () => {
  broker = await startBroker({ env: { AUDIT_RETENTION_DAYS: '30', WEBHOOK_RETENTION_DAYS: '7' } })
})
afterAll(() => broker?.close())

async function seed(): Promise<void> {
  await q(`INSERT INTO audit_events (occurred_at, type, actor)
           SELECT now() - interval '31 days', 'test.old', 'retention' FROM generate_series(1, 2500)`)
  await q(`INSERT INTO audit_events (occurred_at, type, actor)
           SELECT now() - interval '29 days', 'test.recent', 'retention' FROM generate_series(1, 10)`)
  for (const [id, givenUp] of [
    ['rvk_long_given_up', '2 hours'],
    ['rvk_just_given_up', '10 minutes'],
    ['rvk_live', '-20 hours'],
  ])
    await q(
      `INSERT INTO revocation_queue (id, connection_id, provider, next_attempt_at, give_up_at)
       VALUES ($1, 'c', 'p', now() + interval '1 hour', now() - $2::interval)`,
      [id, givenUp],
    )
  await q(`INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES
           ('c', 'old', now() - interval '1 second'), ('c', 'live', now() + interval '1 minute')`)
  for (const [id, age] of [
    ['old-session', '25 hours'],
    ['recent-session', '23 hours'],
  ]) {
    await q(
      `INSERT INTO connect_sessions (id, token_hash, provider, owner_id, client_id, namespace, expires_at)
       VALUES ($1, $1, 'p', 'o', 'c', 'default', now() - $2::interval)`,
      [id, age],
    )
    await q(`INSERT INTO connect_attempts (state_hash, session_id, browser_hash) VALUES ($1, $1, 'b')`, [id])
  }
}

describe('retention', () => {
  it('purges old rows in batches and keeps recent ones', async () => {
    await seed()
    const deleted = await broker.app.services.retention.purge()
    expect(deleted.audit_events).toBeGreaterThanOrEqual(2500)
    expect(await count("audit_events WHERE type = 'test.old'")).toBe(0)
    expect(await count("audit_events WHERE type = 'test.recent'")).toBe(10)
    expect((await q('SELECT jti FROM client_assertion_jtis')).rows.map((r) => r.jti)).toEqual(['live'])
    // Given up more than an hour ago (past the worker's last retry) goes; the rest stay.
    expect((await q('SELECT id FROM revocation_queue ORDER BY id')).rows.map((r) => r.id)).toEqual([
      'rvk_just_given_up',
      'rvk_live',
    ])
    expect((await q('SELECT id FROM connect_sessions')).rows.map((r) => r.id)).toEqual(['recent-session'])
    expect((await q('SELECT session_id FROM connect_attempts')).rows.map((r) => r.session_id)).toEqual([
      'recent-session',
    ])
  })

  it('stops after maxBatches per pass (the next pass goes on), and purges registered tables', async () => {
    await q(`INSERT INTO audit_events (occurred_at, type, actor)
             SELECT now() - interval '100 days', 'test.backlog', 'retention' FROM generate_series(1, 250)`)
    const retention = new Retention(broker.db, broker.clock, pino({ level: 'silent' }), {
      batchSize: 50,
      maxBatches: 2,
    })
    for (const rule of brokerPurgeRules(30)) retention.add(rule)
    await q('CREATE TABLE webhook_test_deliveries (id serial PRIMARY KEY, created_at timestamptz NOT NULL)')
    await q(`INSERT INTO webhook_test_deliveries (created_at) VALUES (now() - interval '8 days'), (now())`)
    retention.add({
      table: 'webhook_test_deliveries',
      column: 'created_at',
      cutoff: (now) => new Date(now.getTime() - 7 * 86_400_000),
    })
    expect((await retention.purge()).audit_events).toBe(100)
    expect(await count("audit_events WHERE type = 'test.backlog'")).toBe(150)
    expect(await count('webhook_test_deliveries')).toBe(1)
    expect((await retention.purge()).audit_events).toBe(100)
    expect((await retention.purge()).audit_events).toBe(50)
    expect(await count("audit_events WHERE type = 'test.backlog'")).toBe(0)
  })

  it('keeps every audit event with AUDIT_RETENTION_DAYS=0', async () => {
    await q(
      `INSERT INTO audit_events (occurred_at, type, actor) VALUES (now() - interval '10 years', 'test.kept', 'r')`,
    )
    const retention = new Retention(broker.db, broker.clock, pino({ level: 'silent' }))
    for (const rule of brokerPurgeRules(0)) retention.add(rule)
    expect((await retention.purge()).audit_events).toBeUndefined()
    expect(await count("audit_events WHERE type = 'test.kept'")).toBe(1)
  })

  it("purges webhook events past WEBHOOK_RETENTION_DAYS, keeping each connection's newest; 0 keeps them", async () => {
    const event = (id: string, connection: string, sequence: number, age: string) =>
      q(
        `INSERT INTO webhook_events (id, type, connection_id, namespace, sequence, body, created_at)
         VALUES ($1, 'connection.created', $2, 'default', $3, '{}', now() - $4::interval)`,
        [id, connection, sequence, age],
      )
    await event('msg_old1', 'wh-a', 1, '10 days')
    await event('msg_old2', 'wh-a', 2, '8 days')
    await event('msg_recent', 'wh-a', 3, '6 days')
    // The only (so newest) event of its connection stays however old.
    await event('msg_solo', 'wh-b', 1, '10 days')
    const ids = async () => (await q('SELECT id FROM webhook_events ORDER BY id')).rows.map((r) => r.id)

    const off = new Retention(broker.db, broker.clock, pino({ level: 'silent' }))
    off.add(webhookPurgeRule(broker.app.services.deliveries, 0))
    expect((await off.purge()).webhook_events).toBeUndefined()
    expect(await ids()).toEqual(['msg_old1', 'msg_old2', 'msg_recent', 'msg_solo'])

    // The broker's own pass, with WEBHOOK_RETENTION_DAYS=7.
    expect((await broker.app.services.retention.purge()).webhook_events).toBe(2)
    expect(await ids()).toEqual(['msg_recent', 'msg_solo'])
  })
})
