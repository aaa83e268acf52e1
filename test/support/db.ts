// A fresh database per test file, migrated, dropped afterwards (after a pg_dump for the
// run-wide secrets check, test/support/secrets.ts).
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import pino from 'pino'
import { inject } from 'vitest'
import { migrate } from '../../src/store/migrate.js'
import { dumpBeforeDrop } from './secrets.js'

export function serverUrl(database = 'postgres'): string {
  const url = new URL(inject('postgresUrl'))
  url.pathname = `/${database}`
  return url.href
}

export async function createDatabase(options: { migrate?: boolean } = {}): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = serverUrl(name)
  if (options.migrate !== false) {
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    await migrate(pool, pino({ level: 'silent' }))
    await pool.end()
  }
  return {
    url,
    name,
    async drop() {
      // Dumped first; dropped even when the dump fails (the failure is reported after).
      const dumpError = await dumpBeforeDrop(url, name).then(() => undefined, (err: unknown) => err)
      const c = new pg.Client({ connectionString: serverUrl() })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
      if (dumpError) throw dumpError
    },
  }
}
