// The delivery worker, one per replica. It claims due deliveries (delivery-store.ts), sends
// each without holding a transaction, and records every attempt. A change notification
// (an event committed anywhere, a redelivery) wakes it at once; a poll is the backstop.
// At most `concurrency` sends are in flight, so a hanging receiver holds one slot for
// at most the timeout and never the rest of the broker.
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { Metrics } from '../metrics.js'
import { isWebhookUrlAllowed } from '../service-clients/webhook-urls.js'
import type { ChangeFeed } from '../store/changes.js'
import type { ClaimedDelivery, DeliveryStore, Outcome } from './delivery-store.js'
import { sendWebhook } from './sender.js'
import { signatureHeader } from './signing.js'

/** The log line's `event` when an endpoint is disabled for failing (alerting matches on it). */
export const ENDPOINT_DISABLED_EVENT = 'webhook.endpoint_disabled'

export interface DeliveryOptions {
  /** Delays between attempts, in seconds (WEBHOOK_RETRY_SCHEDULE_SECONDS). */
  retryScheduleSeconds: number[]
  timeoutMs: number
  /** The backstop poll. Default 1000. */
  pollIntervalMs?: number
  /** Sends in flight per replica. Default 16. */
  concurrency?: number
  /** An endpoint failing every attempt for this long is disabled. Default 5 days. */
  disableAfterSeconds?: number
}

export interface DeliveryDeps {
  store: DeliveryStore
  /** Opens a sealed endpoint secret (webhook-endpoints.ts). */
  openSecret: (endpointId: string, column: 'secret' | 'previous_secret', sealed: string) => string
  dispatcher: Dispatcher
  metrics: Metrics
  log: Logger
  options: DeliveryOptions
}

/** The next state after a failed attempt: a retry after the schedule's delay (with up to 20 % jitter), or failed. */
export function afterFailure(attempt: number, schedule: number[], random = Math.random): Outcome {
  const delay = schedule[attempt - 1]
  if (delay === undefined) return { status: 'failed' }
  return { status: 'pending', retryInSeconds: delay * (1 + 0.2 * random()) }
}

export class DeliveryWorker {
  private inFlight = new Set<Promise<void>>()
  private passing = false
  private again = false
  private stopped = true
  private timer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined

  constructor(private deps: DeliveryDeps) {}

  private get concurrency(): number {
    return this.deps.options.concurrency ?? 16
  }

  /** Longer than one attempt can take: a lease that runs out means its replica died. */
  private get leaseSeconds(): number {
    return Math.ceil(this.deps.options.timeoutMs / 1000) + 5
  }

  start(changes: ChangeFeed | undefined): void {
    this.stopped = false
    this.unsubscribe = changes?.subscribe((c) => {
      if (c.topic === 'webhook' || c.topic === '*') this.wake()
    })
    this.timer = setInterval(() => this.wake(), this.deps.options.pollIntervalMs ?? 1000)
    this.timer.unref()
    this.deps.metrics.webhookOldestDueProbe = () => this.deps.store.oldestDueAgeSeconds()
    this.wake()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    this.unsubscribe?.()
    await Promise.allSettled([...this.inFlight])
  }

  wake(): void {
    if (this.stopped) return
    if (this.passing) {
      this.again = true
      return
    }
    this.passing = true
    void this.pass()
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, 'webhook delivery pass failed'))
      .finally(() => {
        this.passing = false
      })
  }

  /** Claims as many deliveries as there are free slots, until none is due or no slot is free. */
  private async pass(): Promise<void> {
    do {
      this.again = false
      const free = this.concurrency - this.inFlight.size
      if (free <= 0 || this.stopped) return
      const claimed = await this.deps.store.claim(free, this.leaseSeconds)
      for (const delivery of claimed) {
        const sending: Promise<void> = this.deliver(delivery)
          .catch((err: Error) =>
            this.deps.log.warn({ err: err.message, eventId: delivery.eventId }, 'webhook attempt not recorded'),
          )
          .finally(() => {
            this.inFlight.delete(sending)
            this.wake()
          })
        this.inFlight.add(sending)
      }
      if (claimed.length === free) this.again = true
    } while (this.again && !this.stopped)
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const { store, metrics, options } = this.deps
    // The client lost the event's namespace, or an admin took the endpoint's URL off the
    // client's allowed webhook URLs, after the event was written: never sent.
    const refused = !delivery.held
      ? 'namespace_not_held'
      : !isWebhookUrlAllowed(delivery.url, delivery.allowedUrls)
        ? 'url_not_allowed'
        : undefined
    if (refused) {
      await store.record(delivery, { error: refused, durationMs: 0 }, { status: 'failed' })
      metrics.webhookDeliveries.inc({ outcome: 'dropped' })
      return
    }
    const timestamp = Math.floor(Date.now() / 1000)
    const secrets = [this.deps.openSecret(delivery.endpointId, 'secret', delivery.secret)]
    if (delivery.previousSecret)
      secrets.push(this.deps.openSecret(delivery.endpointId, 'previous_secret', delivery.previousSecret))
    const headers = {
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(secrets, delivery.eventId, timestamp, delivery.body),
    }
    const target = { url: delivery.url, headers, body: delivery.body }
    const result = await sendWebhook(target, { dispatcher: this.deps.dispatcher, timeoutMs: options.timeoutMs })
    const ok = result.responseStatus !== undefined && result.responseStatus >= 200 && result.responseStatus < 300
    const outcome: Outcome = ok ? { status: 'delivered' } : afterFailure(delivery.attempt, options.retryScheduleSeconds)
    await store.record(delivery, result, outcome)
    metrics.webhookDeliveries.inc({ outcome: outcome.status === 'pending' ? 'retrying' : outcome.status })
    if (ok) return store.endpointSucceeded(delivery.endpointId)
    const disabled = await store.endpointFailed(delivery.endpointId, options.disableAfterSeconds ?? 5 * 86_400)
    if (disabled)
      this.deps.log.warn(
        { event: ENDPOINT_DISABLED_EVENT, endpointId: delivery.endpointId },
        'webhook endpoint disabled: every delivery attempt failed for days',
      )
  }
}
