// The database handle: one pg pool shared by Prisma (through @prisma/adapter-pg) and by
// the few statements Prisma cannot express (advisory locks, LISTEN/NOTIFY, migrations).
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { Logger } from 'pino'
import { PrismaClient } from '../generated/prisma/client.js'

export type { PrismaClient }
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]

export interface Database {
  url: string
  pool: pg.Pool
  prisma: PrismaClient
  close(): Promise<void>
}

export function openDatabase(url: string, options: { poolSize: number; log: Logger }): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    // Fail fast when the database is down instead of queueing requests forever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'oauth-broker',
  })
  // An idle client losing its server (database restart) emits here; without a listener
  // the process would crash. The pool replaces the client on next use.
  pool.on('error', (err) => options.log.warn({ err: { message: err.message } }, 'database connection lost'))
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, { disposeExternalPool: false }),
  })
  let closed = false
  return {
    url,
    pool,
    prisma,
    async close() {
      if (closed) return
      closed = true
      await prisma.$disconnect().catch(() => undefined)
      await pool.end()
    },
  }
}

/** @prisma/driver-adapter-utils error kinds that mean the connection, not the query, failed. */
const UNREACHABLE_KINDS = new Set(['ConnectionClosed', 'DatabaseNotReachable', 'SocketTimeout', 'TooManyConnections', 'TlsConnectionError'])

/** True when an error comes from the database being unreachable rather than a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: unknown; name?: string } | undefined
  if (!e) return false
  const code = e.code ?? ''
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions;
  // Prisma's P1001 can't reach, P1002/P1008 timed out, P1017 server closed the connection,
  // P2024 no pool connection in time.
  if (/^(57P0[123]|08\d{3}|P100[128]|P1017|P2024)$/.test(code)) return true
  const adapterKind = (e as { meta?: { driverAdapterError?: { cause?: { kind?: string } } } }).meta?.driverAdapterError?.cause?.kind
  if (adapterKind && UNREACHABLE_KINDS.has(adapterKind)) return true
  const message = e.message ?? ''
  if (/Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Can't reach database server|the database system is (starting up|shutting down)|terminating connection/i.test(message)) {
    return true
  }
  return e.cause !== undefined && e.cause !== err ? isDatabaseUnavailable(e.cause) : false
}
