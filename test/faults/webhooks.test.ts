// Webhook deliveries under faults, with the broker as separate processes (`node dist/main.js`,
// built first): receivers that hang, reset the connection or answer 1 GB; a replica killed
// with SIGKILL between the commit of an event and its delivery; two replicas sharing the
// work. Signatures are checked with the `standardwebhooks` package.
//
// Expected: a bad receiver is retried on the schedule and then failed, while the other
// endpoints and the API stay fast; an event whose sender died is delivered later with the
// same webhook-id; with two replicas every event arrives, and a duplicate only ever carries
// the webhook-id of the first copy.
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, ENCRYPTION_KEY, freePort, writeProvidersFile } from '../support/broker.js'
import { createDatabase } from '../support/db.js'
import { spawnBroker, type BrokerProcess } from '../support/process.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'

// Imports need no provider call: the provider is never reached.
const idp = {
  authorizationUrl: 'http://127.0.0.1:1/auth',
  tokenUrl: 'http://127.0.0.1:1/token',
  clientId: 'c',
  clientSecret: 's',
  scopes: ['openid'],
}
let database: { url: string; drop(): Promise<void> }
let receiver: Receiver
const running: BrokerProcess[] = []
const providersFile = writeProvidersFile({ idp })

beforeAll(async () => {
  database = await createDatabase()
  receiver = await startReceiver()
})
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')))
  await receiver?.close()
  await database?.drop()
})

async function replica(timeoutMs = 1000): Promise<BrokerProcess> {
  const port = await freePort()
  const broker = spawnBroker({
    port,
    env: {
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: database.url,
      ENCRYPTION_KEY,
      PROVIDERS_FILE: providersFile,
      BOOTSTRAP_CLIENT_ID: BOOTSTRAP_ID,
      BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP_SECRET,
      BOOTSTRAP_WEBHOOK_URLS: `${receiver.url}/hooks`,
      WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.2,0.2',
      WEBHOOK_TIMEOUT_MS: String(timeoutMs),
      LOG_LEVEL: 'warn',
    },
  })
  running.push(broker)
  await broker.waitReady()
  return broker
}

const tokens = new Map<BrokerProcess, Promise<string>>()

async function tokenOf(broker: BrokerProcess): Promise<string> {
  const basic = Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

async function call(broker: BrokerProcess, method: string, path: string, body?: unknown) {
  if (!tokens.has(broker)) tokens.set(broker, tokenOf(broker))
  const access_token = await tokens.get(broker)!
  const res = await fetch(`${broker.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${access_token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

async function endpoint(broker: BrokerProcess, path: string): Promise<{ id: string; secret: string }> {
  const res = await call(broker, 'POST', '/v1/webhook-endpoints', { url: `${receiver.url}${path}`, events: ['*'] })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body
}

async function imported(broker: BrokerProcess, ownerId: string): Promise<string> {
  const credentials = { accessToken: `at-${Math.random()}` }
  const res = await call(broker, 'POST', '/v1/connections', { provider: 'idp', ownerId, credentials })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.id
}

async function deliveriesOf(broker: BrokerProcess, endpointId: string) {
  const res = await call(broker, 'GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=200`)
  return res.body.items as Array<{ eventId: string; attempt: number; responseStatus: number | null; error: string }>
}

describe('bad receivers', () => {
  it('hang, reset or 1 GB: retried or failed as specified, while the rest stays fast', async () => {
    const broker = await replica(1000)
    const bad = { hang: 'hang', reset: 'reset', huge: 'huge' } as const
    const endpoints: Record<string, { id: string; secret: string }> = {}
    for (const [name, behaviour] of Object.entries(bad)) {
      receiver.behave(`/hooks/${name}`, behaviour)
      endpoints[name] = await endpoint(broker, `/hooks/${name}`)
    }
    endpoints.ok = await endpoint(broker, '/hooks/ok')
    const started = Date.now()
    for (let i = 0; i < 5; i++) await imported(broker, `bad-${i}`)
    // The healthy endpoint hears every event at once, the hanging one notwithstanding.
    await receiver.waitFor(() => receiver.at('/hooks/ok').length === 5, 5000)
    expect(Date.now() - started).toBeLessThan(3000)
    const apiStarted = Date.now()
    expect((await call(broker, 'GET', '/v1/connections')).status).toBe(200)
    expect(Date.now() - apiStarted).toBeLessThan(1000)
    for (const r of receiver.at('/hooks/ok'))
      expect(() => new Webhook(endpoints.ok!.secret).verify(r.body, r.headers)).not.toThrow()

    // Three attempts each (the first, one after each delay), then failed.
    await receiver.waitFor(() => receiver.at('/hooks/hang').length === 15 && receiver.at('/hooks/reset').length === 15)
    await new Promise((r) => setTimeout(r, 2000))
    const hang = await deliveriesOf(broker, endpoints.hang!.id)
    expect(hang).toHaveLength(15)
    expect(new Set(hang.map((a) => a.error))).toEqual(new Set(['timeout']))
    const reset = await deliveriesOf(broker, endpoints.reset!.id)
    expect(reset).toHaveLength(15)
    expect(new Set(reset.map((a) => a.error))).toEqual(new Set(['connection_reset']))
    // 1 GB with a 200: delivered at the first attempt, and only a little of it was read.
    const huge = await deliveriesOf(broker, endpoints.huge!.id)
    expect(huge.map((a) => [a.attempt, a.responseStatus])).toEqual(new Array(5).fill([1, 200]))
    expect(receiver.hugeBytesSent()).toBeLessThan(64 * 1024 ** 2)
    const metrics = await (await fetch(`${broker.url}/metrics`)).text()
    expect(metrics).toMatch(/broker_webhook_deliveries_total\{outcome="failed"\} 10\b/)
    await broker.stop()
  }, 60_000)
})

describe('replicas', () => {
  it('an event whose replica was killed after the commit is delivered later, with the same webhook-id', async () => {
    const first = await replica(3000)
    receiver.behave('/hooks/killed', 'hang')
    const { secret } = await endpoint(first, '/hooks/killed')
    await imported(first, 'killed-1')
    await receiver.waitFor(() => receiver.at('/hooks/killed').length === 1, 5000)
    first.proc.kill('SIGKILL')
    await first.exited
    receiver.behave('/hooks/killed', 'ok')
    const second = await replica(3000)
    // The dead replica's lease (timeout + 5 s) runs out; the other replica takes over.
    await receiver.waitFor(() => receiver.at('/hooks/killed').length === 2, 20_000)
    const [sent, again] = receiver.at('/hooks/killed')
    expect(again!.id).toBe(sent!.id)
    expect(again!.body).toBe(sent!.body)
    expect(() => new Webhook(secret).verify(again!.body, again!.headers)).not.toThrow()
    await second.stop()
  }, 60_000)

  it('two replicas deliver every event; a duplicate has the same webhook-id', async () => {
    const a = await replica()
    const b = await replica()
    const { secret } = await endpoint(a, '/hooks/many')
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => imported(i % 2 ? a : b, `many-${i}`)))
    const seen = () => new Set(receiver.at('/hooks/many').map((r) => r.id))
    await receiver.waitFor(() => seen().size === 60, 20_000)
    const byId = new Map<string, string>()
    for (const r of receiver.at('/hooks/many')) {
      const event = new Webhook(secret).verify(r.body, r.headers) as { data: { connectionId: string } }
      // A repeated webhook-id always carries the same event.
      expect(byId.get(r.id) ?? event.data.connectionId).toBe(event.data.connectionId)
      byId.set(r.id, event.data.connectionId)
    }
    expect(new Set(byId.values())).toEqual(new Set(ids))
    await Promise.all([a.stop(), b.stop()])
  }, 60_000)
})
