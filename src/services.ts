// The broker's services, wired once from configuration and I/O dependencies. Routes get
// this bundle; nothing here knows about HTTP.
import type { Logger } from 'pino'
import { AuditLog } from './audit/audit-log.js'
import { ConnectionCache, MAX_AGE_MS } from './connections/connection-cache.js'
import { ConnectionStore } from './connections/connection-store.js'
import { Connect } from './connections/connect.js'
import { ConnectSessions } from './connections/connect-sessions.js'
import { FRESH_TOKEN_TIMINGS, FreshTokens, type FreshTokenTimings } from './connections/fresh-tokens.js'
import { ProactiveRefresher } from './connections/proactive-refresh.js'
import { Revocations } from './connections/revoke.js'
import { createDispatchers, ProviderNetwork, type ResolveHost } from './oauth/network.js'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config.js'
import { BrokerTokens } from './issuer/broker-tokens.js'
import { SigningKeys } from './issuer/signing-keys.js'
import { Metrics } from './metrics.js'
import { ClientAssertions } from './service-clients/client-assertions.js'
import { ServiceClients } from './service-clients/service-clients.js'
import type { ChangeFeed } from './store/changes.js'
import type { Database } from './store/db.js'
import type { Keyring } from './store/encryption.js'
import { readMigrations, type Migration } from './store/migrate.js'
import { DeliveryStore } from './webhooks/delivery-store.js'
import { DeliveryWorker } from './webhooks/delivery-worker.js'
import { createWebhookDispatcher } from './webhooks/sender.js'
import { WebhookEndpoints } from './webhooks/webhook-endpoints.js'

export interface Deps {
  db: Database
  keyring: Keyring
  log: Logger
  /** Cross-replica cache invalidation; without it caches rely on their periodic reloads. */
  changes?: ChangeFeed
  clock?: Clock
  /** DNS for hosts users supply (checked against internal addresses at connect time); tests inject names. */
  resolveHost?: ResolveHost
  /** Shorter waits for tests (production defaults otherwise), so fault tests need not sleep on them. */
  timings?: Partial<Timings>
}

export interface Timings extends FreshTokenTimings {
  /** How long a cached connection row is trusted without a change notification. */
  connectionCacheMaxAgeMs: number
  /** The webhook delivery worker's backstop poll, and how long failing disables an endpoint. */
  webhookPollIntervalMs?: number
  webhookDisableAfterSeconds?: number
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
  /** private_key_jwt client authentication (RFC 7523) and its used-jti records. */
  assertions: ClientAssertions
  keys: SigningKeys
  tokens: BrokerTokens
  connections: ConnectionStore
  connect: Connect
  freshTokens: FreshTokens
  revocations: Revocations
  refresher: ProactiveRefresher
  /** Webhook endpoints, their deliveries, and this replica's delivery worker. */
  webhooks: WebhookEndpoints
  deliveries: DeliveryStore
  deliveryWorker: DeliveryWorker
  /**
   * Start-up work, safe on several replicas at once: create the first signing key and the
   * bootstrap client when missing, load the caches, start background work.
   */
  start(): Promise<void>
  stop(): Promise<void>
}

/** The services without provider traffic: audit, service clients, client assertions, signing keys. */
function createCoreServices(config: Config, deps: Deps) {
  const clock = deps.clock ?? systemClock
  const { db, keyring, log } = deps
  const metrics = new Metrics()
  const audit = new AuditLog(db, clock, log, metrics)
  const clients = new ServiceClients(db, audit, log, { bootstrap: config.bootstrap, clock })
  const assertions = new ClientAssertions({ db, clients, clock, issuer: config.publicUrl })
  const keys = new SigningKeys({ db, keyring, clock, tokenTtlSeconds: config.brokerTokenTtlSeconds, audit, log })
  const tokens = new BrokerTokens(keys, config.publicUrl, config.brokerTokenTtlSeconds, clock)
  return { config, db, keyring, clock, log, metrics, audit, clients, assertions, keys, tokens }
}

type CoreServices = ReturnType<typeof createCoreServices>

/** Connections: the connect flow, fresh tokens, revocation and the proactive refresher. */
function createConnectionServices(core: CoreServices, deps: Deps) {
  const { config, db, keyring, clock, log, metrics, audit } = core
  const network = new ProviderNetwork(
    createDispatchers({
      extraCaPem: config.providerCaPem,
      allowPrivate: config.allowPrivateProviderAddresses,
      resolveHost: deps.resolveHost,
    }),
    config.providerTimeoutMs,
  )
  const connections = new ConnectionStore({ db, keyring, clock, audit })
  const sessions = new ConnectSessions({ db, keyring, clock })
  const timings: Timings = { ...FRESH_TOKEN_TIMINGS, connectionCacheMaxAgeMs: MAX_AGE_MS, ...deps.timings }
  const cache = new ConnectionCache(deps.changes, timings.connectionCacheMaxAgeMs)
  const flow = { store: connections, cache, providers: config.providers, clock, metrics, log, network }
  const freshTokens = new FreshTokens({ ...flow, db, audit, timings })
  const refresher = new ProactiveRefresher({
    store: connections,
    freshTokens,
    metrics,
    log,
    options: {
      ...config.refresh,
      // Longer than the longest refresh (lock wait plus provider call, twice).
      leaseSeconds: Math.ceil((config.providerTimeoutMs * 3) / 1000) + 30,
    },
  })
  const connect = new Connect({ ...flow, sessions, config })
  return { network, connections, connect, freshTokens, revocations: new Revocations({ ...flow, db }), refresher }
}

/** Lifecycle events as webhooks: endpoints, the deliveries' rows, the delivery worker. */
function createWebhookServices(core: CoreServices, deps: Deps) {
  const { config, db, keyring, clock, log, metrics, audit } = core
  const webhooks = new WebhookEndpoints({ db, keyring, audit, clock, log })
  const deliveries = new DeliveryStore(db)
  const dispatcher = createWebhookDispatcher(deps.resolveHost)
  const deliveryWorker = new DeliveryWorker({
    store: deliveries,
    openSecret: (id, column, sealed) => webhooks.openSecret(id, column, sealed),
    dispatcher,
    metrics,
    log,
    options: {
      ...config.webhooks,
      pollIntervalMs: deps.timings?.webhookPollIntervalMs,
      disableAfterSeconds: deps.timings?.webhookDisableAfterSeconds,
    },
  })
  return { webhooks, deliveries, deliveryWorker, dispatcher }
}

export function createServices(config: Config, deps: Deps): Services {
  const core = createCoreServices(config, deps)
  const { dispatcher, ...webhookServices } = createWebhookServices(core, deps)
  const { network, ...connectionServices } = createConnectionServices(core, deps)
  const { audit, clients, assertions, keys } = core
  const { connect, refresher } = connectionServices
  let purgeTimer: NodeJS.Timeout | undefined
  return {
    ...core,
    ...connectionServices,
    ...webhookServices,
    migrations: readMigrations(),
    async start() {
      await keys.ensureKey()
      if (config.bootstrap) await clients.upsertBootstrap(config.bootstrap)
      audit.start()
      await Promise.all([clients.start(deps.changes), keys.start(deps.changes)])
      refresher.start()
      webhookServices.deliveryWorker.start(deps.changes)
      // Expired connect sessions, the jtis of expired client assertions, old webhook events.
      const purge = () =>
        Promise.allSettled([
          connect.purgeExpiredSessions(),
          assertions.purgeExpired(),
          webhookServices.deliveries.purge(),
        ])
      purgeTimer = setInterval(() => void purge(), 10 * 60_000)
      purgeTimer.unref()
    },
    async stop() {
      clearInterval(purgeTimer)
      await Promise.all([refresher.stop(), webhookServices.deliveryWorker.stop()])
      await dispatcher.close()
      keys.stop()
      clients.stop()
      await audit.stop()
      await network.close()
    },
  }
}
