// The two launch providers without OAuth, through their whole life cycle against local
// replicas: respond.io (the user supplies a workspace API token, checked with a cheap
// authenticated call) and Interact (the user supplies intranet URL, key and secret; the
// broker discovers the tenant, exchanges the credentials with X-Tenant, refreshes, and
// hands the X-Tenant header out with the token). Both by the connect form and by API.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { LookupAddress } from 'node:dns'
import { systemResolveHost, type ResolveHost } from '../../src/oauth/network.js'
import { startInteractReplica, type InteractReplica } from '../replicas/interact.js'
import { startRespondIoReplica, type RespondIoReplica } from '../replicas/respondio.js'
import { startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, type Api } from '../support/connect.js'

let broker: TestBroker
let api: Api
let respondio: RespondIoReplica
let interact: InteractReplica
let strict: TestBroker
let strictApi: Api

/**
 * The brokers' DNS for user-supplied hosts: test names resolve to internal addresses
 * (loopback ones reach the replicas, so a connection would be counted); every other name
 * goes to the system resolver.
 */
const TEST_NAMES: Record<string, LookupAddress[]> = {
  'intranet-loopback.test': [{ address: '127.0.0.1', family: 4 }],
  'intranet-private.test': [{ address: '10.0.0.1', family: 4 }],
  'intranet-metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'intranet-v6.test': [{ address: '::1', family: 6 }],
  'intranet-mapped.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
  // Reserved addresses stay refused even where private ones are allowed.
  'api-metadata.test': [
    { address: '127.0.0.1', family: 4 },
    { address: '169.254.169.254', family: 4 },
  ],
  // NXDOMAIN: a mistyped intranet.
  'intranet-typo.test': [],
}
const asked: string[] = []
const resolveHost: ResolveHost = async (hostname) => {
  asked.push(hostname)
  return TEST_NAMES[hostname] ?? systemResolveHost(hostname)
}

beforeAll(async () => {
  respondio = await startRespondIoReplica()
  interact = await startInteractReplica()
  const caFile = join(mkdtempSync(join(tmpdir(), 'broker-ca-')), 'ca.pem')
  writeFileSync(caFile, interact.caPem)
  const providers = { respondio: { validationUrl: respondio.urls.validationUrl }, interact: {} }
  // The test intranet runs on 127.0.0.1: this broker is told to allow internal addresses.
  broker = await startBroker({
    providers,
    env: {
      PROVIDER_CA_FILE: caFile,
      ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true',
      FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
    },
    resolveHost,
  })
  api = apiClient(broker, await broker.token())
  // The production default: user-supplied hosts must not be internal.
  strict = await startBroker({
    providers,
    env: { PROVIDER_CA_FILE: caFile, FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
    resolveHost,
  })
  strictApi = apiClient(strict, await strict.token())
})
afterAll(async () => {
  await Promise.all([broker?.close(), strict?.close()])
  await Promise.all([respondio?.close(), interact?.close()])
})
afterEach(() => {
  expect(respondio.rejections.map((r) => r.reason)).toEqual([])
  expect(interact.rejections.map((r) => r.reason)).toEqual([])
})

/** Opens the connect URL: the broker's own form, with its hidden attempt field. */
async function openForm(provider: string, returnUrl?: string, through: Api = api) {
  const session = await through('POST', '/v1/connect-sessions', {
    provider,
    ownerId: `${provider}-user`,
    ...(returnUrl ? { returnUrl } : {}),
  })
  expect(session.status).toBe(201)
  const browser = new Browser()
  const page = await browser.get(session.body.connectUrl)
  expect(page.status).toBe(200)
  expect(page.headers.get('cache-control')).toBe('no-store')
  expect(page.headers.get('content-security-policy')).toContain("form-action 'self'")
  const html = await page.text()
  const attempt = /name="attempt" value="([^"]+)"/.exec(html)![1]!
  return { browser, url: session.body.connectUrl as string, attempt, html }
}

const vend = (id: string, body: Record<string, unknown> = {}) => api('POST', `/v1/connections/${id}/access-token`, body)

describe('respond.io (API key)', () => {
  it(
    'connect form: a refused key shows the form again; a ' + 'good key is checked, stored encrypted, and handed out',
    async () => {
      const form = await openForm('respondio', 'https://app.example.com/connected')
      expect(form.html).toContain('type="password"')
      expect(form.html).toContain('Workspace API access token')

      const bad = await form.browser.post(form.url, { attempt: form.attempt, apiKey: 'not-a-valid-respondio-token' })
      expect(bad.status).toBe(400)
      expect(await bad.text()).toContain('the provider refused this key')
      expect(respondio.rejections.map((r) => r.reason)).toEqual(['unknown or deleted access token'])
      respondio.rejections.length = 0 // refused as respond.io would: expected here

      const validations = respondio.requests.length
      const good = await form.browser.post(form.url, { attempt: form.attempt, apiKey: respondio.apiKey })
      expect(good.status).toBe(302)
      expect(respondio.requests.length).toBe(validations + 1)
      expect(respondio.requests.at(-1)!.headers.authorization).toBe(`Bearer ${respondio.apiKey}`)
      const id = new URL(good.headers.get('location')!).searchParams.get('connection_id')!

      const token = await vend(id)
      expect(token.body).toMatchObject({
        accessToken: respondio.apiKey,
        tokenType: 'Bearer',
        expiresAt: null,
        provider: 'respondio',
        headers: {},
      })
      // No expiry, no refresh: forcing one returns the key without calling the provider.
      const calls = respondio.requests.length
      expect((await vend(id, { forceRefresh: true })).body.accessToken).toBe(respondio.apiKey)
      expect(respondio.requests.length).toBe(calls)
      const row = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id } })
      expect(row.accessToken).not.toContain(respondio.apiKey)

      // The session is used up; the form cannot be submitted twice (the broker's page, not the service's).
      const again = await form.browser.post(form.url, { attempt: form.attempt, apiKey: respondio.apiKey })
      expect(again.status).toBe(400)
      expect(again.headers.get('location')).toBeNull()
      expect(await again.text()).toContain('session_used')

      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      expect(respondio.requests.length).toBe(calls) // delete is local
      expect((await vend(id)).status).toBe(404)
    },
  )

  it(
    'connect form without a returnUrl: a success page; ' + 're-authorizing a connection deleted meanwhile: a 409 page',
    async () => {
      const ownerId = 'respondio-no-return'
      const open = async (extra: Record<string, unknown> = {}) => {
        const session = await api('POST', '/v1/connect-sessions', { provider: 'respondio', ownerId, ...extra })
        expect(session.status).toBe(201)
        const browser = new Browser()
        const html = await (await browser.get(session.body.connectUrl)).text()
        return {
          browser,
          url: session.body.connectUrl as string,
          attempt: /name="attempt" value="([^"]+)"/.exec(html)![1]!,
        }
      }
      const form = await open()
      const done = await form.browser.post(form.url, { attempt: form.attempt, apiKey: respondio.apiKey })
      expect(done.status).toBe(200)
      expect(done.headers.get('content-type')).toContain('text/html')
      expect(await done.text()).toContain('connected')
      const listed = await api('GET', `/v1/connections?ownerId=${ownerId}&provider=respondio`)
      expect(listed.body.items).toHaveLength(1)
      const id = listed.body.items[0].id as string

      const again = await open({ connectionId: id })
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      const gone = await again.browser.post(again.url, { attempt: again.attempt, apiKey: respondio.apiKey })
      expect(gone.status).toBe(409)
      expect(await gone.text()).toContain('connection_unavailable')
      expect((await api('GET', `/v1/connections?ownerId=${ownerId}`)).body.items).toEqual([])
    },
  )

  it('connect form: refused from another browser (no binding cookie) or without the attempt', async () => {
    const form = await openForm('respondio')
    const other = new Browser()
    const foreign = await other.post(form.url, { attempt: form.attempt, apiKey: respondio.apiKey })
    expect(foreign.status).toBe(400)
    expect(await foreign.text()).toContain('browser_mismatch')
    const noAttempt = await form.browser.post(form.url, { apiKey: respondio.apiKey })
    expect(await noAttempt.text()).toContain('invalid_state')
    expect(
      await broker.db.prisma.connection.count({
        where: { provider: 'respondio', ownerId: 'respondio-user', status: 'active' },
      }),
    ).toBe(0)
  })

  it('POST /v1/connections checks the key first', async () => {
    const created = await api('POST', '/v1/connections', {
      provider: 'respondio',
      ownerId: 'api-user',
      credentials: { apiKey: respondio.mintKey() },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ provider: 'respondio', ownerId: 'api-user', status: 'active' })
    const refused = await api('POST', '/v1/connections', {
      provider: 'respondio',
      ownerId: 'api-user',
      credentials: { apiKey: 'x'.repeat(40) },
    })
    expect([refused.status, refused.body.code]).toEqual([400, 'invalid_credentials'])
    respondio.rejections.length = 0 // the refused key, refused as respond.io would
    const unknownField = await api('POST', '/v1/connections', {
      provider: 'respondio',
      ownerId: 'api-user',
      credentials: { apiKey: respondio.apiKey, other: 'x' },
    })
    expect([unknownField.status, unknownField.body.code]).toEqual([400, 'invalid_credentials'])
  })
})

describe('Interact (credential exchange)', () => {
  it(
    'connect form: discovery, exchange with X-Tenant, tokens handed ' +
      'out with the X-Tenant header, rotating refresh, local delete',
    async () => {
      const form = await openForm('interact', 'https://app.example.com/connected')
      expect(form.html).toContain('Intranet address')
      const done = await form.browser.post(form.url, { attempt: form.attempt, ...interact.credentials })
      expect(done.status).toBe(302)
      const id = new URL(done.headers.get('location')!).searchParams.get('connection_id')!
      const info = interact.requests.find((r) => r.path === '/info')!
      expect(info.method).toBe('GET')
      const exchange = interact.requests.find((r) => r.path === '/token')!
      expect(exchange.headers['x-tenant']).toBe(interact.tenantGuid)
      expect(exchange.body).toMatchObject({
        grant_type: 'authorization_code',
        code: `${interact.credentials.apiKey}__${interact.credentials.apiSecret}`,
        context: 'KeySecret',
      })

      const token = await vend(id)
      expect(token.status).toBe(200)
      expect(token.body.headers).toEqual({ 'X-Tenant': interact.tenantGuid })
      expect(interact.isValid(token.body.accessToken)).toBe(true)
      // The API accepts it with the handed-out header (the replica's CA is trusted by this test process via undici).
      const { Agent, fetch: undiciFetch } = await import('undici')
      const people = await undiciFetch(interact.urls.peopleUrl, {
        headers: { authorization: `${token.body.tokenType} ${token.body.accessToken}`, ...token.body.headers },
        dispatcher: new Agent({ connect: { ca: interact.caPem } }),
      })
      expect(people.status).toBe(200)

      for (let i = 0; i < 2; i++) expect((await vend(id, { forceRefresh: true })).status).toBe(200)
      expect(interact.refreshCount()).toBe(2)
      expect(new Set(interact.usedRefreshTokens).size).toBe(2)
      const refreshes = interact.requests.filter((r) => r.path === '/token' && r.body?.grant_type === 'refresh_token')
      expect(refreshes.every((r) => r.headers['x-tenant'] === interact.tenantGuid)).toBe(true)
      expect(interact.isValid((await vend(id)).body.accessToken)).toBe(true)

      const meta = await api('GET', `/v1/connections/${id}`)
      expect(meta.body.params).toEqual({ apiDomain: interact.urls.apiDomain, tenantGuid: interact.tenantGuid })
      expect(meta.body.metadata.intranetUrl).toBe(interact.urls.intranetUrl)
      expect(JSON.stringify(meta.body)).not.toContain(interact.credentials.apiSecret)
      // Interact has no revocation API: delete is local, no request and no connection leaves.
      const [requests, connections] = [interact.requests.length, interact.connectionCounts()]
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      expect(interact.requests.length).toBe(requests)
      expect(interact.connectionCounts()).toEqual(connections)
      expect((await vend(id)).status).toBe(404)
    },
  )

  it('POST /v1/connections with {intranetUrl, apiKey, apiSecret}; wrong secret refused', async () => {
    const created = await api('POST', '/v1/connections', {
      provider: 'interact',
      ownerId: 'tenant-1',
      credentials: interact.credentials,
    })
    expect(created.status).toBe(201)
    const wrong = await api('POST', '/v1/connections', {
      provider: 'interact',
      ownerId: 'tenant-1',
      credentials: { ...interact.credentials, apiSecret: 'wrong-secret' },
    })
    expect([wrong.status, wrong.body.code]).toEqual([400, 'invalid_credentials'])
    // The replica refused the wrong secret as Interact does; that refusal is expected here.
    interact.rejections.length = 0
  })

  it('a text/plain 400 from the exchange: 400 invalid_credentials, by API and on the form', async () => {
    const plain400 = {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'Tenant could not be resolved',
    }
    const stored = () =>
      broker.db.prisma.connection.count({
        where: { provider: 'interact', ownerId: { in: ['plain-400', 'interact-user'] }, status: 'active' },
      })
    const before = await stored()
    interact.failNext(1, { path: '/token', reply: plain400 })
    const byApi = await api('POST', '/v1/connections', {
      provider: 'interact',
      ownerId: 'plain-400',
      credentials: interact.credentials,
    })
    expect([byApi.status, byApi.body.code, byApi.body.detail]).toEqual([
      400,
      'invalid_credentials',
      'the intranet refused this key and secret',
    ])
    const form = await openForm('interact')
    interact.failNext(1, { path: '/token', reply: plain400 })
    const page = await form.browser.post(form.url, { attempt: form.attempt, ...interact.credentials })
    expect(page.status).toBe(400)
    expect(await page.text()).toContain('the intranet refused this key and secret')
    expect(await stored()).toBe(before)
  })

  it('a text/plain 400 on refresh: 502 provider_rejected, stored tokens kept and still usable', async () => {
    const created = await api('POST', '/v1/connections', {
      provider: 'interact',
      ownerId: 'plain-400-refresh',
      credentials: interact.credentials,
    })
    expect(created.status).toBe(201)
    const id = created.body.id as string
    const first = await vend(id)
    const before = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id } })
    interact.failNext(1, {
      path: '/token',
      reply: {
        status: 400,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'Tenant could not be resolved',
      },
    })
    const refused = await vend(id, { forceRefresh: true })
    expect([refused.status, refused.body.code]).toEqual([502, 'provider_rejected'])
    const after = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id } })
    expect({
      accessToken: after.accessToken,
      refreshToken: after.refreshToken,
      status: after.status,
      version: after.version,
    }).toEqual({
      accessToken: before.accessToken,
      refreshToken: before.refreshToken,
      status: 'active',
      version: before.version,
    })
    expect(after.lastErrorCode).toBe('http_400')
    expect((await vend(id)).body.accessToken).toBe(first.body.accessToken)
    // The kept refresh token still works once the intranet answers again.
    const refreshed = await vend(id, { forceRefresh: true })
    expect(refreshed.status).toBe(200)
    expect(interact.isValid(refreshed.body.accessToken)).toBe(true)
  })

  it(
    'a host NAME that resolves to an internal address: 400 naming ' +
      'intranetUrl, and not even a connection reaches the intranet',
    async () => {
      const port = new URL(interact.urls.intranetUrl).port
      const connections = interact.connectionCounts()
      asked.length = 0
      const names = [
        'intranet-loopback.test',
        'intranet-private.test',
        'intranet-metadata.test',
        'intranet-v6.test',
        'intranet-mapped.test',
      ]
      for (const name of names) {
        const res = await strictApi('POST', '/v1/connections', {
          provider: 'interact',
          ownerId: 't',
          credentials: { ...interact.credentials, intranetUrl: `https://${name}:${port}` },
        })
        expect([res.status, res.body.code, res.body.detail], name).toEqual([
          400,
          'invalid_credentials',
          'intranetUrl resolves to an internal address',
        ])
      }
      const form = await openForm('interact', undefined, strictApi)
      const page = await form.browser.post(form.url, {
        attempt: form.attempt,
        ...interact.credentials,
        intranetUrl: `https://intranet-loopback.test:${port}`,
      })
      expect(page.status).toBe(400)
      expect(await page.text()).toContain('intranetUrl resolves to an internal address')
      // The names were resolved (at connect time), and nothing connected to the intranet.
      expect(asked).toEqual([...names, 'intranet-loopback.test'])
      expect(interact.connectionCounts()).toEqual(connections)
    },
  )

  it('a host name that does not exist: 400 naming intranetUrl (a typo is not an outage)', async () => {
    const port = new URL(interact.urls.intranetUrl).port
    const res = await strictApi('POST', '/v1/connections', {
      provider: 'interact',
      ownerId: 't',
      credentials: { ...interact.credentials, intranetUrl: `https://intranet-typo.test:${port}` },
    })
    expect([res.status, res.body.code, res.body.detail]).toEqual([
      400,
      'invalid_credentials',
      'intranetUrl names a host that does not exist',
    ])
  })

  it(
    'an ApiDomain from /info that resolves to a reserved address: 400 naming ' +
      'the ApiDomain, no connection to it, even with private addresses allowed',
    async () => {
      const intranet = await startInteractReplica({
        tenantGuid: interact.tenantGuid,
        info: (real) => ({ ...real, ApiDomain: real.ApiDomain.replace('127.0.0.1', 'api-metadata.test') }),
      })
      try {
        asked.length = 0
        const res = await api('POST', '/v1/connections', {
          provider: 'interact',
          ownerId: 't',
          credentials: intranet.credentials,
        })
        expect([res.status, res.body.code, res.body.detail]).toEqual([
          400,
          'invalid_credentials',
          "the intranet's ApiDomain resolves to an internal address",
        ])
        const form = await openForm('interact')
        const page = await form.browser.post(form.url, { attempt: form.attempt, ...intranet.credentials })
        expect(page.status).toBe(400)
        expect(await page.text()).toContain('ApiDomain resolves to an internal address')
        expect(asked).toEqual(['localhost', 'api-metadata.test', 'api-metadata.test'])
        expect(intranet.connectionCounts().api).toBe(0)
        expect(intranet.requests.map((r) => r.path)).toEqual(['/info', '/info'])
      } finally {
        await intranet.close()
      }
    },
  )

  it('refuses a hostile /info answer with 400 and no /token request', async () => {
    let answer: unknown
    const intranet = await startInteractReplica({ info: () => answer })
    const guid = intranet.tenantGuid
    const hostile: Array<[unknown, RegExp]> = [
      ...[
        '169.254.169.254',
        '169.254.169.254:443',
        '0.0.0.0',
        '[fe80::1]',
        '[::1]',
        'evil.com/x',
        'https://x',
        'a@b',
        'api.example.com/x',
        'api.example.com:443/x',
        'api.example.com:',
        'api.example.com:0',
        'api.example.com:99999',
        'api..example.com',
        '.example.com',
        'api.example.com.',
        ' api.example.com',
        'api.example.com\r\nX-Injected: 1',
        '',
        'a'.repeat(300),
      ].map((ApiDomain): [unknown, RegExp] => [{ ApiDomain, TenantGuid: guid }, /ApiDomain/]),
      ...['not-a-guid', `${guid}\r\nX-Injected: 1`, `${guid} `, `{${guid}}`, ''].map(
        (TenantGuid): [unknown, RegExp] => [{ ApiDomain: 'api.example.com', TenantGuid }, /TenantGuid/],
      ),
      // Not strings, not an object, not JSON at all.
      [{ ApiDomain: ['api.example.com'], TenantGuid: guid }, /not an Interact intranet/],
      [{ ApiDomain: 'api.example.com', TenantGuid: 42 }, /not an Interact intranet/],
      [{ ApiDomain: 'api.example.com' }, /not an Interact intranet/],
      [null, /not an Interact intranet/],
      [[{ ApiDomain: 'api.example.com', TenantGuid: guid }], /not an Interact intranet/],
      [42, /not an Interact intranet/],
      ['<html>Sign in</html>', /not an Interact intranet/],
    ]
    try {
      for (const [body, detail] of hostile) {
        answer = body
        const res = await api('POST', '/v1/connections', {
          provider: 'interact',
          ownerId: 't',
          credentials: intranet.credentials,
        })
        expect([res.status, res.body.code, res.body.detail], JSON.stringify(body)).toEqual([
          400,
          'invalid_credentials',
          expect.stringMatching(detail),
        ])
      }
      expect(intranet.requests.map((r) => r.path)).toEqual(hostile.map(() => '/info'))
      expect(intranet.connectionCounts().api).toBe(0)
      expect(intranet.rejections).toEqual([])
    } finally {
      await intranet.close()
    }
  })

  it('refuses hostile intranet URLs with 400 and no outbound request', async () => {
    const before = interact.requests.length
    const hostile = [
      'http://intranet.example.com',
      'https://127.0.0.1',
      'https://[::1]',
      'https://169.254.169.254',
      'https://10.0.0.1',
      'https://localhost',
      `https://localhost:${new URL(interact.urls.intranetUrl).port}`,
      'https://user:pass@intranet.example.com',
      'https://intranet.example.com/?next=http://evil',
      'https://intranet.example.com/#frag',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'https://intranet.example.com\r\nX-Injected: 1',
      'not a url',
    ]
    for (const intranetUrl of hostile) {
      const res = await strictApi('POST', '/v1/connections', {
        provider: 'interact',
        ownerId: 't',
        credentials: { ...interact.credentials, intranetUrl },
      })
      expect([res.status, res.body.code], intranetUrl).toEqual([400, 'invalid_credentials'])
    }
    expect(interact.requests.length).toBe(before)
  })
})

describe('GET /v1/providers', () => {
  it('lists the configured providers with what each needs, and no secret', async () => {
    const res = await api('GET', '/v1/providers')
    expect(res.status).toBe(200)
    const byKey = Object.fromEntries(res.body.items.map((p: { key: string }) => [p.key, p]))
    expect(byKey.respondio).toMatchObject({
      mode: 'api_key',
      displayName: 'respond.io',
      redirectUri: null,
      credentialFields: [{ name: 'apiKey', kind: 'secret' }],
    })
    expect(byKey.interact).toMatchObject({ mode: 'credential_exchange', apiHeaders: ['X-Tenant'] })
    expect(byKey.interact.credentialFields.map((f: { name: string }) => f.name)).toEqual([
      'intranetUrl',
      'apiKey',
      'apiSecret',
    ])
  })
})
