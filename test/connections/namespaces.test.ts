// Namespaces: who may touch which connection (docs/security.md, "Namespaces"). Two service
// clients in two namespaces on two replicas of one database: a connection of the other
// namespace answers exactly as a missing one on every route that names it, and changes
// nothing; lists hold only the caller's namespaces; a client's changes hold for tokens
// already issued, on the other replica, within a second.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import type { Json } from '../support/json.js'

const providers: Record<string, unknown> = {
  // Never called: imported connections and connect sessions need no provider call.
  idp: {
    authorizationUrl: 'http://127.0.0.1:1/auth',
    tokenUrl: 'http://127.0.0.1:1/token',
    clientId: 'c',
    clientSecret: 's',
    scopes: ['openid'],
  },
}
let as: AuthorizationServer
const env = { RATE_LIMIT_ADMIN: '0' }
const SERVICE_SCOPES = ['connect:write', 'connections:write', 'connections:read', 'connections:revoke', 'tokens:read']

let broker: TestBroker
let second: TestBroker
let admin: Api
const clients: Record<string, { clientId: string; clientSecret: string; api: Api; token: string }> = {}
const conns: Record<string, string> = {}

async function issue(b: TestBroker, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(`${b.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

async function register(name: string, namespaces: string[] | undefined, scopes = SERVICE_SCOPES, by = admin) {
  const allowedReturnUrls = ['https://app.example.com/connected']
  const created = await by('POST', '/v1/service-clients', {
    name,
    scopes,
    allowedReturnUrls,
    requireConfirmation: false, // not about confirmation (test/connections/confirmation.test.ts)
    ...(namespaces ? { namespaces } : {}),
  })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const token = await issue(broker, created.body.clientId, created.body.clientSecret)
  clients[name] = {
    clientId: created.body.clientId,
    clientSecret: created.body.clientSecret,
    api: apiClient(broker, token),
    token,
  }
  return created.body
}

const importBody = (ownerId: string, extra: Record<string, unknown> = {}) => ({
  provider: 'idp',
  ownerId,
  credentials: { accessToken: `imported-${randomBytes(12).toString('hex')}`, expiresAt: '2099-01-01T00:00:00Z' },
  ...extra,
})

async function sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: broker.databaseUrl })
  await c.connect()
  try {
    return (await c.query(text, values)).rows as T[]
  } finally {
    await c.end()
  }
}

/** What a hostile request could have changed: the row, its audit events, sessions naming it. */
async function footprint(id: string) {
  const [row] = await sql('SELECT * FROM connections WHERE id = $1', [id])
  const [events] = await sql('SELECT count(*)::int AS n FROM audit_events WHERE connection_id = $1', [id])
  const [sessions] = await sql('SELECT count(*)::int AS n FROM connect_sessions WHERE connection_id = $1', [id])
  return { row, events, sessions }
}

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/real`] })
  providers.real = providerEntryFor(as)
  broker = await startBroker({ port, providers, env })
  // One issuer for both replicas, as behind a load balancer.
  second = await startBroker({ databaseUrl: broker.databaseUrl, providers, env: { ...env, PUBLIC_URL: broker.url } })
  admin = apiClient(broker, await broker.token())
  await register('alpha', ['alpha'])
  await register('beta', ['beta'])
  await register('both', ['alpha', 'beta'])
  await register('alpha-admin', ['alpha'], ['clients:admin'])
  for (const name of ['alpha', 'beta']) {
    const res = await clients[name]!.api('POST', '/v1/connections', importBody(`${name}-owner`))
    expect(res.status).toBe(201)
    expect(res.body.namespace).toBe(name)
    conns[name] = res.body.id
  }
})
afterAll(async () => {
  await second?.close()
  await broker?.close()
  await as?.close()
})

describe('another namespace answers exactly as a missing connection', () => {
  it('on every route that names a connection: same status, code and body, and nothing changes', async () => {
    const alpha = clients.alpha!.api
    const foreign = conns.beta!
    const missing = `conn_${randomBytes(12).toString('base64url')}`
    const before = await footprint(foreign)
    const routes: Array<[string, (id: string) => Promise<{ status: number; body: Json }>]> = [
      ['access-token', (id) => alpha('POST', `/v1/connections/${id}/access-token`, {})],
      ['forced access-token', (id) => alpha('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })],
      ['get', (id) => alpha('GET', `/v1/connections/${id}`)],
      ['delete', (id) => alpha('DELETE', `/v1/connections/${id}`)],
      [
        're-authorization session',
        (id) => alpha('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'beta-owner', connectionId: id }),
      ],
      ['audit events', (id) => clients['alpha-admin']!.api('GET', `/v1/audit-events?connectionId=${id}`)],
      ['list by owner', (id) => alpha('GET', `/v1/connections?ownerId=${id === foreign ? 'beta-owner' : 'nobody'}`)],
    ]
    for (const [name, send] of routes) {
      const [a, b] = [await send(foreign), await send(missing)]
      expect({ status: a.status, body: a.body }, name).toEqual({ status: b.status, body: b.body })
      expect(a.status, name).not.toBe(500)
    }
    // The first release's answers, unchanged.
    expect((await alpha('GET', `/v1/connections/${foreign}`)).body).toEqual({
      type: 'about:blank',
      title: 'No such connection',
      status: 404,
      code: 'connection_not_found',
    })
    const reauth = await alpha('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'beta-owner',
      connectionId: foreign,
    })
    expect([reauth.status, reauth.body.code]).toEqual([400, 'invalid_connection'])
    expect(await footprint(foreign)).toEqual(before)
    // The owner still has it, untouched.
    expect((await clients.beta!.api('POST', `/v1/connections/${foreign}/access-token`, {})).status).toBe(200)
    const hidden = broker.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'namespace.connection_hidden')
    expect(hidden.length).toBeGreaterThanOrEqual(5)
    expect(hidden.every((l) => l.clientId === clients.alpha!.clientId)).toBe(true)
  })

  it('a client holding both namespaces sees both', async () => {
    for (const id of [conns.alpha!, conns.beta!])
      expect((await clients.both!.api('GET', `/v1/connections/${id}`)).status).toBe(200)
  })
})

describe('naming the namespace', () => {
  it('is optional with one namespace, required with several, refused when not held', async () => {
    const both = clients.both!.api
    for (const path of ['/v1/connections', '/v1/connect-sessions']) {
      const body = path === '/v1/connections' ? importBody('o') : { provider: 'idp', ownerId: 'o' }
      const required = await both('POST', path, body)
      expect([required.status, required.body.code], path).toEqual([400, 'namespace_required'])
      expect(required.body.detail).toMatch(/^namespace: /)
      const forbidden = await clients.alpha!.api('POST', path, { ...body, namespace: 'beta' })
      expect([forbidden.status, forbidden.body.code], path).toEqual([403, 'namespace_forbidden'])
      const unknown = await both('POST', path, { ...body, namespace: 'gamma' })
      expect([unknown.status, unknown.body.code], path).toEqual([403, 'namespace_forbidden'])
      const invalid = await both('POST', path, { ...body, namespace: 'Not A Namespace' })
      expect([invalid.status, invalid.body.code], path).toEqual([400, 'invalid_request'])
      expect(invalid.body.detail).toMatch(/namespace/)
      expect((await both('POST', path, { ...body, namespace: 'beta' })).status, path).toBe(201)
    }
    const events = broker.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'namespace.forbidden')
    expect(events.length).toBeGreaterThanOrEqual(4)
    expect((await sql("SELECT count(*)::int AS n FROM connections WHERE owner_id = 'o'"))[0]).toEqual({ n: 1 })
  })

  it(
    'a ["*"] client that names none gets default; a ' + "session for re-authorization keeps its connection's",
    async () => {
      const created = await admin('POST', '/v1/connections', importBody('star-owner'))
      expect([created.status, created.body.namespace]).toEqual([201, 'default'])
      const reauth = await clients.both!.api('POST', '/v1/connect-sessions', {
        provider: 'idp',
        ownerId: 'beta-owner',
        connectionId: conns.beta,
      })
      expect(reauth.status).toBe(201)
      const [session] = await sql('SELECT namespace FROM connect_sessions WHERE id = $1', [reauth.body.id])
      expect(session).toEqual({ namespace: 'beta' })
      const elsewhere = await clients.both!.api('POST', '/v1/connect-sessions', {
        provider: 'idp',
        ownerId: 'beta-owner',
        connectionId: conns.beta,
        namespace: 'alpha',
      })
      expect([elsewhere.status, elsewhere.body.code]).toEqual([400, 'invalid_connection'])
    },
  )
})

describe('the browser flow', () => {
  it("stores the connection in the session's namespace, and a re-authorization keeps it there", async () => {
    const both = clients.both!.api
    const session = { provider: 'real', ownerId: 'browser-owner', namespace: 'beta' } as {
      provider: string
      ownerId: string
    }
    const id = await connectUser(both, as, session)
    expect((await both('GET', `/v1/connections/${id}`)).body.namespace).toBe('beta')
    expect((await clients.alpha!.api('GET', `/v1/connections/${id}`)).status).toBe(404)
    const again = await connectUser(both, as, { ...session, connectionId: id } as typeof session)
    expect(again).toBe(id)
    const [row] = await sql('SELECT namespace, version FROM connections WHERE id = $1', [id])
    expect(row).toEqual({ namespace: 'beta', version: 2 })
    const events = await sql<{ type: string; namespace: string }>(
      'SELECT type, namespace FROM audit_events WHERE connection_id = $1 ORDER BY id',
      [id],
    )
    expect(events.map((e) => [e.type, e.namespace])).toEqual([
      ['connection.created', 'beta'],
      ['connection.reauthorized', 'beta'],
    ])
  })
})

describe('lists', () => {
  it("hold only the caller's namespaces; a namespace filter must be one of them", async () => {
    const ids = async (api: Api, query = '') =>
      (await api('GET', `/v1/connections?limit=200${query}`)).body.items as Array<{ id: string; namespace: string }>
    expect(new Set((await ids(clients.alpha!.api)).map((c) => c.namespace))).toEqual(new Set(['alpha']))
    expect(new Set((await ids(clients.both!.api)).map((c) => c.namespace))).toEqual(new Set(['alpha', 'beta']))
    expect(new Set((await ids(clients.both!.api, '&namespace=beta')).map((c) => c.namespace))).toEqual(
      new Set(['beta']),
    )
    expect((await ids(admin, '&namespace=default')).every((c) => c.namespace === 'default')).toBe(true)
    const refused = await clients.alpha!.api('GET', '/v1/connections?namespace=beta')
    expect([refused.status, refused.body.code]).toEqual([403, 'namespace_forbidden'])
    const alphaAdmin = clients['alpha-admin']!.api
    const events = (await alphaAdmin('GET', '/v1/audit-events?limit=200')).body.items as Array<{
      namespace: string | null
      connectionId: string | null
    }>
    expect(events.some((e) => e.namespace === 'alpha')).toBe(true)
    expect(events.filter((e) => e.connectionId !== null).every((e) => e.namespace === 'alpha')).toBe(true)
    expect((await alphaAdmin('GET', '/v1/audit-events?namespace=beta')).status).toBe(403)
  })
})

describe('service clients', () => {
  it('default to ["default"]; an admin grants and manages only namespaces it holds', async () => {
    const plain = await register('plain', undefined, ['tokens:read'])
    expect(plain.namespaces).toEqual(['default'])
    const alphaAdmin = clients['alpha-admin']!.api
    const grant = await alphaAdmin('POST', '/v1/service-clients', {
      name: 'x',
      scopes: ['tokens:read'],
      namespaces: ['alpha', 'beta'],
    })
    expect([grant.status, grant.body.code]).toEqual([403, 'namespace_forbidden'])
    const star = await alphaAdmin('POST', '/v1/service-clients', {
      name: 'x',
      scopes: ['tokens:read'],
      namespaces: ['*'],
    })
    expect([star.status, star.body.code]).toEqual([403, 'namespace_forbidden'])
    const own = await alphaAdmin('POST', '/v1/service-clients', {
      name: 'alpha-worker',
      scopes: ['tokens:read'],
      namespaces: ['alpha'],
    })
    expect([own.status, own.body.namespaces]).toEqual([201, ['alpha']])
    const foreign = clients.beta!.clientId
    const patch = await alphaAdmin('PATCH', `/v1/service-clients/${foreign}`, { scopes: ['tokens:read'] })
    expect([patch.status, patch.body.code]).toEqual([403, 'namespace_forbidden'])
    const del = await alphaAdmin('DELETE', `/v1/service-clients/${foreign}`)
    expect([del.status, del.body.code]).toEqual([403, 'namespace_forbidden'])
    const widen = await alphaAdmin('PATCH', `/v1/service-clients/${own.body.clientId}`, {
      namespaces: ['alpha', 'beta'],
    })
    expect([widen.status, widen.body.code]).toEqual([403, 'namespace_forbidden'])
    const [row] = await sql('SELECT scopes, namespaces FROM service_clients WHERE id = $1', [foreign])
    expect(row).toEqual({ scopes: SERVICE_SCOPES, namespaces: ['beta'] })
    const renamed = await alphaAdmin('PATCH', `/v1/service-clients/${own.body.clientId}`, {
      name: 'alpha worker',
      allowedReturnUrls: ['https://alpha.example.com/done'],
    })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({
      name: 'alpha worker',
      namespaces: ['alpha'],
      allowedReturnUrls: ['https://alpha.example.com/done'],
    })
  })

  it("rotate-secret and keys of another namespace's client: 403, its secret keeps working", async () => {
    const alphaAdmin = clients['alpha-admin']!.api
    const beta = clients.beta!
    const rotated = await alphaAdmin('POST', `/v1/service-clients/${beta.clientId}/rotate-secret`, {
      overlapSeconds: 0,
    })
    expect([rotated.status, rotated.body.code, rotated.body.clientSecret]).toEqual([
      403,
      'namespace_forbidden',
      undefined,
    ])
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: randomBytes(32).toString('base64url'), kid: 'k1' }
    const keyed = await alphaAdmin('PATCH', `/v1/service-clients/${beta.clientId}`, { jwks: { keys: [jwk] } })
    expect([keyed.status, keyed.body.code]).toEqual([403, 'namespace_forbidden'])
    const [row] = await sql('SELECT jwks, secret_hash IS NOT NULL AS secret FROM service_clients WHERE id = $1', [
      beta.clientId,
    ])
    expect(row).toEqual({ jwks: null, secret: true })
    expect((await issue(second, beta.clientId, beta.clientSecret)).length).toBeGreaterThan(0)
  })

  it('the list shows an admin only the clients it could manage', async () => {
    const names = async (api: Api) =>
      ((await api('GET', '/v1/service-clients')).body.items as Array<{ name: string; namespaces: string[] }>).map(
        (c) => c.name,
      )
    const seen = await names(clients['alpha-admin']!.api)
    expect(seen).toEqual(expect.arrayContaining(['alpha', 'alpha-admin']))
    for (const hidden of ['beta', 'both', 'bootstrap']) expect(seen).not.toContain(hidden)
    const all = await names(admin)
    expect(all).toEqual(expect.arrayContaining(['alpha', 'beta', 'both', 'alpha-admin', 'bootstrap']))
  })

  it("the audit trail shows an admin no other namespace's client events", async () => {
    type Event = { actor: string; namespace: string | null; detail: { name?: string } }
    const trail = async (api: Api) =>
      (await api('GET', '/v1/audit-events?type=service_client.created&limit=200')).body.items as Event[]
    const seen = await trail(clients['alpha-admin']!.api)
    expect(seen.map((e) => e.detail.name)).toContain('alpha-worker')
    expect(seen.every((e) => e.actor === clients['alpha-admin']!.clientId)).toBe(true)
    const all = (await trail(admin)).map((e) => e.detail.name)
    expect(all).toEqual(expect.arrayContaining(['alpha-worker', 'beta', 'alpha-admin']))
  })

  it('PATCH refuses bad input with a 400 naming the field, an unknown client with 404', async () => {
    const patch = (id: string, body: unknown) => admin('PATCH', `/v1/service-clients/${id}`, body)
    const id = clients.plain!.clientId
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'invalid_request', /at least|minProperties|fewer/],
      [{ namespaces: ['Bad'] }, 'invalid_request', /namespaces/],
      [{ namespaces: [] }, 'invalid_request', /namespaces/],
      [{ namespaces: ['*', 'alpha'] }, 'invalid_request', /namespaces/],
      [{ scopes: ['root'] }, 'invalid_scope', /scopes/],
      [{ allowedReturnUrls: ['javascript:alert(1)'] }, 'invalid_return_url', /allowedReturnUrls/],
      [{ name: '' }, 'invalid_request', /name/],
      [{ owner: 'x' }, 'invalid_request', /owner/],
    ]
    for (const [body, code, detail] of cases) {
      const res = await patch(id, body)
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([400, code])
      expect(res.body.detail, JSON.stringify(body)).toMatch(detail)
    }
    const missing = await patch('svc_missing', { name: 'x' })
    expect([missing.status, missing.body.code]).toEqual([404, 'service_client_not_found'])
    const url = `${broker.url}/v1/service-clients/${id}`
    expect(
      (await fetch(url, { method: 'PATCH', body: '{"name":"x"}', headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(401)
    const noAdmin = await clients.alpha!.api('PATCH', `/v1/service-clients/${id}`, { name: 'x' })
    expect([noAdmin.status, noAdmin.body.code]).toEqual([403, 'insufficient_scope'])
    const authorization = `Bearer ${await broker.token('clients:admin')}`
    expect(
      (await fetch(url, { method: 'PATCH', body: 'name=x', headers: { authorization, 'content-type': 'text/plain' } }))
        .status,
    ).toBe(415)
    const big = JSON.stringify({ name: 'x'.repeat(200_000) })
    expect(
      (await fetch(url, { method: 'PATCH', body: big, headers: { authorization, 'content-type': 'application/json' } }))
        .status,
    ).toBe(413)
  })
})

describe('changes hold for tokens already issued, on every replica, within 1 s', () => {
  /** Polls `probe` on the second replica until it returns true; the milliseconds it took. */
  async function within(probe: () => Promise<boolean>, limitMs = 1000): Promise<number> {
    const started = Date.now()
    while (!(await probe())) {
      if (Date.now() - started > limitMs) throw new Error(`not observed within ${limitMs} ms`)
      await new Promise((r) => setTimeout(r, 20))
    }
    return Date.now() - started
  }

  it('narrowed scopes, removed namespaces and a deletion', async () => {
    const worker = await register('worker', ['alpha', 'beta'], ['tokens:read', 'connections:read'])
    const onSecond = apiClient(second, clients.worker!.token)
    const vend = async () => (await onSecond('POST', `/v1/connections/${conns.alpha}/access-token`, {})).status
    // The new client reaches the second replica's cache by the change feed too.
    await within(async () => (await vend()) === 200)
    expect((await onSecond('GET', `/v1/connections/${conns.alpha}`)).status).toBe(200)

    expect((await admin('PATCH', `/v1/service-clients/${worker.clientId}`, { scopes: ['tokens:read'] })).status).toBe(
      200,
    )
    await within(
      async () => (await onSecond('GET', `/v1/connections/${conns.alpha}`)).body.code === 'insufficient_scope',
    )
    expect(await vend()).toBe(200)
    // Widening the scopes again does not widen the token beyond its own claim... which had both.
    expect(
      (
        await admin('PATCH', `/v1/service-clients/${worker.clientId}`, {
          scopes: ['tokens:read', 'connections:read', 'connections:revoke'],
        })
      ).status,
    ).toBe(200)
    await within(async () => (await onSecond('GET', `/v1/connections/${conns.alpha}`)).status === 200)
    const revoke = await onSecond('DELETE', `/v1/connections/${conns.alpha}`)
    expect([revoke.status, revoke.body.code]).toEqual([403, 'insufficient_scope'])

    expect((await admin('PATCH', `/v1/service-clients/${worker.clientId}`, { namespaces: ['beta'] })).status).toBe(200)
    await within(async () => (await vend()) === 404)
    const gone = await onSecond('POST', `/v1/connections/${conns.alpha}/access-token`, {})
    expect(gone.body).toEqual({
      type: 'about:blank',
      title: 'No such connection',
      status: 404,
      code: 'connection_not_found',
    })
    expect((await onSecond('POST', `/v1/connections/${conns.beta}/access-token`, {})).status).toBe(200)

    expect((await admin('DELETE', `/v1/service-clients/${worker.clientId}`)).status).toBe(204)
    await within(async () => (await vend()) === 401)
  })
})
