// Database-unavailable detection by code (src/store/db.ts): pg's codeless connection failures
// get SQLSTATE 08006 where they are raised; query errors stay what they are.
import { createServer, type Server, type Socket } from 'node:net'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProblemError } from '../../src/errors.js'
import { isDatabaseUnavailable, openDatabase, translateDatabaseError } from '../../src/store/db.js'

/** A "database" that accepts a connection and closes it at once. */
let server: Server
let port: number
const sockets = new Set<Socket>()

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket)
    socket.once('data', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((resolve) => server.close(resolve))
})

describe('isDatabaseUnavailable', () => {
  it(
    'a connection cut by the server is a connection ' + 'exception (08006), through the pool and through Prisma',
    async () => {
      const db = openDatabase(`postgresql://u:p@127.0.0.1:${port}/db`, { poolSize: 2, log: pino({ level: 'silent' }) })
      try {
        const viaPool = await db.pool.query('SELECT 1').catch((e: unknown) => e)
        expect((viaPool as { code?: string }).code).toBe('08006')
        expect(isDatabaseUnavailable(viaPool)).toBe(true)
        const viaPrisma = await db.prisma.connection.findUnique({ where: { id: 'x' } }).catch((e: unknown) => e)
        expect(isDatabaseUnavailable(viaPrisma)).toBe(true)
        expect(translateDatabaseError(viaPrisma)).toBeInstanceOf(ProblemError)
        expect((translateDatabaseError(viaPrisma) as ProblemError).code).toBe('database_unavailable')
      } finally {
        await db.close()
      }
    },
  )

  it('tells connection failures from query errors by code, not message', () => {
    expect(isDatabaseUnavailable({ code: '57P01' })).toBe(true)
    expect(isDatabaseUnavailable({ code: 'ECONNREFUSED' })).toBe(true)
    expect(isDatabaseUnavailable({ meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } } })).toBe(true)
    expect(isDatabaseUnavailable(new Error('x', { cause: { code: '08001' } }))).toBe(true)
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(false)
    expect(isDatabaseUnavailable({ code: '23505' })).toBe(false)
    const lockTimeout = { code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'postgres', code: '55P03' } } } }
    expect((translateDatabaseError(lockTimeout) as ProblemError).code).toBe('provider_unavailable')
    expect((translateDatabaseError({ code: 'P2028' }) as ProblemError).code).toBe('database_unavailable')
  })
})
