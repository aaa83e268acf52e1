// openapi.yaml is generated from the route schemas; this test fails when the committed
// file differs from what the routes declare (run `npm run openapi`), when a served route
// is missing from it, or when a /v1 route has no required scope. The test broker also
// fails any test file in which the service answered a status its route does not declare
// (test/support/broker.ts), and a complete run fails when a documented response was never
// served (test/support/documented-responses.ts), so "documented" and "served" agree both ways.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openApiDocument } from '../../src/openapi-document.js'
import { createAjv } from '../../src/validation.js'
import { startBroker, type TestBroker } from '../support/broker.js'
import {
  ALLOWED_UNSERVED,
  documentedResponses,
  responseKey,
  staleAllowances,
  unserved,
} from '../support/documented-responses.js'

type Operation = { security?: Array<Record<string, string[]>>; responses: Record<string, unknown> }
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } }

let broker: TestBroker
let generated: Doc
const committed = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Doc

beforeAll(async () => {
  // Every catalog provider configured, so GET /v1/providers shows each mode.
  broker = await startBroker({
    providers: {
      chatwork: { clientId: 'a', clientSecret: 'b' },
      livechat: { clientId: 'a', clientSecret: 'b' },
      'zendesk-chat': { clientId: 'a', clientSecret: 'b' },
      respondio: {},
      interact: {},
    },
  })
  generated = (await openApiDocument()) as unknown as Doc
})
afterAll(async () => broker?.close())

describe('openapi.yaml', () => {
  it('is exactly what the route schemas declare (regenerate with `npm run openapi`)', () => {
    expect(committed).toEqual(generated)
  })

  it('lists every served route with its methods, and no route that is not served', () => {
    const documented = new Set<string>()
    for (const [path, methods] of Object.entries(committed.paths)) {
      for (const method of Object.keys(methods)) documented.add(`${method.toUpperCase()} ${path}`)
    }
    expect([...documented].sort()).toEqual([...routesOf(broker)].sort())
  })

  it('gives every /v1 route exactly one required scope, and every other route none of brokerToken', () => {
    for (const [path, methods] of Object.entries(committed.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const scopes = op.security?.flatMap((s) => s.brokerToken ?? []) ?? []
        if (path.startsWith('/v1/')) {
          expect(scopes, `${method} ${path}`).toHaveLength(1)
          expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403']))
        } else {
          expect(scopes, `${method} ${path}`).toHaveLength(0)
        }
      }
    }
  })

  it('describes GET /v1/providers exactly as served', async () => {
    const op = committed.paths['/v1/providers']!.get as unknown as {
      responses: Record<string, { content: Record<string, { schema: object }> }>
    }
    const schema = op.responses['200']!.content['application/json']!.schema
    // Named shapes are references into components/schemas: compiled with them.
    const { schemas } = committed.components
    const validate = createAjv({ strict: false }).compile({
      ...schema,
      additionalProperties: false,
      components: { schemas },
    })
    const res = await fetch(`${broker.url}/v1/providers`, {
      headers: { authorization: `Bearer ${await broker.token()}` },
    })
    const body = (await res.json()) as { items: Array<Record<string, unknown>> }
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true)
    expect(body.items.map((p) => p.key).sort()).toEqual([
      'chatwork',
      'interact',
      'livechat',
      'respondio',
      'zendesk-chat',
    ])
    // Every member the schema documents is present on every item, and nothing else.
    const documented = Object.keys((schemas.Provider as { properties: object }).properties).sort()
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(documented)
    expect(JSON.stringify(body)).not.toMatch(/"b"|clientSecret/)
  })

  it('is served rendered at /docs', async () => {
    const res = await fetch(`${broker.url}/docs`, { redirect: 'follow' })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('swagger-ui')
    const spec = await fetch(`${broker.url}/docs/json`)
    expect(((await spec.json()) as Doc).paths).toEqual(expect.objectContaining({ '/oauth/token': expect.anything() }))
  })
})

// The other half of "documented = served" runs after a complete run (global-setup's
// teardown); here its rules, and the allow-list against the document.
describe('documented responses no test serves', () => {
  const documented = new Set(['GET /a 200', 'GET /a 500', 'POST /b/{id} 404', 'POST /b/{id} 500'])

  it('are every documented (method, path, status) not served, unless allowed', () => {
    expect(responseKey('POST', '/b/:id', 404)).toBe('POST /b/{id} 404')
    const served = new Set(['GET /a 200', 'POST /b/{id} 404'])
    expect(unserved(documented, served, [])).toEqual(['GET /a 500', 'POST /b/{id} 500'])
    expect(unserved(documented, served, [['* * 500', 'why']])).toEqual([])
    expect(unserved(documented, served, [['GET /a 500', 'why']])).toEqual(['POST /b/{id} 500'])
    expect(unserved(documented, served, [['POST * 500', 'why']])).toEqual(['GET /a 500'])
  })

  it('flag allowances that are served after all or match nothing documented', () => {
    const served = new Set(['GET /a 200', 'GET /a 500'])
    expect(
      staleAllowances(documented, served, [
        ['GET /a 500', 'served'],
        ['* * 418', 'nothing'],
        ['POST /b/{id} 500', 'needed'],
      ]),
    ).toEqual(['GET /a 500', '* * 418'])
  })

  it('has allowances that each match a documented response, with a reason', () => {
    const all = documentedResponses(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
    expect(all.size).toBeGreaterThan(100)
    expect(staleAllowances(all, new Set(), ALLOWED_UNSERVED)).toEqual([])
    for (const [pattern, reason] of ALLOWED_UNSERVED) expect(reason.length, pattern).toBeGreaterThan(10)
  })
})

/** `METHOD /path` of every documented-kind route the app serves (OpenAPI path syntax). */
function routesOf(b: TestBroker): Set<string> {
  const out = new Set<string>()
  for (const route of b.app.routeTable) {
    if (route.url.startsWith('/docs') || route.method === 'HEAD') continue
    out.add(`${route.method} ${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`)
  }
  return out
}
