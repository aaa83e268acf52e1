// The API document is ready for client generators: every operation has a unique
// operationId, every shared shape is a named component (no object schema is spelled out
// twice), every problem response lists its codes as an enum, every response documents the
// x-request-id it echoes and every 503 and 429 its Retry-After. The served side of the
// first is checked here against a running broker, Retry-After in test/http/operations.test.ts.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROBLEMS } from '../../src/errors.js'
import { startBroker, type TestBroker } from '../support/broker.js'

type Json = Record<string, unknown>
type Response = { headers?: Json; content?: Record<string, { schema: Json }> }
type Operation = { operationId?: string; parameters?: Json[]; responses: Record<string, Response> }
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> } }

const doc = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as Doc
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
)

/** Every object schema with members, by its JSON, with where it occurs. */
function objectSchemas(node: unknown, at: string, out: Map<string, string[]>): Map<string, string[]> {
  if (Array.isArray(node)) node.forEach((item, i) => void objectSchemas(item, `${at}/${i}`, out))
  else if (node !== null && typeof node === 'object') {
    const object = node as Json
    if (object.properties && Object.keys(object.properties).length > 0) {
      const key = JSON.stringify(object)
      out.set(key, [...(out.get(key) ?? []), at])
    }
    for (const [k, v] of Object.entries(object)) objectSchemas(v, `${at}/${k}`, out)
  }
  return out
}

describe('openapi.yaml for generators', () => {
  it('gives every operation a unique operationId', () => {
    const ids = operations.map(({ name, op }) => {
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z]+$/)
      return op.operationId
    })
    expect(ids.length).toBeGreaterThan(20)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('spells out no object schema twice: shared shapes are components, referenced', () => {
    const twice = [...objectSchemas(doc, '', new Map()).values()].filter((places) => places.length > 1)
    expect(twice).toEqual([])
    const connection = '#/components/schemas/Connection'
    const get = doc.paths['/v1/connections/{id}']!.get!.responses['200']!.content!['application/json']!.schema
    expect(get).toEqual({ $ref: connection })
    expect(doc.components.schemas.ConnectionPage).toMatchObject({
      properties: { items: { items: { $ref: connection } } },
    })
  })

  it('lists the codes of every problem response as an enum of registered codes of its status', () => {
    let count = 0
    for (const { name, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        const schema = response.content?.['application/problem+json']?.schema
        if (!schema) continue
        const ref = String(schema.$ref).replace('#/components/schemas/', '')
        const component = doc.components.schemas[ref] as {
          allOf: Array<{ properties?: { code?: { enum: string[] } } }>
        }
        const codes = component.allOf[1]!.properties!.code!.enum
        expect(codes.length, `${name} ${status}`).toBeGreaterThan(0)
        for (const code of codes) expect(PROBLEMS[code as keyof typeof PROBLEMS]?.status, code).toBe(Number(status))
        count++
      }
    }
    expect(count).toBeGreaterThan(100)
  })

  it('documents x-request-id on every operation and response, Retry-After on every 503 and 429', () => {
    for (const { name, op } of operations) {
      expect(op.parameters, name).toContainEqual({ $ref: '#/components/parameters/RequestId' })
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers?.['x-request-id'], `${name} ${status}`).toBeDefined()
        const retry = response.headers?.['Retry-After']
        if (status === '503' || status === '429') expect(retry, `${name} ${status}`).toBeDefined()
        else expect(retry, `${name} ${status}`).toBeUndefined()
      }
    }
  })
})

describe('x-request-id as served', () => {
  let direct: TestBroker
  let behindProxy: TestBroker
  beforeAll(async () => {
    direct = await startBroker()
    behindProxy = await startBroker({ env: { TRUST_PROXY: '127.0.0.1' }, databaseUrl: direct.databaseUrl })
  })
  afterAll(async () => {
    await behindProxy?.close()
    await direct?.close()
  })

  it('generates an id per request and echoes it, ignoring one sent by an untrusted peer', async () => {
    const a = await fetch(`${direct.url}/healthz`, { headers: { 'x-request-id': 'from-the-client' } })
    const b = await fetch(`${direct.url}/v1/connections`)
    expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(b.status).toBe(401)
    expect(b.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(b.headers.get('x-request-id')).not.toBe(a.headers.get('x-request-id'))
  })

  it('keeps a well-formed id from a trusted proxy, and logs it', async () => {
    const res = await fetch(`${behindProxy.url}/v1/nowhere`, { headers: { 'x-request-id': 'edge-42.a:b' } })
    expect(res.status).toBe(404)
    expect(res.headers.get('x-request-id')).toBe('edge-42.a:b')
    expect(behindProxy.logs.some((line) => line.includes('"reqId":"edge-42.a:b"'))).toBe(true)
    const bad = await fetch(`${behindProxy.url}/healthz`, { headers: { 'x-request-id': 'no spaces allowed' } })
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
})
