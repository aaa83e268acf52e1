// The client library against a real broker (PostgreSQL, HTTP on 127.0.0.1) whose provider
// is a token endpoint scripted per refresh token (scripted-provider.ts): a vended
// token with its headers, the broker token cached, pages followed, typed errors with the
// broker's code (404, 409 reauthorization_required, 401), a 503 retried after its
// Retry-After, and private_key_jwt with WebCrypto keys.
import type { webcrypto } from 'node:crypto'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  BrokerClient,
  NotFoundError,
  type PrivateJwk,
  ProviderUnavailableError,
  ReauthorizationRequiredError,
} from '../../client/src/index.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { type ScriptedProvider, startScriptedProvider } from './scripted-provider.js'

let broker: TestBroker
let provider: ScriptedProvider
let refreshes: Map<string, number>
/** Broker token requests served. */
let tokenRequests = 0
let client: BrokerClient

beforeAll(async () => {
  provider = await startScriptedProvider()
  refreshes = provider.refreshes
  broker = await startBroker({
    providers: { acme: provider.entry },
    // Every forced refresh reaches the provider (no coalescing window).
    env: { FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
    prepare: (app) =>
      app.addHook('onResponse', async (request) => {
        if (request.routeOptions.url === '/oauth/token') tokenRequests++
      }),
  })
  client = new BrokerClient({ url: broker.url, clientId: BOOTSTRAP_ID, clientSecret: BOOTSTRAP_SECRET })
})
afterAll(async () => {
  await broker?.close()
  await provider?.close()
})

/** Imports a connection whose access token has expired, so vending it refreshes with `refreshToken`. */
async function imported(ownerId: string, refreshToken: string, expiresAt = new Date(Date.now() - 1000)) {
  return client.connections.create({
    provider: 'acme',
    ownerId,
    credentials: { accessToken: `imported-${ownerId}`, refreshToken, expiresAt: expiresAt.toISOString() },
  })
}

describe('BrokerClient', () => {
  it('refuses bad options at construction, naming the option', () => {
    const ok = { url: broker.url, clientId: 'a', clientSecret: 's' }
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...ok, url: 'broker.internal' }, /url/],
      [{ ...ok, url: 'ftp://broker' }, /url/],
      [{ ...ok, clientId: '' }, /clientId/],
      [{ url: broker.url, clientId: 'a' }, /exactly one of clientSecret and privateKey/],
      [{ ...ok, privateKey: { kty: 'EC' } }, /exactly one/],
      [{ url: broker.url, clientId: 'a', privateKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }, /privateKey/],
      [{ ...ok, retry: { maxRetries: -1 } }, /maxRetries/],
    ]
    for (const [options, message] of bad) {
      expect(() => new BrokerClient(options as never), JSON.stringify(options)).toThrow(message)
    }
  })

  it('vends a token with its expiry and ready headers, asking the broker for its own token once', async () => {
    const later = new Date(Date.now() + 3_600_000)
    const connection = await imported('vend-user', 'live-1', later)
    const before = tokenRequests
    const token = await client.accessToken(connection.id, { minValiditySeconds: 60 })
    expect(token.accessToken).toBe('imported-vend-user')
    // The broker keeps the imported expiry (to its own clock's precision).
    expect(Math.abs(token.expiresAt!.getTime() - later.getTime())).toBeLessThan(5000)
    expect(token.headers).toEqual({ Authorization: 'Bearer imported-vend-user' })
    const forced = await client.accessToken(connection.id, { forceRefresh: true })
    expect(forced.accessToken).toBe('fresh-live-1-1')
    expect(tokenRequests - before).toBe(0)
    const fresh = new BrokerClient({ url: broker.url, clientId: BOOTSTRAP_ID, clientSecret: BOOTSTRAP_SECRET })
    await Promise.all([fresh.accessToken(connection.id), fresh.accessToken(connection.id), fresh.providers()])
    expect(tokenRequests - before).toBe(1)
  })

  it('lists every connection across pages, gets one, deletes one (then NotFoundError)', async () => {
    const made = []
    for (let i = 0; i < 5; i++) made.push(await imported('paged-user', `live-page-${i}`))
    const seen = []
    for await (const c of client.connections.list({ ownerId: 'paged-user', limit: 2 })) seen.push(c.id)
    expect(seen.sort()).toEqual(made.map((c) => c.id).sort())
    expect((await client.connections.get(made[0]!.id)).ownerId).toBe('paged-user')
    await client.connections.delete(made[0]!.id)
    const missing = await client.connections.get(made[0]!.id).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect(missing).toMatchObject({ code: 'connection_not_found', status: 404 })
    expect((missing as NotFoundError).requestId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('raises ReauthorizationRequiredError when the provider refuses the refresh (409)', async () => {
    const connection = await imported('gone-user', 'dead-1')
    const error = await client.accessToken(connection.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ReauthorizationRequiredError)
    expect(error).toMatchObject({ code: 'reauthorization_required', status: 409 })
    expect(String(error)).not.toContain('dead-1')
    const session = await client.connectSessions.create({
      provider: 'acme',
      ownerId: 'gone-user',
      connectionId: connection.id,
    })
    expect(session.connectUrl.startsWith(`${broker.url}/connect/`)).toBe(true)
  })

  it('retries a 503 after its Retry-After, with jitter, then vends', async () => {
    const connection = await imported('flaky-user', 'flaky-1')
    const started = Date.now()
    const token = await client.accessToken(connection.id)
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
    expect(token.accessToken).toBe('fresh-flaky-1-2')
    expect(refreshes.get('flaky-1')).toBe(2)
  })

  it('gives up with ProviderUnavailableError when retries are off or the wait is too long', async () => {
    const connection = await imported('flaky-user-2', 'flaky-2')
    const impatient = new BrokerClient({
      url: broker.url,
      clientId: BOOTSTRAP_ID,
      clientSecret: BOOTSTRAP_SECRET,
      retry: { maxDelayMs: 1000 },
    })
    const error = await impatient.accessToken(connection.id).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderUnavailableError)
    expect(error).toMatchObject({ code: 'provider_unavailable', status: 503 })
    expect(refreshes.get('flaky-2')).toBe(1)
  })

  it('shows no secret or token when inspected or serialized (a logged client leaks nothing)', async () => {
    await client.providers() // a broker token (a JWT, "eyJ…") is cached now
    const shown = [inspect(client, { depth: 20, showHidden: true }), JSON.stringify(client)].join('\n')
    expect(shown).not.toContain(BOOTSTRAP_SECRET)
    expect(shown).not.toContain('eyJ')
  })

  it('raises AuthenticationError with the token endpoint error for a wrong secret', async () => {
    const wrong = new BrokerClient({ url: broker.url, clientId: BOOTSTRAP_ID, clientSecret: 'wrong' })
    const error = await wrong.providers().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error).toMatchObject({ code: 'invalid_client', status: 401 })
  })

  it('authenticates with a private key (RFC 7523), as a JWK or a CryptoKey', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair
    const jwk = { ...(await crypto.subtle.exportKey('jwk', pair.privateKey)), kid: 'svc-1' }
    const { d: _private, key_ops: _ops, ext: _ext, ...publicJwk } = jwk
    const admin = await client.providers().then(() => broker.token('clients:admin'))
    const res = await fetch(`${broker.url}/v1/service-clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'keyed', scopes: ['connections:read'], jwks: { keys: [publicJwk] } }),
    })
    expect(res.status).toBe(201)
    const { clientId } = (await res.json()) as { clientId: string }
    const withJwk = new BrokerClient({ url: broker.url, clientId, privateKey: jwk as PrivateJwk })
    expect((await withJwk.providers()).map((p) => p.key)).toEqual(['acme'])
    const withKey = new BrokerClient({ url: broker.url, clientId, privateKey: pair.privateKey, keyId: 'svc-1' })
    expect((await withKey.providers()).map((p) => p.key)).toEqual(['acme'])
    const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
    const wrongKey = new BrokerClient({
      url: broker.url,
      clientId,
      privateKey: (other as webcrypto.CryptoKeyPair).privateKey,
    })
    await expect(wrongKey.providers()).rejects.toMatchObject({ code: 'invalid_client', status: 401 })
  })
})
