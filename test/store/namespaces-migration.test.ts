// The namespaces migration on a database a first-release broker wrote: its connections and
// pending connect sessions go to "default", its service clients hold ["default"], the
// bootstrap client ["*"], and audit events about connections name "default".
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate, readMigrations } from '../../src/store/migrate.js'
import { createDatabase } from '../support/db.js'

const NAMESPACES = '20261206010000_namespaces'
let pool: pg.Pool
let drop: () => Promise<void>

beforeAll(async () => {
  const db = await createDatabase({ migrate: false })
  drop = db.drop
  pool = new pg.Pool({ connectionString: db.url, max: 2 })
})
afterAll(async () => {
  await pool?.end()
  await drop?.()
})

describe('namespaces migration', () => {
  it('keeps a first-release deployment working: default namespace, bootstrap client ["*"]', async () => {
    const log = pino({ level: 'silent' })
    const before = readMigrations().filter((m) => m.name < NAMESPACES)
    expect(before.length).toBeLessThan(readMigrations().length)
    await migrate(pool, log, before)
    // What a first-release broker leaves behind: its bootstrap client (created with actor
    // "bootstrap"), a client an admin registered, a connection, a pending session, events.
    await pool.query(`INSERT INTO service_clients (id, name, secret_hash, scopes, allowed_return_urls) VALUES
      ('bootstrap-admin', 'bootstrap', 'scrypt$x', '{clients:admin,tokens:read}', '{}'),
      ('svc_old', 'billing', 'scrypt$y', '{tokens:read}', '{}'),
      ('svc_named_bootstrap', 'bootstrap', 'scrypt$z', '{tokens:read}', '{}')`)
    await pool.query(`INSERT INTO audit_events (type, actor, detail) VALUES
      ('service_client.created', 'bootstrap', '{"clientId":"bootstrap-admin"}'),
      ('service_client.created', 'bootstrap-admin', '{"clientId":"svc_old"}'),
      ('service_client.created', 'bootstrap-admin', '{"clientId":"svc_named_bootstrap"}')`)
    await pool.query(
      `INSERT INTO connections (id, provider, owner_id, status, scopes, created_by)
       VALUES ('conn_old', 'idp', 'u1', 'active', '{}', 'svc_old')`,
    )
    await pool.query(
      `INSERT INTO audit_events (type, actor, connection_id) VALUES ('connection.created', 'svc_old', 'conn_old')`,
    )
    await pool.query(
      `INSERT INTO connect_sessions (id, token_hash, provider, owner_id, client_id, scopes, expires_at)
       VALUES ('cs_old', 'h', 'idp', 'u2', 'svc_old', '{}', now() + interval '10 minutes')`,
    )

    // The namespaces migration is the first one a first-release database has pending.
    expect((await migrate(pool, log))[0]).toBe(NAMESPACES)

    const clients = (await pool.query('SELECT id, namespaces FROM service_clients ORDER BY id')).rows
    expect(clients).toEqual([
      { id: 'bootstrap-admin', namespaces: ['*'] },
      { id: 'svc_named_bootstrap', namespaces: ['default'] },
      { id: 'svc_old', namespaces: ['default'] },
    ])
    expect((await pool.query('SELECT namespace FROM connections')).rows).toEqual([{ namespace: 'default' }])
    expect((await pool.query('SELECT namespace FROM connect_sessions')).rows).toEqual([{ namespace: 'default' }])
    const events = (await pool.query('SELECT type, namespace FROM audit_events ORDER BY id')).rows
    expect(events.map((e: { namespace: string | null }) => e.namespace)).toEqual([null, null, null, 'default'])
    // New rows must name their namespace: the defaults only filled the existing ones.
    await expect(
      pool.query(
        `INSERT INTO connections (id, provider, owner_id, status, scopes, created_by)
         VALUES ('conn_new', 'idp', 'u', 'active', '{}', 'x')`,
      ),
    ).rejects.toThrow(/namespace/)
  })
})
