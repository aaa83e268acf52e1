// The broker's services, wired once from configuration and I/O dependencies. Routes get
// this bundle; nothing here knows about HTTP.
import type { Logger } from 'pino'
import { AuditLog } from './audit/audit-log.js'
import { registerConnectionGauge } from './connections/connection-gauge.js'
import { ConnectionCache, MAX_AGE_MS } from './connections/connection-cache.js'
import { ConnectionStore } from './connections/connection-store.js'
import { Connect } from './connections/connect.js'
import { ConnectSessions } from './connections/connect-sessions.js'
import { FRESH_TOKEN_TIMINGS, FreshTokens, type FreshTokenTimings } from './connections/fresh-tokens.js'
import { ProactiveRefresher } from './connections/proactive-refresh.js'
import { Revocations } from './connections/revoke.js'
import { Confirmations } from './connections/confirmation.js'
import { PendingGrants } from './connections/pending-grants.js'
import { REVOCATION_TIMINGS, RevocationQueue, type RevocationTimings } from './connections/revocation-queue.js'
import { createDispatchers, ProviderNetwork, type ResolveHost } from './oauth/network.js'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config.js'
import { BrokerTokens } from './issuer/broker-tokens.js'
import { SigningKeys } from './issuer/signing-keys.js'
import { Metrics } from './metrics.js'
import { ClientAssertions } from './service-clients/client-assertions.js'
import { ServiceClients } from './service-clients/service-clients.js'
import { loadSecretHashKey } from './service-clients/secret-hash-key.js'
import { ClientSecrets } from './service-clients/secrets.js'
import type { ChangeFeed } from './store/changes.js'
import type { Database } from './store/db.js'
import type { Keyring } from './store/encryption.js'
import { readMigrations, type Migration } from './store/migrate.js'
import { brokerPurgeRules, Retention, webhookPurgeRule } from './store/retention.js'
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

export interface Timings extends FreshTokenTimings, RevocationTimings {
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
  /** Failed revocations, retried in the background (connections/revocation-queue.ts). */
  revocationQueue: RevocationQueue
  refresher: ProactiveRefresher
  /** Confirming the end user of a connect flow: held grants, their codes, the expiry sweep. */
  confirmations: Confirmations
  pending: PendingGrants
  /** The periodic purge of ever-growing tables; other parts add their tables to it. */
  retention: Retention
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
  const secrets = new ClientSecrets(() => loadSecretHashKey(db, keyring))
  secrets.kdf.onRun = () => metrics.slowHashes.inc()
  const clients = new ServiceClients(db, audit, log, { bootstrap: config.bootstrap, clock, secrets })
  const assertions = new ClientAssertions({ db, clients, clock, issuer: config.publicUrl })
  const keys = new SigningKeys({ db, keyring, clock, tokenTtlSeconds: config.brokerTokenTtlSeconds, audit, log })
  const tokens = new BrokerTokens(keys, config.publicUrl, config.brokerTokenTtlSeconds, clock)
  return { config, db, keyring, clock, log, metrics, audit, clients, assertions, keys, tokens }
}

type CoreServices = ReturnType<typeof createCoreServices>

/** Outbound calls to providers: dispatchers, timeout, bulkheads and the duration metric. */
function providerNetwork(config: Config, metrics: Metrics, deps: Deps): ProviderNetwork {
  return new ProviderNetwork(
    createDispatchers({
      extraCaPem: config.providerCaPem,
      allowPrivate: config.allowPrivateProviderAddresses,
      resolveHost: deps.resolveHost,
    }),
    config.providerTimeoutMs,
    { concurrency: config.providerConcurrency, metrics },
    (labels, seconds) => metrics.providerRequests.observe(labels, seconds),
  )
}

/** Connections: the connect flow, fresh tokens, revocation and the proactive refresher. */
function createConnectionServices(core: CoreServices, deps: Deps) {
  const { config, db, keyring, clock, log, metrics, audit } = core
  const network = providerNetwork(config, metrics, deps)
  registerConnectionGauge(metrics.registry, db, clock)
  const connections = new ConnectionStore({ db, keyring, clock, audit })
  const sessions = new ConnectSessions({ db, keyring, clock })
  const timings: Timings = {
    ...FRESH_TOKEN_TIMINGS,
    ...REVOCATION_TIMINGS,
    connectionCacheMaxAgeMs: MAX_AGE_MS,
    ...deps.timings,
  }
  const cache = new ConnectionCache(deps.changes, timings.connectionCacheMaxAgeMs)
  const flow = { store: connections, cache, providers: config.providers, clock, metrics, log, network }
  const revocationQueue = new RevocationQueue({ ...flow, db, keyring, timings })
  const freshTokens = new FreshTokens({
    ...flow,
    db,
    audit,
    timings,
    changes: deps.changes,
    revocationQueue,
    forceRefreshMinIntervalSeconds: config.forceRefreshMinIntervalSeconds,
  })
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
  const revocations = new Revocations({ ...flow, db, audit, queue: revocationQueue })
  const pending = new PendingGrants({ db, keyring, clock })
  const confirmations = new Confirmations({
    ...flow,
    db,
    sessions,
    pending,
    revocations,
    audit,
    sessionTtlSeconds: config.connectSessionTtlSeconds,
  })
  const connect = new Connect({ ...flow, sessions, confirmations, config })
  return {
    network,
    connections,
    connect,
    freshTokens,
    revocations,
    revocationQueue,
    refresher,
    confirmations,
    pending,
  }
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
  const { audit, clients, keys } = core
  const { refresher, confirmations, revocationQueue, freshTokens } = connectionServices
  const retention = new Retention(core.db, core.clock, core.log)
  for (const rule of brokerPurgeRules(config.auditRetentionDays)) retention.add(rule)
  retention.add(webhookPurgeRule(webhookServices.deliveries, config.webhookRetentionDays))
  let sweepTimer: NodeJS.Timeout | undefined
  return {
    ...core,
    ...connectionServices,
    retention,
    ...webhookServices,
    migrations: readMigrations(),
    async start() {
      await keys.ensureKey()
      await clients.secrets.ready()
      if (config.bootstrap) await clients.upsertBootstrap(config.bootstrap)
      audit.start()
      await Promise.all([clients.start(deps.changes), keys.start(deps.changes)])
      refresher.start()
      revocationQueue.start()
      retention.start(10 * 60_000)
      // Unconfirmed grants are discarded (and revoked) within a minute of their session's expiry.
      sweepTimer = setInterval(() => void confirmations.sweep().catch(() => undefined), 60_000)
      sweepTimer.unref()
      webhookServices.deliveryWorker.start(deps.changes)
    },
    async stop() {
      clearInterval(sweepTimer)
      await retention.stop()
      await Promise.all([refresher.stop(), webhookServices.deliveryWorker.stop()])
      await dispatcher.close()
      await revocationQueue.stop()
      // Tokens a provider already issued are written before the pool closes.
      await freshTokens.drain()
      keys.stop()
      clients.stop()
      await audit.stop()
      await network.close()
    },
  }
}
