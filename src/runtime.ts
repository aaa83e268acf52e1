// The I/O a broker process needs before building the app, shared by the server (main.ts)
// and the command-line tool (cli.ts): the database (external, or embedded under
// DATA_DIR) and the encryption keyring.
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { openDatabase, type Database } from './store/db.js'
import { runningEmbeddedUrl, startEmbeddedPostgres, type EmbeddedDatabase } from './store/embedded.js'
import type { Keyring } from './store/encryption.js'
import { resolveKeyring } from './store/keyring.js'

export interface Runtime {
  db: Database
  keyring: Keyring
  /** Closes the pool, then stops the embedded database if this process started it. */
  close(): Promise<void>
  /** Before a forced exit: at least tell the embedded database to stop. */
  abort(): void
}

export async function openRuntime(
  config: Config,
  log: Logger,
  options: { reuseRunningEmbedded?: boolean } = {},
): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined
  let url = config.databaseUrl
  if (!url && options.reuseRunningEmbedded) url = runningEmbeddedUrl(config.dataDir)
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir, log)
    url = embedded.url
  }
  try {
    const keyring = resolveKeyring(config, log)
    const db = openDatabase(url, { poolSize: config.databasePoolSize, log, timeouts: config.databaseTimeouts })
    return {
      db,
      keyring,
      async close() {
        await db.close().catch((err: unknown) => log.warn({ err }, 'closing the database pool failed'))
        await embedded?.stop()
      },
      abort() {
        embedded?.signalStop()
      },
    }
  } catch (err) {
    await embedded?.stop()
    throw err
  }
}
