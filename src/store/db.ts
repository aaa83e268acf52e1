// The database handle: one pg pool shared by Prisma (through @prisma/adapter-pg) and by
// the few statements Prisma cannot express (advisory locks, LISTEN/NOTIFY, migrations).
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { Logger } from 'pino'
import { problem, ProblemError } from '../errors.js'
import { PrismaClient } from '../generated/prisma/client.js'

export type { PrismaClient }
export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]

export interface Database {
  url: string
  pool: pg.Pool
  prisma: PrismaClient
  close(): Promise<void>
}

/** Limits of the broker's own (request-path and background) sessions; 0 turns one off. */
export interface SessionTimeouts {
  statementTimeoutMs: number
  idleInTransactionTimeoutMs: number
}

/** TCP keepalive on every connection: a silently gone peer is noticed, not waited on for hours. */
export const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 }
/** How much longer than the statement timeout the client waits for an answer before dropping the connection. */
const ANSWER_MARGIN_MS = 5_000

export function openDatabase(
  url: string,
  options: { poolSize: number; log: Logger; timeouts?: SessionTimeouts },
): Database {
  const { statementTimeoutMs = 0, idleInTransactionTimeoutMs = 0 } = options.timeouts ?? {}
  const pool = new BrokerPool({
    Client: BrokerClient,
    connectionString: url,
    max: options.poolSize,
    // Fail fast when the database is down instead of queueing requests forever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'oauth-broker',
    ...KEEPALIVE,
    // Set by the server on each session: a statement, or a transaction left idle (its
    // client gone silent), ends there and its locks go with it.
    ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
    ...(idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: idleInTransactionTimeoutMs } : {}),
    // And on this side: a server that stopped answering (not closed) fails the query, and
    // BrokerClient drops the connection, instead of the request waiting forever.
    ...(statementTimeoutMs ? { query_timeout: statementTimeoutMs + ANSWER_MARGIN_MS } : {}),
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
const UNREACHABLE_KINDS = new Set([
  'ConnectionClosed',
  'DatabaseNotReachable',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
])
/** Node socket errors: the server is not there. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])
/**
 * SQLSTATE 08xxx connection exceptions, 57P01 admin_shutdown, 57P02 crash_shutdown,
 * 57P03 cannot_connect_now; Prisma's P1001 can't reach, P1002/P1008 timed out, P1017 server
 * closed the connection, P2024 no pool connection in time.
 */
const UNAVAILABLE_CODE = /^(08[0-9A-Z]{3}|57P0[123]|P100[128]|P1017|P2024)$/

interface DbErrorShape {
  code?: unknown
  cause?: unknown
  meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string; originalCode?: string } } }
}

/** True when an error comes from the database being unreachable rather than a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return sqlStateOf(err, (code) => SOCKET_CODES.has(code) || UNAVAILABLE_CODE.test(code))
}

/**
 * A failed transaction of the refresh path as the caller's answer: a `lock_timeout` that ran
 * out (55P03: another replica's refresh of this connection is taking too long) is the
 * provider's slowness; an unreachable database, or a transaction the pool could not start
 * or keep (Prisma P2028), is the database's. Anything else is left as it is.
 */
export function translateDatabaseError(err: unknown): unknown {
  if (err instanceof ProblemError) return err
  if (sqlStateOf(err, (code) => code === '55P03')) {
    return problem('provider_unavailable', 'another refresh of this connection is still waiting on the provider')
  }
  if (isDatabaseUnavailable(err) || sqlStateOf(err, (code) => code === 'P2028')) return problem('database_unavailable')
  return err
}

/** Does the error, or one it wraps, carry a code (SQLSTATE, socket, Prisma) or an adapter kind that `test` accepts? */
function sqlStateOf(err: unknown, test: (code: string) => boolean, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false
  const e = err as DbErrorShape & { kind?: string; originalCode?: string }
  const adapter = e.meta?.driverAdapterError?.cause
  const codes = [e.code, e.originalCode, adapter?.code, adapter?.originalCode]
  if (codes.some((c) => typeof c === 'string' && test(c))) return true
  const kind = adapter?.kind ?? e.kind
  if (kind && UNREACHABLE_KINDS.has(kind) && test('08006')) return true
  return e.cause !== err && sqlStateOf(e.cause, test, depth + 1)
}

/**
 * pg reports a connection it lost or could not get ("Connection terminated unexpectedly",
 * "timeout exceeded when trying to connect", "not queryable") as a plain Error without a
 * code. Such an error gets SQLSTATE 08006 (connection_failure) where it is raised, so the
 * adapter and `isDatabaseUnavailable` see a connection exception by its code.
 */
function markConnectionFailure(err: unknown): never {
  if (err instanceof Error && !(err instanceof pg.DatabaseError) && (err as { code?: unknown }).code === undefined) {
    Object.assign(err, { code: '08006', severity: 'FATAL' })
  }
  throw err
}

/** Marks a connection failure in the promise it returns (callback style is left alone). */
function marked(result: unknown): never {
  return (result instanceof Promise ? result.catch(markConnectionFailure) : result) as never
}

class BrokerClient extends pg.Client {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args)
    if (result instanceof Promise) result.catch((err: unknown) => this.dropIfSilent(err))
    return marked(result)
  }

  /** pg's query_timeout fails the query but keeps the connection: a silent one must go. */
  private dropIfSilent(err: unknown): void {
    if (!(err instanceof Error) || err.message !== 'Query read timeout') return
    const stream = (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
    stream?.destroy()
  }

  override connect(...args: unknown[]): never {
    return marked((super.connect as (...a: unknown[]) => unknown)(...args))
  }
}

class BrokerPool extends pg.Pool {
  override query(...args: unknown[]): never {
    return marked((super.query as (...a: unknown[]) => unknown)(...args))
  }

  override connect(...args: unknown[]): never {
    return marked((super.connect as (...a: unknown[]) => unknown)(...args))
  }
}
