// Prometheus metrics, one registry per app instance (tests build several apps per process).
// The process and Node.js metrics keep their standard names (process_cpu_seconds_total,
// nodejs_eventloop_lag_seconds, ...) so stock dashboards work; the broker's own start with
// `broker_`. docs/grafana-dashboard.json and docs/prometheus-alerts.yml use these names
// (test/metrics-docs.test.ts checks each exists).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { VERSION } from './version.js'

export class Metrics {
  readonly registry = new Registry()

  readonly httpRequests = new Counter({
    name: 'broker_http_requests_total',
    help: 'HTTP requests answered, by route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  })

  readonly httpDuration = new Histogram({
    name: 'broker_http_request_duration_seconds',
    help: 'HTTP request duration, by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })

  /** One family for issued and refused broker tokens: a ratio needs no second name. */
  readonly brokerTokens = new Counter({
    name: 'broker_tokens_total',
    help:
      'Broker tokens by outcome: issued at /oauth/token, or refused there (invalid_client) ' +
      'or on /v1 (invalid_token, insufficient_scope)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  readonly auditEventsDropped = new Counter({
    name: 'broker_audit_events_dropped_total',
    help: 'Audit events dropped because the database stayed unavailable and the buffer was full',
    registers: [this.registry],
  })

  readonly auditBuffer = new Gauge({
    name: 'broker_audit_events_buffered',
    help: 'Audit events waiting to be written',
    registers: [this.registry],
  })

  readonly slowHashes = new Counter({
    name: 'broker_secret_slow_hashes_total',
    help: 'scrypt runs for client secrets (operator-chosen secrets and not yet migrated hashes only)',
    registers: [this.registry],
  })

  readonly tokensVended = new Counter({
    name: 'broker_provider_tokens_vended_total',
    help: 'Provider access tokens handed out to service clients',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  })

  readonly refreshes = new Counter({
    name: 'broker_refreshes_total',
    help: 'Refreshes at providers, by outcome (success, grant, configuration, transient)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly refreshWriteRetries = new Counter({
    name: 'broker_refresh_write_retries_total',
    help: 'Refreshed tokens whose first write failed, by final outcome (stored, lost)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  readonly proactiveRefreshes = new Counter({
    name: 'broker_proactive_refreshes_total',
    help: 'Background refreshes, by outcome (refreshed, or the error code)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  /** Refresh lag shows as a pass that has not completed for much longer than REFRESH_INTERVAL_SECONDS. */
  readonly proactiveRefreshLastPass = new Gauge({
    name: 'broker_proactive_refresh_last_pass_timestamp_seconds',
    help: 'When this replica last completed a proactive refresh pass (Unix time)',
    registers: [this.registry],
  })

  readonly connectAttempts = new Counter({
    name: 'broker_connect_attempts_total',
    help: 'Connect callbacks, by provider and outcome (connected or the error code)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly revocations = new Counter({
    name: 'broker_revocations_total',
    help: 'Revocations at providers, by token kind and outcome',
    labelNames: ['provider', 'token', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly providerSlotWaits = new Counter({
    name: 'broker_provider_slot_waits_total',
    help: 'Provider calls that found every slot of the provider bulkhead taken (PROVIDER_CONCURRENCY), by outcome',
    labelNames: ['provider', 'priority', 'outcome'] as const,
    registers: [this.registry],
  })

  readonly providerRequests = new Histogram({
    name: 'broker_provider_request_duration_seconds',
    help:
      'Calls to providers, by operation (code_exchange, refresh, revocation, credentials) and ' +
      'outcome (http_2xx, http_4xx, http_5xx, ..., or timeout, network_error, ...)',
    labelNames: ['provider', 'operation', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  })

  readonly buildInfo = new Gauge({
    name: 'broker_build_info',
    help: 'Always 1; the labels say which build runs',
    labelNames: ['version', 'node_version'] as const,
    registers: [this.registry],
  })

  readonly webhookDeliveries = new Counter({
    name: 'broker_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (delivered, retrying, failed, dropped)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  /** Set by the webhook delivery worker: reads the oldest due delivery's age at scrape time. */
  webhookOldestDueProbe: (() => Promise<number>) | undefined

  readonly webhookOldestDue = new Gauge({
    name: 'broker_webhook_oldest_due_delivery_age_seconds',
    help: 'How long the oldest due webhook delivery has waited (0: none waits)',
    registers: [this.registry],
    collect: async () => {
      const age = await this.webhookOldestDueProbe?.().catch(() => undefined)
      if (age !== undefined) this.webhookOldestDue.set(age)
    },
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry })
    this.buildInfo.set({ version: VERSION, node_version: process.version }, 1)
  }
}
