// The routes added after namespaces (confirmation, connect-session status, token exchange,
// webhook endpoints) answer for another namespace's (or another client's) object exactly as
// for a missing one, and change nothing; a pending connection is not vendable by token
// exchange either; requireConfirmation changed by PATCH holds on another replica within a
// second; and the confirmation fields refuse bad input with a 400 naming the field.
import { randomBytes, randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, type Api } from '../support/connect.js'

const RETURN = 'https://app.example.com/connected'
const HOOKS = 'http://127.0.0.1:9/hooks'
const SCOPES = ['connect:write', 'tokens:read', 'connections:read', 'webhooks:write']
let as: AuthorizationServer
let broker: TestBroker
let second: TestBroker
let admin: Api
type Client = { clientId: string; clientSecret: string; token: string; api: Api }
const clients: Record<string, Client> = {}

async function brokerToken(b: TestBroker, clientId: string, clientSecret: string): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  })
  const res = await fetch(`${b.url}/oauth/token`, { method: 'POST', body: form })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

async function register(name: string, extra: Record<string, unknown>): Promise<Client> {
  const created = await admin('POST', '/v1/service-clients', {
    name,
    scopes: SCOPES,
    allowedReturnUrls: [RETURN],
    allowedWebhookUrls: [HOOKS],
    ...extra,
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string }
  const token = await brokerToken(broker, clientId, clientSecret)
  clients[name] = { clientId, clientSecret, token, api: apiClient(broker, token) }
  return clients[name]
}

/** A connect flow of `client` completed in a browser: the landing URL's parameters. */
async function completed(client: Client, ownerId: string) {
  const session = await client.api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId, returnUrl: RETURN })
  expect(session.status).toBe(201)
  const browser = new Browser()
  const start = await browser.get(session.body.connectUrl)
  const done = await browser.get(await as.authorize(start.headers.get('location')!))
  const back = new URL(done.headers.get('location')!).searchParams
  return { sessionId: session.body.id as string, id: back.get('connection_id')!, code: back.get('confirmation_code') }
}

async function exchange(client: Client, connectionId: string) {
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      subject_token: client.token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      resource: `urn:oauth-broker:connection:${connectionId}`,
    }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const hiddenEvents = (clientId: string) =>
  broker.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.event === 'namespace.connection_hidden' && l.clientId === clientId).length
const randomId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  const providers = { idp: providerEntryFor(as, { pkce: true }) }
  const env = { RATE_LIMIT_ADMIN: '0' }
  broker = await startBroker({ port, providers, env, requireConfirmation: true })
  second = await startBroker({ databaseUrl: broker.databaseUrl, providers, env: { ...env, PUBLIC_URL: broker.url } })
  admin = apiClient(broker, await broker.token())
  await register('alpha', { namespaces: ['alpha'], requireConfirmation: true })
  await register('beta', { namespaces: ['beta'], requireConfirmation: true })
})
afterAll(async () => {
  await second?.close()
  await broker?.close()
  await as?.close()
})

describe('another namespace on the routes added with confirmation and token exchange', () => {
  it('confirm, connect-session status and token exchange answer as for a missing id; nothing changes', async () => {
    const alpha = clients.alpha!
    const beta = clients.beta!
    const held = await completed(beta, 'beta-owner')
    expect(held.code).toBeTruthy()
    const eventsBefore = hiddenEvents(alpha.clientId)
    const pairs: Array<[string, (id: string) => Promise<{ status: number; body: unknown }>, string, string]> = [
      [
        'confirm with the right code',
        (id) => alpha.api('POST', `/v1/connections/${id}/confirm`, { confirmationCode: held.code }),
        held.id,
        randomId('conn'),
      ],
      [
        'reject with the right code',
        (id) => alpha.api('POST', `/v1/connections/${id}/confirm`, { confirmationCode: held.code, accept: false }),
        held.id,
        randomId('conn'),
      ],
      [
        'confirm with a wrong code',
        (id) => alpha.api('POST', `/v1/connections/${id}/confirm`, { confirmationCode: 'guess' }),
        held.id,
        randomId('conn'),
      ],
      [
        'connect-session status',
        (id) => alpha.api('GET', `/v1/connect-sessions/${id}`),
        held.sessionId,
        randomId('cs'),
      ],
      ['token exchange', (id) => exchange(alpha, id), held.id, randomId('conn')],
    ]
    for (const [name, send, foreign, missing] of pairs) {
      const [a, b] = [await send(foreign), await send(missing)]
      expect({ status: a.status, body: a.body }, name).toEqual({ status: b.status, body: b.body })
      expect([400, 404], name).toContain(a.status)
    }
    // Each refusal was logged apart as a hidden object, and counted nothing against the grant.
    expect(hiddenEvents(alpha.clientId) - eventsBefore).toBeGreaterThanOrEqual(pairs.length)
    const grant = await broker.db.prisma.pendingGrant.findUnique({ where: { connectionId: held.id } })
    expect(grant?.failures).toBe(0)
    expect((await beta.api('GET', `/v1/connect-sessions/${held.sessionId}`)).body.status).toBe('pending_confirmation')
    // A pending connection is not vendable by token exchange either.
    const pending = await exchange(beta, held.id)
    expect([pending.status, pending.body.error]).toEqual([400, 'invalid_grant'])
    expect(pending.body.error_description).toMatch(/^confirmation_pending/)
    const confirmed = await beta.api('POST', `/v1/connections/${held.id}/confirm`, { confirmationCode: held.code })
    expect([confirmed.status, confirmed.body.status]).toEqual([200, 'active'])
    expect((await exchange(beta, held.id)).status).toBe(200)
  })

  it("another client's webhook endpoint answers as a missing one on every route, and stays as it was", async () => {
    const alpha = clients.alpha!
    const created = await clients.beta!.api('POST', '/v1/webhook-endpoints', { url: HOOKS, events: ['*'] })
    expect(created.status).toBe(201)
    const foreign = created.body.id as string
    const before = await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: foreign } })
    const routes: Array<[string, string, unknown?]> = [
      ['GET', ''],
      ['PATCH', '', { enabled: false }],
      ['POST', '/rotate-secret', {}],
      ['GET', '/deliveries'],
      ['DELETE', ''],
    ]
    for (const [method, tail, body] of routes) {
      const send = (id: string) => alpha.api(method, `/v1/webhook-endpoints/${id}${tail}`, body)
      const [a, b] = [await send(foreign), await send(randomId('whe'))]
      expect({ status: a.status, body: a.body }, `${method} ${tail}`).toEqual({ status: b.status, body: b.body })
      expect([a.status, a.body.code], `${method} ${tail}`).toEqual([404, 'webhook_endpoint_not_found'])
    }
    expect(await broker.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: foreign } })).toEqual(before)
  })
})

describe('requireConfirmation changed by PATCH', () => {
  /** Polls `probe` until it returns true; fails past `limitMs`. */
  async function within(probe: () => Promise<boolean>, limitMs = 1000): Promise<void> {
    const started = Date.now()
    while (!(await probe())) {
      if (Date.now() - started > limitMs) throw new Error(`not observed within ${limitMs} ms`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  it('holds on the other replica within 1 s, for tokens already issued', async () => {
    const web = await register('web', { namespaces: ['web'], requireConfirmation: false })
    const onSecond = apiClient(second, web.token)
    /** Whether a session created on the second replica with a returnUrl holds its grant. */
    const confirms = async () => {
      const res = await onSecond('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'w', returnUrl: RETURN })
      if (res.status !== 201) return undefined
      const row = await broker.db.prisma.connectSession.findUniqueOrThrow({ where: { id: res.body.id } })
      return row.confirm
    }
    await within(async () => (await confirms()) === false)
    for (const value of [true, false]) {
      const patched = await admin('PATCH', `/v1/service-clients/${web.clientId}`, { requireConfirmation: value })
      expect([patched.status, patched.body.requireConfirmation]).toEqual([200, value])
      await within(async () => (await confirms()) === value)
    }
  })

  it('allowedReturnUrls and allowedWebhookUrls changed by PATCH hold on the other replica within 1 s', async () => {
    const web = await register('urls', { namespaces: ['urls'], requireConfirmation: false })
    const onSecond = apiClient(second, web.token)
    const session = async () =>
      (await onSecond('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'u', returnUrl: RETURN })).body.code
    const hook = async () => (await onSecond('POST', '/v1/webhook-endpoints', { url: HOOKS, events: ['*'] })).body.code
    await within(async () => (await session()) === undefined)
    const other = {
      allowedReturnUrls: ['https://other.example.com/done'],
      allowedWebhookUrls: ['http://127.0.0.1:9/x'],
    }
    expect((await admin('PATCH', `/v1/service-clients/${web.clientId}`, other)).status).toBe(200)
    await within(async () => (await session()) === 'invalid_return_url' && (await hook()) === 'invalid_webhook_url')
  })
})

describe('bad input on the confirmation fields', () => {
  it('is a 400 naming the field', async () => {
    const api = clients.alpha!.api
    const id = randomId('conn')
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', `/v1/connections/${id}/confirm`, {}, /confirmationCode/],
      ['POST', `/v1/connections/${id}/confirm`, { confirmationCode: '' }, /confirmationCode/],
      ['POST', `/v1/connections/${id}/confirm`, { confirmationCode: 'x'.repeat(257) }, /confirmationCode/],
      ['POST', `/v1/connections/${id}/confirm`, { confirmationCode: 42 }, /confirmationCode/],
      ['POST', `/v1/connections/${id}/confirm`, { confirmationCode: 'c', accept: 'no' }, /accept/],
      ['POST', `/v1/connections/${id}/confirm`, { confirmationCode: 'c', code: 'c' }, /code/],
      ['POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'o', returnUrl: RETURN, confirm: 'yes' }, /confirm/],
      ['GET', '/v1/connect-sessions/cs%3Cscript%3E', undefined, /id/],
      ['GET', `/v1/connect-sessions/${'a'.repeat(65)}`, undefined, /id/],
    ]
    for (const [method, path, body, field] of cases) {
      const res = await api(method, path, body)
      const label = `${method} ${path} ${JSON.stringify(body)}`
      expect([res.status, res.body.code], label).toEqual([400, 'invalid_request'])
      expect(res.body.detail, label).toMatch(field)
    }
  })
})

describe('wrong codes on a re-authorization', () => {
  it('the fifth discards the new grant and revokes it; the old grant stays in use', async () => {
    const web = await register('reauth', { namespaces: ['reauth'], requireConfirmation: false })
    const first = await completed(web, 'r-owner')
    const vend = async () => (await web.api('POST', `/v1/connections/${first.id}/access-token`, {})).body
    const oldToken = (await vend()).accessToken as string
    const again = await web.api('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'r-owner',
      connectionId: first.id,
      returnUrl: RETURN,
      confirm: true,
    })
    const browser = new Browser()
    const start = await browser.get(again.body.connectUrl)
    const done = await browser.get(await as.authorize(start.headers.get('location')!))
    const code = new URL(done.headers.get('location')!).searchParams.get('confirmation_code')!
    const grant = (await broker.db.prisma.pendingGrant.findUnique({ where: { connectionId: first.id } }))!
    const newToken = broker.app.services.pending.openReplacement(grant)!.tokens.accessToken
    for (let i = 0; i < 5; i++) {
      const wrong = await web.api('POST', `/v1/connections/${first.id}/confirm`, { confirmationCode: `no-${i}` })
      expect([wrong.status, wrong.body.code]).toEqual([400, 'invalid_confirmation'])
    }
    expect((await as.introspect(newToken)).active).toBe(false)
    const late = await web.api('POST', `/v1/connections/${first.id}/confirm`, { confirmationCode: code })
    expect([late.status, late.body.code]).toEqual([400, 'invalid_confirmation'])
    const shown = await web.api('GET', `/v1/connections/${first.id}`)
    expect([shown.body.status, shown.body.pendingConfirmation]).toEqual(['active', false])
    expect((await vend()).accessToken).toBe(oldToken)
    expect((await as.introspect(oldToken)).active).toBe(true)
    const session = await web.api('GET', `/v1/connect-sessions/${again.body.id}`)
    expect([session.body.status, session.body.error]).toEqual(['failed', 'confirmation_failed'])
  })
})

describe('keys changed by PATCH', () => {
  async function keyPair(kid: string) {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } }
  }
  /** POST /oauth/token on `b` with a fresh assertion signed by `key`: the status. */
  async function assert(b: TestBroker, clientId: string, key: { kid: string; privateKey: CryptoKey }) {
    const jwt = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(broker.url)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(key.privateKey)
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    })
    return (await fetch(`${b.url}/oauth/token`, { method: 'POST', body: form })).status
  }

  it('PATCH {jwks} over HTTP replaces the keys on every replica; a bad set is 400 invalid_jwks', async () => {
    const [k1, k2] = [await keyPair('k1'), await keyPair('k2')]
    const created = await admin('POST', '/v1/service-clients', {
      name: 'keyed',
      scopes: ['tokens:read'],
      jwks: { keys: [k1.jwk] },
    })
    expect([created.status, created.body.clientSecret]).toEqual([201, undefined])
    const id = created.body.clientId as string
    expect(await assert(second, id, k1)).toBe(200)
    const patched = await admin('PATCH', `/v1/service-clients/${id}`, { jwks: { keys: [k2.jwk] } })
    expect(patched.status).toBe(200)
    for (const b of [broker, second]) {
      expect(await assert(b, id, k1)).toBe(401)
      expect(await assert(b, id, k2)).toBe(200)
    }
    const privateKey = { ...(await exportJWK(k2.privateKey)), kid: 'k2', alg: 'ES256' }
    const bad = await admin('PATCH', `/v1/service-clients/${id}`, { jwks: { keys: [privateKey] } })
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid_jwks'])
    expect(bad.body.detail).toMatch(/jwks/)
    expect(await assert(second, id, k2)).toBe(200)
  })
})
