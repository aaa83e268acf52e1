// The migration runner: each migration once, recorded as Prisma Migrate records it, safe
// when several processes start together, refusing edited or unknown history.
import pg from 'pg'
import pino from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { migrate, MigrationError, pendingMigrations, readMigrations } from '../../src/store/migrate.js'
import { createDatabase } from '../support/db.js'

const log = pino({ level: 'silent' })
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function emptyDatabase() {
  const db = await createDatabase({ migrate: false })
  const pools = [
    new pg.Pool({ connectionString: db.url, max: 2 }),
    new pg.Pool({ connectionString: db.url, max: 2 }),
    new pg.Pool({ connectionString: db.url, max: 2 }),
  ]
  cleanups.push(async () => {
    await Promise.all(pools.map((p) => p.end()))
    await db.drop()
  })
  return pools
}

describe('migrate', () => {
  it('applies every migration exactly once, even when three processes race on an empty database', async () => {
    const pools = await emptyDatabase()
    const results = await Promise.all(pools.map((p) => migrate(p, log)))
    const all = readMigrations().map((m) => m.name)
    expect(results.flat().sort()).toEqual(all.sort())
    const { rows } = await pools[0]!.query(
      'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY migration_name',
    )
    expect(rows).toHaveLength(all.length)
    expect(rows.every((r: { n: number }) => r.n === 1)).toBe(true)
    expect(await migrate(pools[0]!, log)).toEqual([])
    expect(await pendingMigrations(pools[0]!, readMigrations())).toEqual([])
  })

  it("records rows in Prisma Migrate's format (checksum = sha256 of migration.sql, one step, finished)", async () => {
    const [pool] = await emptyDatabase()
    await migrate(pool!, log)
    const { rows } = await pool!.query('SELECT * FROM "_prisma_migrations" ORDER BY migration_name')
    const files = readMigrations()
    expect(rows.map((r: { migration_name: string }) => r.migration_name)).toEqual(files.map((m) => m.name))
    for (const [i, row] of rows.entries()) {
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(row.checksum).toBe(files[i]!.checksum)
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/)
      expect(row.finished_at).toBeInstanceOf(Date)
      expect(row.rolled_back_at).toBeNull()
      expect(row.applied_steps_count).toBe(1)
    }
    const { rows: columns } = await pool!.query(
      'SELECT column_name, data_type, is_nullable FROM information_schema.columns ' +
        `WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    )
    expect(columns.map((c: { column_name: string }) => c.column_name)).toEqual([
      'id',
      'checksum',
      'finished_at',
      'migration_name',
      'logs',
      'rolled_back_at',
      'started_at',
      'applied_steps_count',
    ])
  })

  it('refuses to start on an edited migration, an unknown newer one, or a failed one', async () => {
    const [pool] = await emptyDatabase()
    await migrate(pool!, log)
    const first = readMigrations()[0]!
    await pool!.query(`UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = $1`, [
      first.name,
    ])
    await expect(migrate(pool!, log)).rejects.toThrow(/modified after it was applied/)
    await pool!.query(`UPDATE "_prisma_migrations" SET checksum = $2 WHERE migration_name = $1`, [
      first.name,
      first.checksum,
    ])
    await pool!.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count) ' +
        `VALUES (gen_random_uuid()::text, repeat('1', 64), '29990101000000_future', now(), 1)`,
    )
    await expect(migrate(pool!, log)).rejects.toThrow(MigrationError)
    await expect(migrate(pool!, log)).rejects.toThrow(/newer than this broker/)
  })

  it('rolls a failing migration back entirely and reports it', async () => {
    const [pool] = await emptyDatabase()
    const broken = [
      ...readMigrations(),
      { name: '29990101000000_broken', sql: 'CREATE TABLE t_ok (id int); SELECT 1/0;', checksum: 'x'.repeat(64) },
    ]
    await expect(migrate(pool!, log, broken)).rejects.toThrow(/29990101000000_broken failed and was rolled back/)
    const { rows } = await pool!.query(
      `SELECT to_regclass('t_ok') AS t, (SELECT count(*)::int FROM ` +
        `"_prisma_migrations" WHERE migration_name = '29990101000000_broken') AS n`,
    )
    expect(rows[0]).toEqual({ t: null, n: 0 })
  })
})

describe('prisma.config.ts', () => {
  // `prisma migrate status/deploy` read the database from here; the offline `prisma
  // generate` of scripts/prepare.mjs loads the same file with no DATABASE_URL at all.
  async function loadConfig(databaseUrl: string | undefined) {
    vi.resetModules()
    vi.stubEnv('DATABASE_URL', databaseUrl)
    try {
      return (await import('../../prisma.config.js')).default
    } finally {
      vi.unstubAllEnvs()
    }
  }

  it('gives Prisma Migrate DATABASE_URL, and loads without it', async () => {
    const url = 'postgresql://broker:secret@db.internal:5432/broker'
    expect((await loadConfig(url)).datasource?.url).toBe(url)
    expect((await loadConfig(undefined)).datasource?.url).toBe('')
    expect((await loadConfig(url)).migrations?.path).toBe('prisma/migrations')
  })
})
