// Managing webhook endpoints: list, get, disable and re-enable, delete, the answers for
// unknown or malformed ids; and an endpoint whose deliveries failed for 5 days is disabled
// with a log event, then re-enabled by PATCH.
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fieldContext, generateEncryptionKey, Keyring, parseEncryptionKeys } from '../../src/store/encryption.js'
import { reencryptAll } from '../../src/store/reencrypt.js'
import { ENCRYPTION_KEY, startBroker, type TestBroker } from '../support/broker.js'
import { registerEncryptionKeys } from '../support/secrets.js'
import { apiClient, type Api } from '../support/connect.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'

let broker: TestBroker
let receiver: Receiver
let api: Api

beforeAll(async () => {
  receiver = await startReceiver()
  const idp = { authorizationUrl: 'http://127.0.0.1:1/a', tokenUrl: 'http://127.0.0.1:1/t', clientId: 'c' }
  broker = await startBroker({
    providers: { idp: { ...idp, clientSecret: 's', scopes: ['openid'] } },
    env: { BOOTSTRAP_WEBHOOK_URLS: `${receiver.url}/hooks`, WEBHOOK_RETRY_SCHEDULE_SECONDS: '60' },
    timings: { webhookPollIntervalMs: 100 },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await receiver?.close()
})

async function imported(ownerId: string): Promise<string> {
  const res = await api('POST', '/v1/connections', { provider: 'idp', ownerId, credentials: { accessToken: 'at-x' } })
  expect(res.status).toBe(201)
  return res.body.id
}

const settle = () => new Promise((r) => setTimeout(r, 300))

describe('webhook endpoints', () => {
  it('are listed, read, disabled, re-enabled and deleted; a disabled one receives nothing', async () => {
    const created = await api('POST', '/v1/webhook-endpoints', {
      url: `${receiver.url}/hooks/crud`,
      events: ['connection.created', 'connection.deleted'],
    })
    expect(created.status).toBe(201)
    const { id, secret, ...endpoint } = created.body
    expect(endpoint).toEqual({
      url: `${receiver.url}/hooks/crud`,
      events: ['connection.created', 'connection.deleted'],
      namespaces: ['*'],
      enabled: true,
      createdAt: expect.any(String),
    })
    const listed = await api('GET', '/v1/webhook-endpoints')
    expect(listed.body.items).toContainEqual({ id, ...endpoint })
    expect(JSON.stringify(listed.body)).not.toContain(secret)
    expect((await api('GET', `/v1/webhook-endpoints/${id}`)).body).toEqual({ id, ...endpoint })
    const sealed = await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } })
    expect(sealed.secret).toMatch(/^v1\./)
    expect(sealed.secret).not.toContain(secret.slice(6))

    expect((await api('PATCH', `/v1/webhook-endpoints/${id}`, { enabled: false })).body.enabled).toBe(false)
    await imported('off')
    await settle()
    expect(receiver.at('/hooks/crud')).toEqual([])
    expect((await api('PATCH', `/v1/webhook-endpoints/${id}`, { enabled: true })).body.enabled).toBe(true)
    await imported('on')
    await receiver.waitFor(() => receiver.at('/hooks/crud').length === 1)

    expect((await api('DELETE', `/v1/webhook-endpoints/${id}`)).status).toBe(204)
    for (const [method, path, body] of [
      ['GET', `/v1/webhook-endpoints/${id}`],
      ['PATCH', `/v1/webhook-endpoints/${id}`, { enabled: true }],
      ['DELETE', `/v1/webhook-endpoints/${id}`],
      ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`, {}],
      ['GET', `/v1/webhook-endpoints/${id}/deliveries`],
    ] as const) {
      const res = await api(method, path, body)
      expect([res.status, res.body.code], `${method} ${path}`).toEqual([404, 'webhook_endpoint_not_found'])
    }
  })

  it('refuses malformed ids, bodies and queries with 400', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/webhook-endpoints/bad%20id'],
      ['PATCH', '/v1/webhook-endpoints/whep_x', { enabled: 'yes' }],
      ['DELETE', '/v1/webhook-endpoints/bad%20id'],
      ['POST', '/v1/webhook-endpoints/bad%20id/rotate-secret'],
      ['GET', '/v1/webhook-endpoints/whep_x/deliveries?limit=0'],
      ['POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/x`, events: ['connection.refreshed'] }],
      ['POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/x`, events: ['*', 'connection.created'] }],
    ] as const) {
      const res = await api(method, path, body)
      expect(res.status, `${method} ${path}`).toBe(400)
    }
  })

  it('disables an endpoint whose deliveries failed for 5 days, with a log event; PATCH re-enables it', async () => {
    receiver.behave('/hooks/dead', 'status500')
    const created = await api('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/dead`, events: ['*'] })
    const { id } = created.body
    await imported('dead-1')
    await receiver.waitFor(() => receiver.at('/hooks/dead').length === 1)
    await settle()
    // Still enabled after a failure; the streak began just now.
    expect((await api('GET', `/v1/webhook-endpoints/${id}`)).body.enabled).toBe(true)
    const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000)
    await broker.db.prisma.webhookEndpoint.update({ where: { id }, data: { failingSince: sixDaysAgo } })
    await imported('dead-2')
    await receiver.waitFor(() => receiver.at('/hooks/dead').length === 2)
    await settle()
    expect((await api('GET', `/v1/webhook-endpoints/${id}`)).body.enabled).toBe(false)
    const line = broker.logs.find((l) => l.includes('"event":"webhook.endpoint_disabled"'))
    expect(JSON.parse(line!)).toMatchObject({ level: 40, endpointId: id })
    await imported('dead-3')
    await settle()
    expect(receiver.at('/hooks/dead')).toHaveLength(2)
    expect((await api('PATCH', `/v1/webhook-endpoints/${id}`, { enabled: true })).body.enabled).toBe(true)
    const row = await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id } })
    expect(row.failingSince).toBeNull()
  })

  it('re-seals endpoint secrets under a new encryption key', async () => {
    const created = await api('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/keys`, events: ['*'] })
    const rotated = await api('POST', `/v1/webhook-endpoints/${created.body.id}/rotate-secret`, {})
    const keys = parseEncryptionKeys(`${generateEncryptionKey()},${ENCRYPTION_KEY}`)
    registerEncryptionKeys(keys)
    const keyring = new Keyring(keys)
    await reencryptAll(broker.db, keyring, pino({ level: 'silent' }))
    const row = await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.body.id } })
    const open = (column: 'secret' | 'previous_secret', sealed: string) =>
      keyring.openString(sealed, fieldContext('webhook_endpoints', row.id, column))
    expect(keyring.isPrimary(row.secret) && keyring.isPrimary(row.previousSecret!)).toBe(true)
    expect(open('secret', row.secret)).toBe(rotated.body.secret)
    expect(open('previous_secret', row.previousSecret!)).toBe(created.body.secret)
  })

  it("forgets events after 30 days, but never a connection's newest, so sequences keep growing", async () => {
    await api('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/purge`, events: ['*'] })
    const id = await imported('old')
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
    await receiver.waitFor(() => receiver.at('/hooks/purge').length === 2)
    await settle()
    const old = new Date(Date.now() - 31 * 86_400_000)
    await broker.db.prisma.webhookEvent.updateMany({ where: { connectionId: id }, data: { createdAt: old } })
    // The other endpoints of this file (one failing, one whose secret the broker cannot open) are done too.
    const events = { event: { connectionId: id } }
    await broker.db.prisma.webhookDelivery.updateMany({
      where: { ...events, status: 'pending' },
      data: { status: 'failed' },
    })
    expect(await broker.app.services.deliveries.purge()).toBe(1)
    const left = await broker.db.prisma.webhookEvent.findMany({ where: { connectionId: id } })
    expect(left.map((e) => [e.type, e.sequence])).toEqual([['connection.deleted', 2]])
  })
  it('forgets old events that wait only for a disabled endpoint', async () => {
    receiver.behave('/hooks/parked', 'status500')
    const created = await api('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/parked`, events: ['*'] })
    const endpointId = created.body.id as string
    const id = await imported('parked')
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
    await receiver.waitFor(() => receiver.at('/hooks/parked').length === 2)
    await settle()
    expect((await api('PATCH', `/v1/webhook-endpoints/${endpointId}`, { enabled: false })).status).toBe(200)
    // The other endpoints of this file are done with these events; the disabled one waits.
    const events = { event: { connectionId: id } }
    await broker.db.prisma.webhookDelivery.updateMany({
      where: { ...events, status: 'pending', endpointId: { not: endpointId } },
      data: { status: 'failed' },
    })
    expect(await broker.db.prisma.webhookDelivery.count({ where: { ...events, endpointId, status: 'pending' } })).toBe(
      2,
    )
    const old = new Date(Date.now() - 31 * 86_400_000)
    await broker.db.prisma.webhookEvent.updateMany({ where: { connectionId: id }, data: { createdAt: old } })
    expect(await broker.app.services.deliveries.purge()).toBe(1)
    const left = await broker.db.prisma.webhookEvent.findMany({ where: { connectionId: id } })
    expect(left.map((e) => [e.type, e.sequence])).toEqual([['connection.deleted', 2]])
  })
})
