// Applies prisma/migrations/<timestamp>_<name>/migration.sql in order, each exactly once,
// recorded in `_prisma_migrations` exactly as Prisma Migrate records them (so
// `prisma migrate status` and `prisma migrate deploy` agree). Runs under Prisma
// Migrate's own advisory lock, so replicas starting together, or a concurrent
// `prisma migrate deploy`, apply each migration once.
import { createHash, randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { Logger } from 'pino'
import { BrokerError } from '../errors.js'

/** The advisory lock key Prisma Migrate uses (schema-engine, postgres connector). */
export const MIGRATION_LOCK_KEY = 72707369

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

export interface Migration {
  name: string
  sql: string
  checksum: string
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{14}_[a-z0-9_]+$/.test(d.name))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(`${dir}/${name}/migration.sql`, 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    })
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

interface AppliedRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

export class MigrationError extends BrokerError<'migration_failed'> {
  constructor(message: string) {
    super('migration_failed', message)
  }
}

/** Applies pending migrations; returns the names applied by this call. */
export async function migrate(pool: pg.Pool, log: Logger, migrations = readMigrations()): Promise<string[]> {
  const client = await migrationSession(pool)
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    try {
      await client.query(CREATE_TABLE)
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
      )
      const applied = checkHistory(rows, migrations)
      const done: string[] = []
      for (const m of migrations) {
        if (applied.has(m.name)) continue
        const started = Date.now()
        await client.query('BEGIN')
        try {
          const id = randomUUID()
          await client.query(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, ' +
              'started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
            [id, m.checksum, m.name],
          )
          await client.query(m.sql)
          await client.query(
            'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
            [id],
          )
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined)
          throw new MigrationError(`migration ${m.name} failed and was rolled back: ${(err as Error).message}`)
        }
        log.info({ migration: m.name, ms: Date.now() - started }, 'migration applied')
        done.push(m.name)
      }
      return done
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined)
    }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * Migrations get their own connection, to the pool's database but without the
 * request-path session limits: building an index on a large table may take minutes.
 */
export async function migrationSession(pool: pg.Pool): Promise<pg.Client> {
  const {
    Client: _client,
    max: _max,
    statement_timeout: _statement,
    idle_in_transaction_session_timeout: _idle,
    query_timeout: _query,
    ...connection
  } = pool.options
  const client = new pg.Client({
    ...connection,
    application_name: 'oauth-broker-migrate',
    keepAlive: true,
    options: '-c statement_timeout=0 -c idle_in_transaction_session_timeout=0',
  })
  // A lost connection fails the query in flight; the event must not crash the process.
  client.on('error', () => undefined)
  await client.connect()
  return client
}

function checkHistory(rows: AppliedRow[], migrations: Migration[]): Set<string> {
  const known = new Map(migrations.map((m) => [m.name, m]))
  const applied = new Set<string>()
  for (const row of rows) {
    if (row.rolled_back_at) continue
    if (!row.finished_at) {
      throw new MigrationError(
        `migration ${row.migration_name} started but never finished; ` +
          'resolve it by hand (see prisma migrate resolve) before starting',
      )
    }
    const local = known.get(row.migration_name)
    if (!local) {
      throw new MigrationError(
        `the database has migration ${row.migration_name}, which ` +
          'this version does not know; it is newer than this broker',
      )
    }
    if (local.checksum !== row.checksum) {
      throw new MigrationError(`migration ${row.migration_name} was modified after it was applied (checksum differs)`)
    }
    applied.add(row.migration_name)
  }
  return applied
}

/** Names of migrations not yet applied (for /readyz). An empty list means up to date. */
export async function pendingMigrations(pool: pg.Pool | pg.PoolClient, migrations: Migration[]): Promise<string[]> {
  const { rows } = await pool.query<{ migration_name: string }>(
    `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  )
  const applied = new Set(rows.map((r) => r.migration_name))
  return migrations.filter((m) => !applied.has(m.name)).map((m) => m.name)
}
