// The per-address rate limits work (docs/security.md, checklist item 25): with a small limit, the request
// after the limit answers 429 on the token endpoint, every browser route and every admin
// route, with Retry-After, and the refusal is cheap (no credential check, no provider call).
// The other hostile-input files turn the limits off so that their hundreds of requests
// from 127.0.0.1 are judged on their content.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { Figures, headerProblems, internalsIn, raw, type RawRequest } from './support.js'

const LIMIT = 3
let broker: TestBroker
let token: string
const figures = new Figures('rate limits')

beforeAll(async () => {
  broker = await startBroker({
    env: { RATE_LIMIT_TOKEN: String(LIMIT), RATE_LIMIT_BROWSER: String(LIMIT), RATE_LIMIT_ADMIN: String(LIMIT) },
    providers: {
      idp: {
        authorizationUrl: 'http://127.0.0.1:1/auth',
        tokenUrl: 'http://127.0.0.1:1/token',
        clientId: 'c',
        clientSecret: 's',
        scopes: ['openid'],
      },
    },
  })
  // Taken before the token endpoint's budget is spent by the test below.
  token = await broker.token()
})

afterAll(async () => {
  figures.print()
  await broker?.close()
})

describe('rate limits', () => {
  const basic = `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`
  type Route = [string, () => RawRequest, 'json' | 'problem' | 'html']
  const routes: Route[] = [
    [
      'POST /oauth/token',
      () => ({
        method: 'POST',
        path: '/oauth/token',
        headers: [
          ['authorization', basic],
          ['content-type', 'application/x-www-form-urlencoded'],
        ],
        body: 'grant_type=client_credentials',
      }),
      'problem',
    ],
    ['GET /connect/:token', () => ({ path: `/connect/${'t'.repeat(43)}` }), 'html'],
    ['GET /oauth/callback/:provider', () => ({ path: '/oauth/callback/idp?state=forged&code=forged' }), 'html'],
    [
      'GET /v1/service-clients',
      () => ({ path: '/v1/service-clients', headers: [['authorization', `Bearer ${token}`]] }),
      'problem',
    ],
    [
      'GET /v1/signing-keys',
      () => ({ path: '/v1/signing-keys', headers: [['authorization', `Bearer ${token}`]] }),
      'problem',
    ],
    [
      'GET /v1/audit-events',
      () => ({ path: '/v1/audit-events', headers: [['authorization', `Bearer ${token}`]] }),
      'problem',
    ],
    // Refused requests count too: a bad body or an unknown id still spends the budget.
    [
      'POST /connect/:token',
      () => ({
        method: 'POST',
        path: `/connect/${'t'.repeat(43)}`,
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: 'attempt=x',
      }),
      'html',
    ],
    [
      'POST /v1/service-clients',
      () => ({
        method: 'POST',
        path: '/v1/service-clients',
        headers: [
          ['authorization', `Bearer ${token}`],
          ['content-type', 'application/json'],
        ],
        body: '{}',
      }),
      'problem',
    ],
    [
      'PATCH /v1/service-clients/:clientId',
      () => ({
        method: 'PATCH',
        path: '/v1/service-clients/svc_none',
        headers: [
          ['authorization', `Bearer ${token}`],
          ['content-type', 'application/json'],
        ],
        body: '{"name":"x"}',
      }),
      'problem',
    ],
    [
      'DELETE /v1/service-clients/:clientId',
      () => ({
        method: 'DELETE',
        path: '/v1/service-clients/svc_none',
        headers: [['authorization', `Bearer ${token}`]],
      }),
      'problem',
    ],
    [
      'POST /v1/signing-keys/rotate',
      () => ({
        method: 'POST',
        path: '/v1/signing-keys/rotate',
        headers: [
          ['authorization', `Bearer ${token}`],
          ['content-type', 'application/json'],
        ],
        body: '{"activateInSeconds":1}',
      }),
      'problem',
    ],
    [
      'POST /v1/connections/:id/confirm',
      () => ({
        method: 'POST',
        path: '/v1/connections/conn_none/confirm',
        headers: [
          ['authorization', `Bearer ${token}`],
          ['content-type', 'application/json'],
        ],
        body: '{"confirmationCode":"guess"}',
      }),
      'problem',
    ],
    [
      'POST /v1/service-clients/:clientId/rotate-secret',
      () => ({
        method: 'POST',
        path: '/v1/service-clients/svc_none/rotate-secret',
        headers: [
          ['authorization', `Bearer ${token}`],
          ['content-type', 'application/json'],
        ],
        body: '{}',
      }),
      'problem',
    ],
    ...webhookEndpointRoutes(),
  ]

  /** The webhook-endpoint routes share the admin limit; an unknown id spends it too. */
  function webhookEndpointRoutes(): Route[] {
    const json = (method: string, path: string, body?: string) => () => ({
      method,
      path,
      headers: [
        ['authorization', `Bearer ${token}`],
        ...(body === undefined ? [] : [['content-type', 'application/json']]),
      ] as Array<[string, string]>,
      ...(body === undefined ? {} : { body }),
    })
    const one = '/v1/webhook-endpoints/whe_none'
    return [
      ['POST /v1/webhook-endpoints', json('POST', '/v1/webhook-endpoints', '{}'), 'problem'],
      ['GET /v1/webhook-endpoints', json('GET', '/v1/webhook-endpoints'), 'problem'],
      ['GET /v1/webhook-endpoints/:id', json('GET', one), 'problem'],
      ['PATCH /v1/webhook-endpoints/:id', json('PATCH', one, '{"enabled":false}'), 'problem'],
      ['DELETE /v1/webhook-endpoints/:id', json('DELETE', one), 'problem'],
      ['POST /v1/webhook-endpoints/:id/rotate-secret', json('POST', `${one}/rotate-secret`, '{}'), 'problem'],
      ['GET /v1/webhook-endpoints/:id/deliveries', json('GET', `${one}/deliveries`), 'problem'],
    ]
  }

  for (const [name, request, type] of routes) {
    it(`${name}: ${LIMIT} requests pass, the next is 429 with Retry-After`, async () => {
      // The token endpoint already served one request (the broker token above).
      const allowed = name === 'POST /oauth/token' ? LIMIT - 1 : LIMIT
      const statuses: number[] = []
      for (let i = 0; i < allowed; i++) statuses.push((await raw(broker.url, request())).status)
      expect(
        statuses.every((s) => s !== 429),
        statuses.join(','),
      ).toBe(true)
      const limited = await raw(broker.url, request())
      figures.record('requests past the limit', name, { status: limited.status, accepted: limited.status !== 429 })
      expect(limited.status).toBe(429)
      expect(Number(limited.header('retry-after'))).toBeGreaterThan(0)
      expect(limited.header('content-type')).toContain(type === 'html' ? 'text/html' : 'application/problem+json')
      expect(headerProblems(limited)).toEqual([])
      expect(internalsIn(limited.text)).toBeUndefined()
    })
  }
})

describe('routes without a rate limit (token vending and connections: the internal hot path)', () => {
  const auth = (): Array<[string, string]> => [['authorization', `Bearer ${token}`]]
  const json = (): Array<[string, string]> => [...auth(), ['content-type', 'application/json']]
  const routes: Array<[string, () => RawRequest]> = [
    ['GET /v1/providers', () => ({ path: '/v1/providers', headers: auth() })],
    ['GET /v1/connections', () => ({ path: '/v1/connections', headers: auth() })],
    ['POST /v1/connections', () => ({ method: 'POST', path: '/v1/connections', headers: json(), body: '{}' })],
    ['GET /v1/connections/:id', () => ({ path: '/v1/connections/conn_none', headers: auth() })],
    ['DELETE /v1/connections/:id', () => ({ method: 'DELETE', path: '/v1/connections/conn_none', headers: auth() })],
    [
      'POST /v1/connections/:id/access-token',
      () => ({ method: 'POST', path: '/v1/connections/conn_none/access-token', headers: json(), body: '{}' }),
    ],
    [
      'POST /v1/connect-sessions',
      () => ({ method: 'POST', path: '/v1/connect-sessions', headers: json(), body: '{}' }),
    ],
  ]
  for (const [name, request] of routes) {
    it(`${name}: never 429 (so openapi.yaml declares none)`, async () => {
      const statuses = new Set<number>()
      for (let i = 0; i < 3 * LIMIT; i++) statuses.add((await raw(broker.url, request())).status)
      expect([...statuses].filter((s) => s === 429 || s >= 500)).toEqual([])
    })
  }
})

describe('afterwards', () => {
  it('nothing past a limit was served, no 5xx', () => {
    figures.expectZeros()
  })
})
