// Which events an endpoint gets, and which paths write them: only events after the
// endpoint was created; none of a namespace its client lost between the event and its
// delivery; connection.reauthorization_required from the proactive refresher too. Real
// broker, real authorization server, a receiver on 127.0.0.1.
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, registeredClient, type Api } from '../support/connect.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'
import { recordLifecycleEvent } from '../../src/webhooks/lifecycle-events.js'

let as: AuthorizationServer
let broker: TestBroker
let receiver: Receiver
let api: Api

beforeAll(async () => {
  receiver = await startReceiver()
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    providers: { idp: providerEntryFor(as, { pkce: true }) },
    // One retry, a second after the first attempt: time to take a namespace away.
    env: { BOOTSTRAP_WEBHOOK_URLS: `${receiver.url}/hooks`, WEBHOOK_RETRY_SCHEDULE_SECONDS: '1' },
    timings: { webhookPollIntervalMs: 100 },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await as?.close()
  await receiver?.close()
})

async function endpoint(path: string, caller = api) {
  const res = await caller('POST', '/v1/webhook-endpoints', { url: `${receiver.url}${path}`, events: ['*'] })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body as { id: string; secret: string }
}

/** Tokens the authorization server never issued: a refresh of them is refused (invalid_grant). */
async function imported(ownerId: string, namespace?: string): Promise<string> {
  const credentials = { accessToken: `at-${Math.random()}`, refreshToken: `rt-${Math.random()}` }
  const res = await api('POST', '/v1/connections', { provider: 'idp', ownerId, credentials, namespace })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.id as string
}

type Event = { type: string; data: { connectionId: string; sequence: number; status: string } }
const received = (path: string, secret: string) =>
  receiver.at(path).map((r) => new Webhook(secret).verify(r.body, r.headers) as Event)
const written = async (connectionId: string) =>
  (await broker.db.prisma.webhookEvent.findMany({ where: { connectionId }, orderBy: { sequence: 'asc' } })).map(
    (e) => e.type,
  )

describe('which events an endpoint gets', () => {
  it('only those that happen after it was created', async () => {
    const before = await imported('early')
    const { secret } = await endpoint('/hooks/late')
    expect((await api('DELETE', `/v1/connections/${before}`)).status).toBe(204)
    await receiver.waitFor(() => receiver.at('/hooks/late').length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(received('/hooks/late', secret).map((e) => [e.type, e.data.connectionId, e.data.sequence])).toEqual([
      ['connection.deleted', before, 2],
    ])
  })

  /**
   * An event written while the client may have it; before its retry (a second after the
   * first attempt failed) an admin changes the client with `change`. The attempts made.
   */
  async function changedBeforeRetry(name: string, change: Record<string, unknown>) {
    const path = `/hooks/${name}`
    const team = await registeredClient(broker, api, {
      name,
      scopes: ['webhooks:write'],
      namespaces: [name],
      allowedReturnUrls: [],
      allowedWebhookUrls: [`${receiver.url}${path}`],
    })
    receiver.behave(path, 'status500')
    const { id: endpointId } = await endpoint(path, team)
    const clientId = (await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })).clientId
    await imported(name, name)
    await receiver.waitFor(() => receiver.at(path).length === 1)
    expect((await api('PATCH', `/v1/service-clients/${clientId}`, change)).status).toBe(200)
    receiver.behave(path, 'ok')
    const status = async () =>
      (await broker.db.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId } })).status
    for (let i = 0; i < 50 && (await status()) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 100))
    expect(await status()).toBe('failed')
    // Never sent again.
    expect(receiver.at(path)).toHaveLength(1)
    const attempts = await broker.db.prisma.webhookAttempt.findMany({
      where: { delivery: { endpointId } },
      orderBy: { attempt: 'asc' },
    })
    return attempts.map((a) => [a.attempt, a.responseStatus, a.error])
  }

  it('none of a namespace its client lost after the event was written', async () => {
    expect(await changedBeforeRetry('team-lost', { namespaces: ['team-other'] })).toEqual([
      [1, 500, null],
      [2, null, 'namespace_not_held'],
    ])
    const metrics = await (await fetch(`${broker.url}/metrics`)).text()
    expect(metrics).toMatch(/broker_webhook_deliveries_total\{outcome="dropped"\} [1-9]/)
  })

  it('none to a URL an admin took off the allowed webhook URLs after the event was written', async () => {
    const elsewhere = { allowedWebhookUrls: [`${receiver.url}/hooks/elsewhere`] }
    expect(await changedBeforeRetry('team-narrowed', elsewhere)).toEqual([
      [1, 500, null],
      [2, null, 'url_not_allowed'],
    ])
  })
})

describe('which paths write events', () => {
  it('the proactive refresher meeting a refused grant: connection.reauthorization_required', async () => {
    const id = await imported('refresher')
    await broker.db.pool.query(
      `UPDATE connections SET token_obtained_at = now() - interval '3480 seconds',
         expires_at = now() + interval '120 seconds' WHERE id = $1`,
      [id],
    )
    const pass = await broker.app.services.refresher.tick()
    expect(pass.claimed).toBeGreaterThanOrEqual(1)
    expect((await api('GET', `/v1/connections/${id}`)).body.status).toBe('reauthorization_required')
    expect(await written(id)).toEqual(['connection.created', 'connection.reauthorization_required'])
  })
  it('a grant found gone twice (two callers on the same stale row) is announced once', async () => {
    const id = await imported('twice')
    const store = broker.app.services.connections
    const row = (await store.get(id))!
    for (let i = 0; i < 2; i++)
      await broker.db.prisma.$transaction((tx) => store.requireReauthorization(tx, row, 'no_refresh_token', 'test'))
    expect(await written(id)).toEqual(['connection.created', 'connection.reauthorization_required'])
  })
  it('an event written in a change that rolls back is gone with it', async () => {
    const id = await imported('rolled-back')
    const row = (await broker.app.services.connections.get(id))!
    const deliveries = () => broker.db.prisma.webhookDelivery.count({ where: { event: { connectionId: id } } })
    const before = await deliveries()
    const failing = broker.db.prisma.$transaction(async (tx) => {
      await recordLifecycleEvent(tx, 'connection.reauthorized', row)
      expect(await tx.webhookEvent.count({ where: { connectionId: id } })).toBe(2)
      throw new Error('the change fails after its event was written')
    })
    await expect(failing).rejects.toThrow('the change fails')
    expect(await written(id)).toEqual(['connection.created'])
    expect(await deliveries()).toBe(before)
  })
})

// Last in the file: it stops this broker's delivery worker.
describe('the oldest due delivery', () => {
  it('is measured in seconds waited, for the alert on a stuck backlog', async () => {
    await broker.app.services.deliveryWorker.stop()
    const { id: endpointId } = await endpoint('/hooks/waiting')
    await imported('waiting')
    const since = new Date(Date.now() - 90_000)
    expect(
      (await broker.db.prisma.webhookDelivery.updateMany({ where: { endpointId }, data: { nextAttemptAt: since } }))
        .count,
    ).toBe(1)
    const metrics = await (await fetch(`${broker.url}/metrics`)).text()
    const age = Number(/^broker_webhook_oldest_due_delivery_age_seconds (\S+)$/m.exec(metrics)![1])
    expect(age).toBeGreaterThanOrEqual(90)
    expect(age).toBeLessThan(120)
  })
})
