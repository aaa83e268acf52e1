// The broker's entry point, and the only module that touches `process`: read the
// configuration, open the database (embedded when DATABASE_URL is unset), apply pending
// migrations, build the app, listen, and shut down gracefully on SIGTERM/SIGINT.
import './wasm-memory.js'
import { createServer } from 'node:net'
import type { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { EnvironmentError } from './environment-error.js'
import { createLogger } from './log.js'
import type { Logger } from 'pino'
import type { Runtime } from './runtime.js'
import type { ChangeFeed } from './store/changes.js'

/** The app's modules, loaded while the database starts (initdb runs in its own process). */
async function appModules() {
  const [{ buildApp }, { ChangeFeed }, { migrate }] = await Promise.all([
    import('./app.js'),
    import('./store/changes.js'),
    import('./store/migrate.js'),
  ])
  return { buildApp, ChangeFeed, migrate }
}

/** What start-up has opened so far, for the shutdown to close. */
interface Process {
  config: Config
  log: Logger
  runtime?: Runtime
  changes?: ChangeFeed
  app?: Awaited<ReturnType<typeof buildApp>>
  stopping: boolean
  starting?: Promise<void>
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env, undefined, { server: true })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`oauth-broker: ${err.message}\n`)
    process.exit(2)
  }
  const broker: Process = { config, log: createLogger(config.logLevel), stopping: false }
  onSignals(broker)
  try {
    broker.starting = startUp(broker)
    await broker.starting
  } catch (err) {
    if (err instanceof EnvironmentError) return stop(broker, 'start-up failed', 2, err.message)
    broker.log.fatal({ err: { message: (err as Error).message } }, 'start-up failed')
    await stop(broker, 'start-up failed', 1)
  }
}

function onSignals(broker: Process): void {
  process.on('SIGTERM', () => void stop(broker, 'SIGTERM', 0))
  // A closed terminal: stop as for SIGTERM rather than leave the embedded database running.
  process.on('SIGHUP', () => void stop(broker, 'SIGHUP', 0))
  let interrupted = false
  process.on('SIGINT', () => {
    // A second Ctrl-C means "now": skip waiting, but still stop the embedded database. Only
    // a second SIGINT: a terminal's Ctrl-C also reaches a parent (npm, the sandbox) that may
    // pass on a SIGTERM, which can be handled first.
    if (interrupted) {
      broker.runtime?.abort()
      process.exit(130)
    }
    interrupted = true
    void stop(broker, 'SIGINT', 0)
  })
}

/** Each step checks whether a signal asked to stop meanwhile: then nothing more is started. */
async function startUp(broker: Process): Promise<void> {
  const { config, log } = broker
  await portAvailable(config)
  if (broker.stopping) return
  const { openRuntime } = await import('./runtime.js')
  const opening = openRuntime(config, log)
  const loading = appModules()
  loading.catch(() => {}) // a failed start-up reports the runtime's error first
  broker.runtime = await opening
  const { buildApp, ChangeFeed, migrate } = await loading
  if (broker.stopping) return
  await migrate(broker.runtime.db.pool, log)
  if (broker.stopping) return
  broker.changes = new ChangeFeed(broker.runtime.db.url, log)
  await broker.changes.start()
  if (broker.stopping) return
  const deps = { db: broker.runtime.db, keyring: broker.runtime.keyring, log, changes: broker.changes }
  broker.app = await buildApp(config, deps)
  await broker.app.services.start()
  if (broker.stopping) return
  await broker.app.listen({ port: config.port, host: config.host }).catch((err: NodeJS.ErrnoException) => {
    throw listenError(err, config)
  })
  const database = config.databaseUrl ? 'external' : 'embedded'
  log.info({ publicUrl: config.publicUrl, database, providers: [...config.providers.keys()] }, 'oauth broker ready')
}

/** `message`: the one paragraph a broken environment ends with (exit code 2). */
async function stop(broker: Process, reason: string, exitCode: number, message?: string): Promise<void> {
  if (broker.stopping) return
  broker.stopping = true
  const { config, log } = broker
  log.info({ reason }, 'shutting down')
  const forceExit = () => {
    // Tokens a provider already issued (maybe rotating the old ones away) are being written:
    // exiting now would lose the grant. The write itself gives up after its retry window.
    if (broker.app?.services.freshTokens.writesInFlight) {
      log.warn('shutdown waits for refreshed tokens to be stored')
      setTimeout(forceExit, 500).unref()
      return
    }
    log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting')
    broker.runtime?.abort()
    process.exit(1)
  }
  setTimeout(forceExit, config.shutdownTimeoutMs + 5_000).unref()
  // A signal during start-up: let the step in progress finish (the embedded database may
  // be initialising, a migration running), then close what was opened. Exiting at once
  // would leave an embedded PostgreSQL running on DATA_DIR.
  await broker.starting?.catch(() => {})
  try {
    // Stops accepting connections and waits for in-flight requests (Fastify close); past
    // SHUTDOWN_TIMEOUT_MS the remaining connections are cut so the rest can stop cleanly.
    const cut = setTimeout(() => broker.app?.server.closeAllConnections(), config.shutdownTimeoutMs)
    cut.unref()
    await broker.app?.close()
    clearTimeout(cut)
    await broker.changes?.close()
    await broker.runtime?.close()
  } catch (err) {
    log.error({ err }, 'error during shutdown')
    exitCode = exitCode || 1
  }
  log.info('stopped')
  // After pino's own exit hook has flushed the log: the paragraph is the last output.
  if (message) process.once('exit', () => process.stderr.write(`oauth-broker: ${message}\n`))
  process.exit(exitCode)
}

/** A port that is taken is said at once, before a database is started (or created) for nothing. */
function portAvailable(config: Config): Promise<void> {
  if (config.port === 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, config)))
    probe.listen({ port: config.port, host: config.host, exclusive: true }, () => probe.close(() => resolve()))
  })
}

/** The listening socket's usual failures, as a broken environment rather than a crash. */
function listenError(err: NodeJS.ErrnoException, config: Config): Error {
  const where = `port ${config.port} on ${config.host}`
  switch (err.code) {
    case 'EADDRINUSE':
      return new EnvironmentError(
        `Cannot listen on ${where}: another process uses it (another ` +
          'broker?). Stop that process, or set PORT to a free port.',
      )
    case 'EACCES':
      return new EnvironmentError(
        `Cannot listen on ${where}: not permitted (ports below 1024 need privileges). Set PORT to 1024 or above.`,
      )
    case 'EADDRNOTAVAIL':
      return new EnvironmentError(
        `Cannot listen on ${where}: HOST is not an address of this ` +
          'machine. Set HOST to one of its addresses, or 0.0.0.0.',
      )
    default:
      return err
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`oauth-broker: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
