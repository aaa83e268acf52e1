// A fresh database per test file, dropped afterwards (after a dump of its rows for the
// run-wide secrets check, test/support/secrets.ts). A migrated one is a copy of the
// template database global-setup migrated once for the run.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import { dumpBeforeDrop } from './secrets.js'

export function serverUrl(database = 'postgres'): string {
  const url = new URL(inject('postgresUrl'))
  url.pathname = `/${database}`
  return url.href
}

export async function createDatabase(
  options: { migrate?: boolean } = {},
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  try {
    await admin.query(
      options.migrate === false
        ? `CREATE DATABASE ${name}`
        : `CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`,
    )
  } finally {
    await admin.end()
  }
  const url = serverUrl(name)
  return {
    url,
    name,
    async drop() {
      // Dumped first; dropped even when the dump fails (the failure is reported after).
      const dumpError = await dumpBeforeDrop(url, name).then(
        () => undefined,
        (err: unknown) => err,
      )
      const c = new pg.Client({ connectionString: serverUrl() })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
      if (dumpError) throw dumpError
    },
  }
}
