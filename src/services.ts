// The broker's services, wired once from configuration and I/O dependencies. Routes get
// this bundle; nothing here knows about HTTP.
import type { Logger } from 'pino'
import { AuditLog } from './audit/audit-log.js'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config.js'
import { BrokerTokens } from './issuer/broker-tokens.js'
import { SigningKeys } from './issuer/signing-keys.js'
import { Metrics } from './metrics.js'
import { ServiceClients } from './service-clients/service-clients.js'
import type { ChangeFeed } from './store/changes.js'
import type { Database } from './store/db.js'
import type { Keyring } from './store/encryption.js'
import { readMigrations, type Migration } from './store/migrate.js'

export interface Deps {
  db: Database
  keyring: Keyring
  log: Logger
  /** Cross-replica cache invalidation; without it caches rely on their periodic reloads. */
  changes?: ChangeFeed
  clock?: Clock
}

export interface Services {
  config: Config
  db: Database
  keyring: Keyring
  clock: Clock
  log: Logger
  metrics: Metrics
  migrations: Migration[]
  audit: AuditLog
  clients: ServiceClients
  keys: SigningKeys
  tokens: BrokerTokens
  /**
   * Start-up work, safe on several replicas at once: create the first signing key and the
   * bootstrap client when missing, load the caches, start background work.
   */
  start(): Promise<void>
  stop(): Promise<void>
}

export function createServices(config: Config, deps: Deps): Services {
  const clock = deps.clock ?? systemClock
  const { db, keyring, log } = deps
  const metrics = new Metrics()
  const audit = new AuditLog(db, clock, log, metrics)
  const clients = new ServiceClients(db, audit, log)
  const keys = new SigningKeys(db, keyring, clock, config.brokerTokenTtlSeconds, audit, log)
  const tokens = new BrokerTokens(keys, config.publicUrl, config.brokerTokenTtlSeconds, clock)
  return {
    config,
    db,
    keyring,
    clock,
    log,
    metrics,
    migrations: readMigrations(),
    audit,
    clients,
    keys,
    tokens,
    async start() {
      await keys.ensureKey()
      if (config.bootstrap) await clients.upsertBootstrap(config.bootstrap)
      audit.start()
      await Promise.all([clients.start(deps.changes), keys.start(deps.changes)])
    },
    async stop() {
      keys.stop()
      await audit.stop()
    },
  }
}
