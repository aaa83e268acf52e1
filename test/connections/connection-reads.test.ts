// The raw reads of connection rows (connection-reads.ts) against the real schema: a row
// read by id equals Prisma's reading of it, field for field (a column added later without
// the @map convention fails here), and list pages filter, hide revoked rows, page by id
// and never read the sealed tokens.
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listConnections, readConnection } from '../../src/connections/connection-reads.js'
import { connectionView } from '../../src/connections/connection-view.js'
import { openDatabase, type Database } from '../../src/store/db.js'
import { createDatabase } from '../support/db.js'

let database: Awaited<ReturnType<typeof createDatabase>>
let db: Database

const base = { provider: 'idp', createdBy: 'svc', scopes: ['a', 'b'] }

beforeAll(async () => {
  database = await createDatabase()
  db = openDatabase(database.url, { poolSize: 2, log: pino({ level: 'silent' }) })
  const now = new Date('2026-12-06T04:00:00.123Z')
  await db.prisma.connection.create({
    data: {
      ...base,
      id: 'conn_full',
      ownerId: 'owner-1',
      namespace: 'crm',
      status: 'active',
      accessToken: 'v1.k.nonce.sealed-access',
      refreshToken: 'v1.k.nonce.sealed-refresh',
      expiresAt: now,
      tokenObtainedAt: now,
      refreshTokenExpiresAt: now,
      version: 7,
      params: { tenant: 't1' },
      metadata: { sub: 'u1', nested: { n: 1 } },
      lastRefreshedAt: now,
      refreshNotBefore: now,
      refreshFailures: 2,
      lastErrorCode: 'temporarily_unavailable',
      lastErrorAt: now,
    },
  })
  const rows = [
    ['conn_a1', 'owner-2', 'crm', 'active'],
    ['conn_a2', 'owner-2', 'hr', 'reauthorization_required'],
    ['conn_a3', 'owner-2', 'crm', 'revoked'],
    ['conn_a4', 'owner-3', 'crm', 'active'],
  ] as const
  for (const [id, ownerId, namespace, status] of rows)
    await db.prisma.connection.create({ data: { ...base, id, ownerId, namespace, status } })
})

afterAll(async () => {
  await db?.close()
  await database?.drop()
})

describe('readConnection', () => {
  it('reads exactly what Prisma reads, nulls and defaults included', async () => {
    for (const id of ['conn_full', 'conn_a1']) {
      const prisma = await db.prisma.connection.findUnique({ where: { id } })
      expect(await readConnection(db.pool, id)).toStrictEqual({ ...prisma })
    }
  })

  it('answers undefined for a missing id', async () => {
    expect(await readConnection(db.pool, 'conn_missing')).toBeUndefined()
  })
})

describe('listConnections', () => {
  const ids = async (filter: Parameters<typeof listConnections>[1]) =>
    (await listConnections(db.pool, filter)).items.map((r) => r.id)

  it('filters by owner, namespace and status, and hides revoked rows unless asked', async () => {
    expect(await ids({ namespaces: undefined, limit: 50 })).toEqual(['conn_a1', 'conn_a2', 'conn_a4', 'conn_full'])
    expect(await ids({ namespaces: undefined, ownerId: 'owner-2', limit: 50 })).toEqual(['conn_a1', 'conn_a2'])
    expect(await ids({ namespaces: ['crm'], ownerId: 'owner-2', limit: 50 })).toEqual(['conn_a1'])
    expect(await ids({ namespaces: ['hr', 'crm'], limit: 50 })).toEqual(['conn_a1', 'conn_a2', 'conn_a4', 'conn_full'])
    expect(await ids({ namespaces: undefined, status: 'revoked', limit: 50 })).toEqual(['conn_a3'])
    expect(await ids({ namespaces: undefined, provider: 'other', limit: 50 })).toEqual([])
  })

  it('pages by id with a cursor', async () => {
    const first = await listConnections(db.pool, { namespaces: undefined, limit: 2 })
    expect(first.items.map((r) => r.id)).toEqual(['conn_a1', 'conn_a2'])
    expect(first.nextCursor).toBe('conn_a2')
    const second = await listConnections(db.pool, { namespaces: undefined, limit: 2, cursor: 'conn_a2' })
    expect(second.items.map((r) => r.id)).toEqual(['conn_a4', 'conn_full'])
    expect(second.nextCursor).toBeNull()
  })

  it('never reads the sealed tokens, and reads what the view shows', async () => {
    const { items } = await listConnections(db.pool, { namespaces: ['crm'], ownerId: 'owner-1', limit: 1 })
    expect(items).toHaveLength(1)
    expect(items[0]).not.toHaveProperty('accessToken')
    expect(items[0]).not.toHaveProperty('refreshToken')
    expect(items[0]).toMatchObject({
      metadata: { sub: 'u1', nested: { n: 1 } },
      params: { tenant: 't1' },
      scopes: ['a', 'b'],
    })
    expect(items[0]!.expiresAt).toBe('2026-12-06T04:00:00.123Z')
  })

  it('shows every row as the view of the Prisma row does, timestamps and nulls included', async () => {
    const { items } = await listConnections(db.pool, { namespaces: undefined, limit: 50 })
    expect(items).toHaveLength(4)
    for (const listed of items) {
      const prisma = await db.prisma.connection.findUniqueOrThrow({ where: { id: listed.id } })
      expect(connectionView(listed)).toStrictEqual(connectionView(prisma))
    }
  })
})
