// The broker's entry point, and the only module that touches `process`: read the
// configuration, open the database (embedded when DATABASE_URL is unset), apply pending
// migrations, build the app, listen, and shut down gracefully on SIGTERM/SIGINT.
import { createServer } from 'node:net'
import type { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { EnvironmentError } from './environment-error.js'
import { createLogger } from './log.js'
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

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env, undefined, { server: true })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`oauth-broker: ${err.message}\n`)
    process.exit(2)
  }
  const log = createLogger(config.logLevel)
  let runtime: Runtime | undefined
  let changes: ChangeFeed | undefined
  let app: Awaited<ReturnType<typeof buildApp>> | undefined
  let stopping = false

  let starting: Promise<void> | undefined

  // `message`: the one paragraph a broken environment ends with (exit code 2).
  const stop = async (reason: string, exitCode: number, message?: string) => {
    if (stopping) return
    stopping = true
    log.info({ reason }, 'shutting down')
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting')
      runtime?.abort()
      process.exit(1)
    }, config.shutdownTimeoutMs + 5_000)
    force.unref()
    // A signal during start-up: let the step in progress finish (the embedded database may
    // be initialising, a migration running), then close what was opened. Exiting at once
    // would leave an embedded PostgreSQL running on DATA_DIR.
    await starting?.catch(() => {})
    try {
      // Stops accepting connections and waits for in-flight requests (Fastify close); past
      // SHUTDOWN_TIMEOUT_MS the remaining connections are cut so the rest can stop cleanly.
      const cut = setTimeout(() => app?.server.closeAllConnections(), config.shutdownTimeoutMs)
      cut.unref()
      await app?.close()
      clearTimeout(cut)
      await changes?.close()
      await runtime?.close()
    } catch (err) {
      log.error({ err }, 'error during shutdown')
      exitCode = exitCode || 1
    }
    log.info('stopped')
    // After pino's own exit hook has flushed the log: the paragraph is the last output.
    if (message) process.once('exit', () => process.stderr.write(`oauth-broker: ${message}\n`))
    process.exit(exitCode)
  }
  process.on('SIGTERM', () => void stop('SIGTERM', 0))
  // A closed terminal: stop as for SIGTERM rather than leave the embedded database running.
  process.on('SIGHUP', () => void stop('SIGHUP', 0))
  process.on('SIGINT', () => {
    // A second Ctrl-C means "now": skip waiting, but still stop the embedded database.
    if (stopping) {
      runtime?.abort()
      process.exit(130)
    }
    void stop('SIGINT', 0)
  })

  // Each step checks whether a signal asked to stop meanwhile: then nothing more is started.
  const startUp = async () => {
    await portAvailable(config)
    if (stopping) return
    const { openRuntime } = await import('./runtime.js')
    const opening = openRuntime(config, log)
    const loading = appModules()
    loading.catch(() => {}) // a failed start-up reports the runtime's error first
    runtime = await opening
    const { buildApp, ChangeFeed, migrate } = await loading
    if (stopping) return
    await migrate(runtime.db.pool, log)
    if (stopping) return
    changes = new ChangeFeed(runtime.db.url, log)
    await changes.start()
    if (stopping) return
    app = await buildApp(config, { db: runtime.db, keyring: runtime.keyring, log, changes })
    await app.services.start()
    if (stopping) return
    await app.listen({ port: config.port, host: config.host }).catch((err: NodeJS.ErrnoException) => {
      throw listenError(err, config)
    })
    log.info(
      {
        publicUrl: config.publicUrl,
        database: config.databaseUrl ? 'external' : 'embedded',
        providers: [...config.providers.keys()],
      },
      'oauth broker ready',
    )
  }
  try {
    starting = startUp()
    await starting
  } catch (err) {
    if (err instanceof EnvironmentError) return stop('start-up failed', 2, err.message)
    log.fatal({ err: { message: (err as Error).message } }, 'start-up failed')
    await stop('start-up failed', 1)
  }
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
