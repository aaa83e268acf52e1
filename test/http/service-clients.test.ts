// The admin API for service clients: secret shown once and stored only as a slow hash,
// return URLs validated, deletion effective at once for the client's broker tokens.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'
import type { Json } from '../support/json.js'

let broker: TestBroker
let admin: string

beforeAll(async () => {
  broker = await startBroker()
  admin = await broker.token('clients:admin')
})
afterAll(async () => broker?.close())

async function api(method: string, path: string, body?: unknown, token = admin) {
  const res = await fetch(`${broker.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Record<string, Json>) : undefined,
  }
}

async function clientToken(clientId: string, clientSecret: string, scope?: string) {
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      ...(scope ? { scope } : {}),
    }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, Json> }
}

describe('service clients', () => {
  it('creates a client whose secret is returned once and stored only as a keyed hash', async () => {
    const created = await api('POST', '/v1/service-clients', {
      name: 'billing',
      scopes: ['tokens:read', 'connections:read'],
      allowedReturnUrls: ['https://billing.example.com/oauth/done'],
    })
    expect(created.status).toBe(201)
    const { clientId, clientSecret } = created.body!
    expect(clientId).toMatch(/^svc_/)
    expect(clientSecret.length).toBeGreaterThanOrEqual(43)
    expect(created.body).toMatchObject({
      name: 'billing',
      scopes: ['tokens:read', 'connections:read'],
      allowedReturnUrls: ['https://billing.example.com/oauth/done'],
    })

    const listed = await api('GET', '/v1/service-clients')
    const entry = listed.body!.items.find((c: { clientId: string }) => c.clientId === clientId)
    expect(entry).toBeDefined()
    expect(JSON.stringify(listed.body)).not.toContain(clientSecret)
    expect(entry).not.toHaveProperty('clientSecret')

    const c = new pg.Client({ connectionString: broker.databaseUrl })
    await c.connect()
    const { rows } = await c.query('SELECT secret_hash FROM service_clients WHERE id = $1', [clientId])
    await c.end()
    expect(rows[0].secret_hash).toMatch(/^hmac-sha256\$k1\$[\w-]{43}$/)
    expect(rows[0].secret_hash).not.toContain(clientSecret)

    const token = await clientToken(clientId, clientSecret)
    expect(token.status).toBe(200)
    expect(token.body.scope).toBe('tokens:read connections:read')
    expect((await clientToken(clientId, clientSecret, 'clients:admin')).body.error).toBe('invalid_scope')
  })

  it('deletes a client: its token stops working at once, its credentials too, and a second delete is 404', async () => {
    const { body } = await api('POST', '/v1/service-clients', { name: 'temp', scopes: ['clients:admin'] })
    const token = (await clientToken(body!.clientId, body!.clientSecret)).body.access_token as string
    expect((await api('GET', '/v1/service-clients', undefined, token)).status).toBe(200)
    expect((await api('DELETE', `/v1/service-clients/${body!.clientId}`)).status).toBe(204)
    const after = await api('GET', '/v1/service-clients', undefined, token)
    expect([after.status, after.body!.code]).toEqual([401, 'unauthorized'])
    expect((await clientToken(body!.clientId, body!.clientSecret)).status).toBe(401)
    const again = await api('DELETE', `/v1/service-clients/${body!.clientId}`)
    expect([again.status, again.body!.code]).toEqual([404, 'service_client_not_found'])
  })

  it('records creation and deletion as audit events', async () => {
    const { body } = await api('POST', '/v1/service-clients', { name: 'audited', scopes: ['tokens:read'] })
    await api('DELETE', `/v1/service-clients/${body!.clientId}`)
    const events = await api('GET', '/v1/audit-events?limit=200')
    const mine = events.body!.items.filter(
      (e: { detail: { clientId?: string } }) => e.detail.clientId === body!.clientId,
    )
    expect(mine.map((e: { type: string }) => e.type).sort()).toEqual([
      'service_client.created',
      'service_client.deleted',
    ])
    expect(mine.every((e: { actor: string }) => e.actor === 'bootstrap-admin')).toBe(true)
  })

  it('refuses unknown scopes, open-redirect return URLs, unknown fields and bad ids', async () => {
    const bad = async (body: unknown, code: string) => {
      const res = await api('POST', '/v1/service-clients', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.type).toContain('application/problem+json')
      expect(res.body!.code).toBe(code)
    }
    await bad({ name: 'x', scopes: ['root'] }, 'invalid_scope')
    for (const url of [
      'javascript:alert(1)',
      '//evil.example',
      '/\\evil.example',
      'https:evil.example',
      'http://evil.example/cb',
      'https://user:pw@app.example.com/',
      'https://app.example.com/#x',
      'https://app.example.com/\r\nX: y',
    ]) {
      await bad({ name: 'x', scopes: ['tokens:read'], allowedReturnUrls: [url] }, 'invalid_return_url')
    }
    await bad({ name: 'x', scopes: ['tokens:read'], admin: true }, 'invalid_request')
    await bad({ name: '', scopes: ['tokens:read'] }, 'invalid_request')
    for (const id of ['..%2F..%2Fetc', "x'%20OR%201=1", 'a'.repeat(300), '%00']) {
      const res = await api('DELETE', `/v1/service-clients/${id}`)
      expect([400, 404], id).toContain(res.status)
    }
  })
})
