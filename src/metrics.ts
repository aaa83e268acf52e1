// Prometheus metrics, one registry per app instance (tests build several apps per process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

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

  readonly brokerTokens = new Counter({
    name: 'broker_tokens_issued_total',
    help: 'Broker tokens issued at /oauth/token',
    registers: [this.registry],
  })

  readonly brokerTokenFailures = new Counter({
    name: 'broker_token_failures_total',
    help: 'Refused /oauth/token requests and refused broker tokens, by reason',
    labelNames: ['reason'] as const,
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
    collectDefaultMetrics({ register: this.registry, prefix: 'broker_' })
  }
}
