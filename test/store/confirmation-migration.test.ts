// The confirmation migration on a database an earlier broker wrote: its service clients
// (the bootstrap one too) keep working as before, requireConfirmation false; clients
// created afterwards get the new default, true.
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate, readMigrations } from '../../src/store/migrate.js'
import { createDatabase } from '../support/db.js'

const CONFIRMATION = '20261206040000_confirmation'
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

describe('confirmation migration', () => {
  it('leaves existing clients without confirmation and gives new ones confirmation', async () => {
    const log = pino({ level: 'silent' })
    await migrate(
      pool,
      log,
      readMigrations().filter((m) => m.name < CONFIRMATION),
    )
    await pool.query(`INSERT INTO service_clients (id, name, secret_hash, scopes, allowed_return_urls) VALUES
      ('bootstrap-admin', 'bootstrap', 'scrypt$x', '{clients:admin}', '{}'),
      ('svc_old', 'billing', 'scrypt$y', '{connect:write}', '{https://app.example.com/}')`)
    expect(await migrate(pool, log)).toContain(CONFIRMATION)
    await pool.query(`INSERT INTO service_clients (id, name, secret_hash, scopes, allowed_return_urls)
      VALUES ('svc_new', 'web', 'scrypt$z', '{connect:write}', '{}')`)
    const rows = (await pool.query('SELECT id, require_confirmation FROM service_clients ORDER BY id')).rows
    expect(rows).toEqual([
      { id: 'bootstrap-admin', require_confirmation: false },
      { id: 'svc_new', require_confirmation: true },
      { id: 'svc_old', require_confirmation: false },
    ])
  })
})
