// Lifecycle events as webhooks, end to end on one in-process broker: a real connect flow
// (oidc-provider), real receivers on 127.0.0.1, signatures checked with the
// `standardwebhooks` package itself. Short retry delays keep the file quick; the receivers
// that hang, reset, answer 1 GB and the multi-replica cases are in test/faults/webhooks.test.ts.
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, connectUser, registeredClient, type Api } from '../support/connect.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'

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
    env: {
      BOOTSTRAP_WEBHOOK_URLS: `${receiver.url}/hooks`,
      WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.1,0.1',
      WEBHOOK_TIMEOUT_MS: '2000',
      // The forced refresh that meets the revoked grant must reach the provider.
      FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
    },
    timings: { webhookPollIntervalMs: 100 },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await as?.close()
  await receiver?.close()
})

async function endpoint(path: string, extra: Record<string, unknown> = {}, caller = api) {
  const res = await caller('POST', '/v1/webhook-endpoints', { url: `${receiver.url}${path}`, events: ['*'], ...extra })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
  return res.body as { id: string; secret: string; namespaces: string[] }
}

async function imported(ownerId: string, namespace?: string, caller = api): Promise<string> {
  const credentials = { accessToken: `at-${Math.random()}`, refreshToken: `rt-${Math.random()}` }
  const res = await caller('POST', '/v1/connections', { provider: 'idp', ownerId, credentials, namespace })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.id as string
}

interface LifecycleEvent {
  type: string
  timestamp: string
  data: { connectionId: string; status: string; sequence: number; [field: string]: unknown }
}

/** The events that reached `path` about one connection, verified with the standardwebhooks library. */
function eventsAt(path: string, secret: string, connectionId: string) {
  return receiver
    .at(path)
    .map((r) => ({ r, event: new Webhook(secret).verify(r.body, r.headers) as LifecycleEvent }))
    .filter(({ event }) => event.data.connectionId === connectionId)
}

describe('lifecycle events', () => {
  it('announces each step of a connection, signed, sequenced, without a token', async () => {
    const { secret } = await endpoint('/hooks/life')
    const id = await connectUser(api, as, { provider: 'idp', ownerId: 'alice' })
    as.fault('invalid_grant')
    const refused = await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
    expect(refused.status).toBe(409)
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
    await receiver.waitFor(() => eventsAt('/hooks/life', secret, id).length === 3)
    const events = eventsAt('/hooks/life', secret, id).map(({ event }) => event)
    events.sort((a, b) => a.data.sequence - b.data.sequence)
    expect(events.map((e) => [e.type, e.data.status, e.data.sequence])).toEqual([
      ['connection.created', 'active', 1],
      ['connection.reauthorization_required', 'reauthorization_required', 2],
      ['connection.deleted', 'deleted', 3],
    ])
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(['data', 'timestamp', 'type'])
      expect(Object.keys(e.data).sort()).toEqual([
        'connectionId',
        'namespace',
        'ownerId',
        'provider',
        'sequence',
        'status',
      ])
      expect(e.data).toMatchObject({ provider: 'idp', ownerId: 'alice', namespace: 'default' })
    }
    // Three events, three webhook-ids; never a token or secret in what was sent.
    const sent = eventsAt('/hooks/life', secret, id).map(({ r }) => r)
    expect(new Set(sent.map((r) => r.id)).size).toBe(3)
    for (const r of sent) expect(r.body).not.toMatch(/token|secret|at-|rt-/i)
  })

  it('a denied or failed connect emits no connection.created', async () => {
    await endpoint('/hooks/denied')
    const before = await broker.db.prisma.webhookEvent.count()
    for (const fault of ['deny', 'exchange'] as const) {
      const created = await api('POST', '/v1/connect-sessions', {
        provider: 'idp',
        ownerId: `bob-${fault}`,
        returnUrl: 'https://app.example.com/connected',
      })
      const browser = new Browser()
      const start = await browser.get(created.body.connectUrl)
      const callback = await as.authorize(start.headers.get('location')!, { deny: fault === 'deny' })
      if (fault === 'exchange') as.fault('invalid_grant')
      const back = new URL((await browser.get(callback)).headers.get('location')!)
      expect(back.searchParams.get('status')).toBe('error')
    }
    await new Promise((r) => setTimeout(r, 300))
    expect(await broker.db.prisma.webhookEvent.count()).toBe(before)
    expect(receiver.at('/hooks/denied')).toEqual([])
  })
})

describe('delivery', () => {
  it('retries a failing receiver with the same webhook-id, then records the delivery as failed', async () => {
    receiver.behave('/hooks/fail', 'status500')
    const { id: endpointId } = await endpoint('/hooks/fail', { events: ['connection.created'] })
    const connectionId = await imported('carol')
    // The first attempt and one after each of the two delays.
    await receiver.waitFor(() => receiver.at('/hooks/fail').length === 3)
    expect(new Set(receiver.at('/hooks/fail').map((r) => r.id)).size).toBe(1)
    await receiver.waitFor(() => false, 400).catch(() => undefined)
    expect(receiver.at('/hooks/fail')).toHaveLength(3)
    const delivery = await broker.db.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId } })
    expect(delivery).toMatchObject({ status: 'failed', attempts: 3 })
    const attempts = await api('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`)
    expect(
      attempts.body.items.map((a: { attempt: number; responseStatus: number }) => [a.attempt, a.responseStatus]),
    ).toEqual([
      [3, 500],
      [2, 500],
      [1, 500],
    ])
    expect(JSON.stringify(attempts.body)).not.toContain('boom')
    const metrics = await (await fetch(`${broker.url}/metrics`)).text()
    expect(metrics).toMatch(/broker_webhook_deliveries_total\{outcome="failed"\} [1-9]/)
    expect(metrics).toMatch(/broker_webhook_oldest_due_delivery_age_seconds \d/)
    expect(connectionId).toMatch(/^conn_/)
  })

  it('does not follow a redirect', async () => {
    receiver.behave('/hooks/moved', 'redirect')
    const { id: endpointId } = await endpoint('/hooks/moved', { events: ['connection.created'] })
    await imported('dave')
    await receiver.waitFor(() => receiver.at('/hooks/moved').length === 3)
    await new Promise((r) => setTimeout(r, 300))
    expect(receiver.at('/hooks/moved/redirected')).toEqual([])
    const attempts = await api('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`)
    expect(attempts.body.items.every((a: { responseStatus: number }) => a.responseStatus === 302)).toBe(true)
  })

  it('signs with both secrets for the overlap after a rotation, then with the new one only', async () => {
    const { id: endpointId, secret: old } = await endpoint('/hooks/rotate')
    const rotated = await api('POST', `/v1/webhook-endpoints/${endpointId}/rotate-secret`, {})
    expect(rotated.status).toBe(200)
    const fresh = rotated.body.secret as string
    expect(fresh).not.toBe(old)
    const during = await imported('erin')
    await receiver.waitFor(() => eventsAt('/hooks/rotate', fresh, during).length === 1)
    const [overlap] = eventsAt('/hooks/rotate', fresh, during)
    expect(overlap!.r.signature.split(' ')).toHaveLength(2)
    expect(() => new Webhook(old).verify(overlap!.r.body, overlap!.r.headers)).not.toThrow()
    // The 24 hours are over.
    await broker.db.prisma.webhookEndpoint.update({
      where: { id: endpointId },
      data: { previousSecretExpiresAt: new Date(Date.now() - 1000) },
    })
    const after = await imported('erin-2')
    await receiver.waitFor(() => eventsAt('/hooks/rotate', fresh, after).length === 1)
    const [late] = eventsAt('/hooks/rotate', fresh, after)
    expect(late!.r.signature.split(' ')).toHaveLength(1)
    expect(() => new Webhook(old).verify(late!.r.body, late!.r.headers)).toThrow()
  })
})

describe('endpoints', () => {
  it('refuses URLs outside allowedWebhookUrls and reserved addresses', async () => {
    for (const url of [`${receiver.url}/elsewhere`, 'http://169.254.169.254/hooks', 'ftp://127.0.0.1/hooks']) {
      const res = await api('POST', '/v1/webhook-endpoints', { url, events: ['*'] })
      expect([res.status, res.body.code], url).toEqual([400, 'invalid_webhook_url'])
    }
    const clients = await api('GET', '/v1/service-clients')
    const clientId = clients.body.items[0].clientId as string
    for (const url of ['http://169.254.169.254/latest', 'http://[::]/x', 'http://224.0.0.1/x', 'http://0.0.0.0/x']) {
      const res = await api('PATCH', `/v1/service-clients/${clientId}`, { allowedWebhookUrls: [url] })
      expect([res.status, res.body.code], url).toEqual([400, 'invalid_webhook_url'])
    }
  })

  it("keeps to the client's namespaces, and goes with the client", async () => {
    const team = await registeredClient(broker, api, {
      name: 'team-a',
      scopes: ['webhooks:write'],
      namespaces: ['team-a'],
      allowedReturnUrls: [],
      allowedWebhookUrls: [`${receiver.url}/hooks/team-a`],
    })
    const beyond = await team('POST', '/v1/webhook-endpoints', {
      url: `${receiver.url}/hooks/team-a`,
      events: ['*'],
      namespaces: ['team-b'],
    })
    expect([beyond.status, beyond.body.code]).toEqual([403, 'namespace_forbidden'])
    const own = await endpoint('/hooks/team-a', {}, team)
    expect(own.namespaces).toEqual(['team-a'])
    // Another client's endpoint is a missing one.
    expect((await api('GET', `/v1/webhook-endpoints/${own.id}`)).body.code).toBe('webhook_endpoint_not_found')
    const inA = await imported('frank', 'team-a')
    const inB = await imported('frank', 'team-b')
    await receiver.waitFor(() => eventsAt('/hooks/team-a', own.secret, inA).length === 1)
    await new Promise((r) => setTimeout(r, 300))
    expect(eventsAt('/hooks/team-a', own.secret, inB)).toEqual([])
    // The client loses team-a: its endpoint hears nothing more of it.
    const clientId = (await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: own.id } })).clientId
    expect((await api('PATCH', `/v1/service-clients/${clientId}`, { namespaces: ['team-c'] })).status).toBe(200)
    const later = await imported('grace', 'team-a')
    await new Promise((r) => setTimeout(r, 300))
    expect(eventsAt('/hooks/team-a', own.secret, later)).toEqual([])
    expect((await api('DELETE', `/v1/service-clients/${clientId}`)).status).toBe(204)
    expect(await broker.db.prisma.webhookEndpoint.count({ where: { clientId } })).toBe(0)
  })

  it('requires the webhooks:write scope', async () => {
    const reader = apiClient(broker, await broker.token('connections:read'))
    const res = await reader('GET', '/v1/webhook-endpoints')
    expect([res.status, res.body.code]).toEqual([403, 'insufficient_scope'])
  })
})
