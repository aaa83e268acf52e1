// Property-based fuzzing of every route the broker serves (from `app.routeTable`, /docs
// left out) with fast-check: arbitrary path parameters, query strings, JSON and form
// bodies (arbitrary keys and values, wrong types, deep nesting, huge strings, malformed
// text), content types and headers. Invariants, checked on every answer:
//   - never a 5xx; never a 2xx or 3xx for an unauthenticated /v1 call (401 carries
//     WWW-Authenticate);
//   - a request the schema must refuse (unknown or repeated query parameter, unknown body
//     field, a body that is not a JSON object, a non-JSON content type, a path parameter
//     outside its pattern) is never answered 2xx;
//   - the status is one the route documents, with the content type it documents
//     (problem+json for /v1 errors), and an unmatched path answers problem+json;
//   - no stack trace, file path, SQL or ORM detail in a body; no CR/LF or injected header;
//   - browser routes never reach the provider's token endpoint nor store a connection.
// Each property runs a bounded number of times from a fixed seed (printed), collects every
// distinct violation with one example, and fails at the end with all of them.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { BOOTSTRAP_SECRET, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import {
  answeredBy,
  Figures,
  headerProblems,
  HOSTILE_SEGMENTS,
  HOSTILE_VALUES,
  internalsIn,
  NO_RATE_LIMITS,
  pct,
  raw,
  reflectionProblems,
  SEED,
  Secrets,
  type RawResponse,
} from './support.js'

const RUNS = Number(process.env.HOSTILE_RUNS ?? 300)
const RETURN = 'https://app.example.com/connected'

let as: AuthorizationServer
let broker: TestBroker
let token: string
let api: Api
let connectionId: string
let throwawayClientId: string
let connectToken: string
let routes: Route[]
const figures = new Figures('property-based fuzzing')
const secrets = new Secrets()
const started = Date.now()
const seeds: string[] = []

// --- what the served OpenAPI document says about each route ----------------------------

interface Route {
  method: string
  url: string
  /** Path parameter name → pattern and max length (from the schema). */
  params: Record<string, { pattern?: RegExp; maxLength?: number }>
  /** Query parameter names, when the route has a query schema. */
  query: string[] | undefined
  /** Only the callback's query schema accepts parameters it does not name. */
  queryOpen: boolean
  body: { type: string; props: string[]; closed: boolean } | undefined
  /** status → documented content types ([] for no body). */
  responses: Record<string, string[]>
}

interface OpenApiOperation {
  parameters?: Array<{ in: string; name: string; schema?: { pattern?: string; maxLength?: number } }>
  requestBody?: {
    content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: unknown } }>
  }
  responses: Record<string, { content?: Record<string, unknown> }>
}

function describeRoutes(): Route[] {
  const doc = broker.app.swagger() as unknown as { paths: Record<string, Record<string, OpenApiOperation>> }
  return broker.app.routeTable
    .filter((r) => !r.url.startsWith('/docs'))
    .map((r) => {
      const op = doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[(r.method === 'HEAD' ? 'GET' : r.method).toLowerCase()]
      if (!op) throw new Error(`${r.method} ${r.url} is not in the OpenAPI document`)
      const params: Route['params'] = {}
      for (const p of op.parameters ?? []) {
        if (p.in === 'path')
          params[p.name] = {
            pattern: p.schema?.pattern ? new RegExp(p.schema.pattern, 'u') : undefined,
            maxLength: p.schema?.maxLength,
          }
      }
      const queryNames = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)
      const [type, content] = Object.entries(op.requestBody?.content ?? {})[0] ?? []
      return {
        method: r.method,
        url: r.url,
        params,
        query: queryNames.length ? queryNames : undefined,
        queryOpen: r.url === '/oauth/callback/:provider',
        body:
          type && content
            ? {
                type,
                props: Object.keys(content.schema.properties ?? {}),
                closed: content.schema.additionalProperties === false,
              }
            : undefined,
        responses: Object.fromEntries(
          Object.entries(op.responses).map(([status, res]) => [status, Object.keys(res.content ?? {})]),
        ),
      }
    })
}

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    env: NO_RATE_LIMITS,
    providers: { idp: providerEntryFor(as) },
  })
  token = await broker.token()
  api = apiClient(broker, token)
  secrets.rememberJwt('broker token', token)
  secrets.remember('bootstrap secret', BOOTSTRAP_SECRET)
  secrets.remember('provider client secret', as.clientSecret)
  // Real things for the fuzzer to aim at: a connection, a client it may delete, a connect link.
  connectionId = await connectUser(api, as, { provider: 'idp', ownerId: 'fuzz-owner' })
  const vended = await api('POST', `/v1/connections/${connectionId}/access-token`, {})
  secrets.remember('provider access token', vended.body.accessToken)
  const client = await api('POST', '/v1/service-clients', { name: 'throwaway', scopes: ['tokens:read'] })
  throwawayClientId = client.body.clientId
  secrets.remember('throwaway client secret', client.body.clientSecret)
  const session = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'fuzz-owner',
    returnUrl: RETURN,
  })
  connectToken = (session.body.connectUrl as string).split('/').pop()!
  secrets.remember('connect link token', connectToken)
  routes = describeRoutes()
})

afterAll(async () => {
  figures.print([
    `fast-check: ${RUNS} runs per property (${RUNS * 3} for authenticated /v1), ` +
      `seeds ${seeds.join(', ')} (HOSTILE_SEED=${SEED}, HOSTILE_RUNS to change)`,
    `secrets searched in the logs: ${secrets.values.size}`,
    `runtime: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  ])
  await broker?.close()
  await as?.close()
})

// --- generators ----------------------------------------------------------------------------

const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_VALUES.map(([, v]) => v)) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  // Text mixing lone surrogates, NUL and non-ASCII: what JSON can carry and PostgreSQL cannot.
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom('a', 'é', '\ud800', '\udfff', '\0', '\u202e'),
      minLength: 1,
      maxLength: 8,
    }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 3_000, max: 20_000 }).map((n) => 'x'.repeat(n)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Infinity',
      '-0',
      '1e400',
      'NaN',
      '99999999999999999999',
      '-1',
      '0',
      'true',
      'null',
      '[]',
      '{}',
    ),
  },
)

/** Any JSON value, hostile strings included. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), hostileString, { maxKeys: 3 }) },
)

/** A value the route accepts for a field, so that a body is often valid but for one part. */
function validValue(name: string): unknown {
  const values: Record<string, unknown> = {
    provider: 'idp',
    ownerId: 'fuzz-owner',
    returnUrl: RETURN,
    credentials: { accessToken: 'fuzz-imported-token-0123456789' },
    params: {},
    scopes: ['tokens:read'],
    // A session for another connection would fail on its own; leave it out by default.
    connectionId: undefined,
    name: 'fuzz',
    allowedReturnUrls: [RETURN],
    activateInSeconds: 600,
    minValiditySeconds: 60,
    forceRefresh: false,
    grant_type: 'client_credentials',
    scope: 'tokens:read',
  }
  return name in values ? values[name] : 'x'
}

/** A path parameter: hostile, random text or bytes, well-formed, or a real id. */
function pathParam(name: string): fc.Arbitrary<string> {
  const real =
    name === 'id' ? connectionId : name === 'clientId' ? throwawayClientId : name === 'token' ? connectToken : 'idp'
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS.map(([, s]) => s)) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 70 }).map(pct) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 12 })
        .map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
    },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/) },
    { weight: 1, arbitrary: fc.constant(real) },
  )
}

interface Pair {
  key: string
  value: string
  /** Sent undecoded (may be malformed): left out of the schema reasoning. */
  raw?: boolean
}

function queryPairs(route: Route): fc.Arbitrary<Pair[]> {
  const names = [...(route.query ?? []), 'state', 'code', 'iss', 'limit', 'cursor']
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }) },
  )
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.record({ key, value: hostileString }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Pair>(
        { key: '%zz', value: '%zz', raw: true },
        { key: 'a', value: 'b=c', raw: true },
        { key: '', value: '', raw: true },
        { key: 'limit', value: '1+1', raw: true },
      ),
    },
  )
  // Often one documented parameter with a hostile value and nothing else wrong, so the value itself reaches the
  // handler.
  const single = route.query
    ? fc.record({ key: fc.constantFrom(...route.query), value: hostileString }).map((p) => [p])
    : fc.constant<Pair[]>([])
  return fc.oneof({ weight: 2, arbitrary: single }, { weight: 2, arbitrary: fc.array(pair, { maxLength: 5 }) })
}

function encodeQuery(pairs: Pair[]): string {
  if (!pairs.length) return ''
  return `?${pairs.map((p) => (p.raw ? `${p.key}=${p.value}` : `${pct(p.key)}=${pct(p.value)}`)).join('&')}`
}

interface Body {
  text: string
  contentType: string | undefined
  /** Parsed, when it was generated as JSON. */
  json?: unknown
}

const CONTENT_TYPES = [
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/json',
  'application/jsonx',
  'garbage',
  '',
]

function bodyArb(route: Route): fc.Arbitrary<Body | undefined> {
  const props = route.body?.props ?? []
  const extraKey = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('__proto__', 'constructor', 'admin', 'unknown'),
  )
  // Mostly valid objects with some fields hostile, some unknown.
  const object = fc
    .tuple(
      fc.subarray(props),
      fc.subarray(props),
      fc.array(fc.tuple(extraKey, anyValue), { maxLength: 2 }),
      fc.array(anyValue, { minLength: props.length, maxLength: props.length }),
    )
    .map(([present, hostile, extra, values]) => {
      const body: Record<string, unknown> = {}
      present.forEach((name) => {
        body[name] = hostile.includes(name) ? values[props.indexOf(name)] : validValue(name)
      })
      for (const [k, v] of extra)
        Object.defineProperty(body, k, { value: v, enumerable: true, configurable: true, writable: true })
      return body
    })
  // Often a valid body but for one field, so the hostile value itself reaches the handler.
  const oneHostile = props.length
    ? fc
        .tuple(fc.constantFrom(...props), anyValue)
        .map(([name, value]) => Object.fromEntries(props.map((p) => [p, p === name ? value : validValue(p)])))
    : fc.constant({})
  const json: fc.Arbitrary<Body> = fc.oneof(
    {
      weight: 6,
      arbitrary: oneHostile.map((o) => ({ text: JSON.stringify(o), json: o, contentType: 'application/json' })),
    },
    {
      weight: 3,
      arbitrary: object.map((o) => ({ text: JSON.stringify(o), json: o, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: anyValue.map((v) => ({ text: JSON.stringify(v) ?? 'null', json: v, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 20_000 })
        .map((n) => ({ text: `${'['.repeat(n)}${']'.repeat(n)}`, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60_000, max: 90_000 })
        .map((n) => ({ text: JSON.stringify({ x: 'a'.repeat(n) }), contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: 'binary', maxLength: 100 })
        .map((t) => ({ text: t, contentType: 'application/json' })),
    },
  )
  const form: fc.Arbitrary<Body> = fc
    .array(
      fc.tuple(fc.oneof(fc.constantFrom(...props, 'attempt', 'apiKey'), fc.string({ maxLength: 10 })), hostileString),
      { maxLength: 5 },
    )
    .map((pairs) => ({
      text: pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&'),
      contentType: 'application/x-www-form-urlencoded',
    }))
  const other: fc.Arbitrary<Body> = fc
    .tuple(
      fc.constantFrom<string | undefined>(...CONTENT_TYPES, undefined),
      fc.oneof(
        fc.string({ maxLength: 50 }),
        object.map((o) => JSON.stringify(o)),
      ),
    )
    .map(([contentType, text]) => ({ text, contentType }))
  const [own, foreign] = route.body?.type === 'application/x-www-form-urlencoded' ? [form, json] : [json, form]
  if (route.body)
    return fc.oneof({ weight: 6, arbitrary: own }, { weight: 1, arbitrary: foreign }, { weight: 1, arbitrary: other })
  // Routes without a body: usually none; DELETE sometimes gets one anyway.
  return route.method === 'DELETE'
    ? fc.option(fc.oneof(json, other), { freq: 3 }).map((b) => b ?? undefined)
    : fc.constant(undefined)
}

const headerValue = fc.oneof(
  fc.stringMatching(/^[\x20-\x7e]{0,60}$/),
  fc.constantFrom(...HOSTILE_VALUES.map(([, v]) => v).filter((v) => !/[\0\r\n]/.test(v) && v.length < 500)),
)
const extraHeaders = fc.array(
  fc.tuple(
    fc.constantFrom(
      'cookie',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'forwarded',
      'accept',
      'accept-encoding',
      'x-http-method-override',
      'origin',
      'referer',
      'user-agent',
      'content-encoding',
      'x-request-id',
      'if-none-match',
    ),
    headerValue,
  ),
  { maxLength: 3 },
)

/** Authorization values that must never authenticate. */
function garbageAuthorization(): fc.Arbitrary<string | undefined> {
  const b64 = fc
    .base64String({ minLength: 4, maxLength: 60 })
    .map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'))
  // One character in the middle of the genuine signature changed: a different signature.
  const mutated = fc.nat().map((n) => {
    const [h, p, s] = token.split('.') as [string, string, string]
    const i = 1 + (n % (s.length - 3))
    const c = s[i] === 'A' ? 'B' : 'A'
    return `Bearer ${h}.${p}.${s.slice(0, i)}${c}${s.slice(i + 1)}`
  })
  return fc.oneof(
    fc.constant(undefined),
    headerValue,
    fc.tuple(b64, b64, b64).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`),
    fc.constant(`Basic ${Buffer.from(`bootstrap-admin:${BOOTSTRAP_SECRET}`).toString('base64')}`),
    fc.constant(`Bearer ${token.split('.').slice(0, 2).join('.')}.`),
    mutated,
    hostileString.filter((v) => !/[\0\r\n]/.test(v) && v.length < 8000).map((v) => `Bearer ${v}`),
  )
}

interface FuzzRequest {
  route: Route
  method: string
  path: string
  pathValues: Record<string, string>
  pairs: Pair[]
  headers: Array<[string, string]>
  body: Body | undefined
}

function requestArb(pick: Route[], authorization: fc.Arbitrary<string | undefined>): fc.Arbitrary<FuzzRequest> {
  // Routes that take input get three times the runs of those that take none.
  const route = fc.oneof(
    ...pick.map((r) => ({
      weight: r.body || r.query || Object.keys(r.params).length ? 3 : 1,
      arbitrary: fc.constant(r),
    })),
  )
  return route.chain((route) => {
    const names = Object.keys(route.params)
    return fc
      .record({
        values: fc.tuple(...names.map((n) => pathParam(n))),
        pairs:
          route.method === 'POST' && !route.query
            ? fc.oneof({ weight: 4, arbitrary: fc.constant<Pair[]>([]) }, { weight: 1, arbitrary: queryPairs(route) })
            : queryPairs(route),
        body: bodyArb(route),
        authorization,
        extra: extraHeaders,
      })
      .map(({ values, pairs, body, authorization, extra }) => {
        const pathValues = Object.fromEntries(names.map((n, i) => [n, values[i] as string]))
        const path = route.url.replace(/:(\w+)/g, (_m, n: string) => pathValues[n]!) + encodeQuery(pairs)
        const headers: Array<[string, string]> = [...extra]
        if (authorization !== undefined) headers.push(['authorization', authorization])
        if (body?.contentType !== undefined) headers.push(['content-type', body.contentType])
        return { route, method: route.method, path, pathValues, pairs, headers, body }
      })
  })
}

// --- the invariants ------------------------------------------------------------------------

function decoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

/** Why the schema must refuse this request (empty when it may be accepted). */
function mustRefuse(req: FuzzRequest): string[] {
  const reasons: string[] = []
  const { route } = req
  for (const [name, spec] of Object.entries(route.params)) {
    const v = decoded(req.pathValues[name]!)
    if (v === undefined) reasons.push(`path ${name} is not decodable`)
    else if (
      (spec.pattern && !spec.pattern.test(v)) ||
      (spec.maxLength !== undefined && [...v].length > spec.maxLength)
    )
      reasons.push(`path ${name} outside its schema`)
  }
  if (route.query) {
    const clean = req.pairs.filter((p) => !p.raw)
    const counts = new Map<string, number>()
    for (const p of clean) counts.set(p.key, (counts.get(p.key) ?? 0) + 1)
    for (const [key, n] of counts) {
      if (!route.query.includes(key) && !route.queryOpen) reasons.push(`unknown query parameter ${key}`)
      if (n > 1 && route.query.includes(key)) reasons.push(`query parameter ${key} repeated`)
    }
  }
  if (route.body?.type === 'application/json' && req.body) {
    if (req.body.contentType === undefined || !/^application\/json(;|$)/.test(req.body.contentType)) {
      if (req.body.text.length > 0) reasons.push('body is not JSON by its content type')
    } else if (req.body.json !== undefined) {
      const j = req.body.json
      if (typeof j !== 'object' || j === null || Array.isArray(j)) reasons.push('body is not a JSON object')
      else if (route.body.closed) {
        const unknown = Object.keys(j).filter((k) => !route.body!.props.includes(k))
        if (unknown.length) reasons.push(`unknown body field ${unknown[0]}`)
      }
    }
  }
  return reasons
}

interface Violations {
  kinds: Map<string, string>
}

function add(v: Violations, kind: string, req: FuzzRequest, res: RawResponse) {
  if (v.kinds.has(kind)) return
  const headers = req.headers.map(([k, val]) => `${k}: ${val.slice(0, 80)}`).join(' | ')
  v.kinds.set(
    kind,
    `${req.method} ${req.path.slice(0, 200)} [${headers}] ` +
      `body=${JSON.stringify(req.body?.text.slice(0, 200) ?? null)} → ${res.status} ${res.text.slice(0, 160)}`,
  )
}

/**
 * Checks one answer against the route's documentation and the invariants; returns accepted (a 2xx it must not give).
 */
function check(v: Violations, req: FuzzRequest, res: RawResponse, options: { unauthenticated?: boolean }): boolean {
  const status = String(res.status)
  const type = res.header('content-type') ?? ''
  const by = answeredBy(res)
  // Refusals by the router are one defect whatever the route; by Node's parser, none of the application's business.
  const where =
    by === 'router'
      ? `router refusal (${/"code":"(FST_ERR_[A-Z_]+)"/.exec(res.text)?.[1]})`
      : `${req.method} ${req.route.url}`
  if (res.status >= 500) add(v, `${where}: ${status}`, req, res)
  for (const p of headerProblems(res)) add(v, `${where}: ${p}`, req, res)
  for (const p of reflectionProblems(res)) add(v, `${where}: ${p}`, req, res)
  const internals = internalsIn(res.text)
  if (internals) add(v, `${where}: internal detail (${internals})`, req, res)
  if (by === 'router') add(v, `${where}: ${status} as "${type}" without nosniff, not problem+json`, req, res)
  if (by === 'app') {
    const documented = req.route.responses[status]
    if (!documented) add(v, `${where}: status ${status} not documented`, req, res)
    else if (documented.length && req.method !== 'HEAD' && !documented.some((t) => type.startsWith(t)))
      add(v, `${where}: ${status} as "${type}", documented ${documented.join('|')}`, req, res)
  }
  let accepted = false
  if (options.unauthenticated && req.route.url.startsWith('/v1/')) {
    if (res.status < 400) accepted = true
    if (res.status === 401 && !/^Bearer realm=/.test(res.header('www-authenticate') ?? ''))
      add(v, `${where}: 401 without WWW-Authenticate`, req, res)
  } else if (res.status < 300) {
    const reasons = mustRefuse(req)
    if (reasons.length) {
      accepted = true
      add(v, `${where}: ${status} although ${reasons[0]}`, req, res)
    }
  }
  if (accepted && options.unauthenticated) add(v, `${where}: ${status} without authentication`, req, res)
  return accepted
}

/** Runs one property: sends each generated request, records figures, collects violations. */
async function fuzz(
  category: string,
  seedOffset: number,
  arb: fc.Arbitrary<FuzzRequest>,
  options: { unauthenticated?: boolean; sideEffects?: boolean; runs?: number } = {},
) {
  const seed = SEED + seedOffset
  seeds.push(`${category}: ${seed}`)
  const v: Violations = { kinds: new Map() }
  await fc.assert(
    fc.asyncProperty(arb, async (req) => {
      const tokenRequests = as.tokenRequests.length
      const connections = options.sideEffects ? await broker.db.prisma.connection.count() : 0
      const res = await raw(broker.url, {
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body?.text,
      })
      let accepted = check(v, req, res, options)
      if (options.sideEffects) {
        if (as.tokenRequests.length > tokenRequests)
          add(v, `${req.method} ${req.route.url}: reached the provider's token endpoint`, req, res)
        if ((await broker.db.prisma.connection.count()) > connections)
          add(v, `${req.method} ${req.route.url}: stored a connection`, req, res)
        // A 200 is a success page, except for HEAD of a connect link: it reports a usable
        // link and must start nothing (no binding cookie).
        const head = req.method === 'HEAD' && req.route.url.startsWith('/connect/')
        if (head && res.headers.some(([k]) => k.toLowerCase() === 'set-cookie'))
          add(v, `HEAD ${req.route.url}: set a cookie`, req, res)
        accepted ||= as.tokenRequests.length > tokenRequests || (res.status === 200 && !head)
      }
      figures.record(category, `${req.method} ${req.path.slice(0, 100)}`, { status: res.status, accepted })
      return true
    }),
    { seed, numRuns: options.runs ?? RUNS, endOnFailure: true },
  )
  expect
    .soft(
      [...v.kinds].map(([kind, example]) => `${kind}\n      e.g. ${example}`),
      `${category} (seed ${seed})`,
    )
    .toEqual([])
}

describe('fuzzing (fast-check, fixed seed)', () => {
  it('unauthenticated calls to /v1 routes: never 2xx, 401 with WWW-Authenticate', async () => {
    const v1 = routes.filter((r) => r.url.startsWith('/v1/'))
    expect(v1.length).toBeGreaterThanOrEqual(12)
    await fuzz('fuzz: unauthenticated /v1', 1, requestArb(v1, garbageAuthorization()), { unauthenticated: true })
  })

  it('authenticated calls to /v1 routes: never 5xx, schema-invalid input never 2xx, documented answers', async () => {
    // HEAD runs the GET handler: covered by the unauthenticated property. This is the
    // richest surface (every handler is reached): three times the runs.
    const v1 = routes.filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD')
    await fuzz('fuzz: authenticated /v1', 2, requestArb(v1, fc.constant(`Bearer ${token}`)), { runs: RUNS * 3 })
  })

  it(
    'browser routes (connect link, connect form, callback): ' +
      'never 5xx, never a provider call or a stored connection',
    async () => {
      const browser = routes.filter((r) => r.url.startsWith('/connect/') || r.url.startsWith('/oauth/callback/'))
      expect(browser.length).toBeGreaterThanOrEqual(5)
      await fuzz(
        'fuzz: browser routes',
        3,
        requestArb(
          browser,
          fc.option(headerValue, { freq: 4 }).map((x) => x ?? undefined),
        ),
        { sideEffects: true },
      )
    },
  )

  it('public routes and /oauth/token: never 5xx, documented answers', async () => {
    const open = routes.filter(
      (r) => !r.url.startsWith('/v1/') && !r.url.startsWith('/connect/') && !r.url.startsWith('/oauth/callback/'),
    )
    await fuzz('fuzz: public routes and /oauth/token', 4, requestArb(open, garbageAuthorization()))
  })

  it('unmatched paths and methods: 404 problem+json, never 5xx', async () => {
    const notFound: Route = {
      method: 'GET',
      url: '(unmatched)',
      params: {},
      query: undefined,
      queryOpen: true,
      body: undefined,
      responses: { 400: ['application/problem+json'], 404: ['application/problem+json'] },
    }
    const segment = fc.oneof(
      fc.constantFrom(...HOSTILE_SEGMENTS.map(([, s]) => s), 'v1', 'oauth', 'connect', 'docs', '.well-known', 'v2'),
      fc.string({ unit: 'binary', maxLength: 20 }).map(pct),
    )
    const arb = fc
      .record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        segments: fc.array(segment, { minLength: 1, maxLength: 5 }),
        pairs: queryPairs(notFound),
      })
      .map(
        ({ method, segments, pairs }) =>
          ({
            route: { ...notFound, method },
            method,
            path: `/${segments.join('/')}${encodeQuery(pairs)}`,
            pathValues: {},
            pairs,
            headers: [],
            body: undefined,
          }) as FuzzRequest,
      )
      // Paths that name a real route belong to the properties above.
      .filter(
        (req) =>
          !routes.some(
            (r) =>
              r.method === req.method &&
              new RegExp(`^${r.url.replace(/[.]/g, '\\.').replace(/:\w+/g, '[^/?]+')}(\\?|$)`).test(req.path),
          ) && !req.path.startsWith('/docs'),
      )
    await fuzz('fuzz: unmatched paths', 5, arb)
  })
})

describe('afterwards', () => {
  it('left no secret in the logs', async () => {
    for (const r of as.tokenRequests) {
      secrets.remember('authorization code', r.params.code)
      secrets.remember('PKCE verifier', r.params.code_verifier)
      secrets.remember('refresh token (sent)', r.params.refresh_token)
    }
    const row = await broker.db.prisma.connection.findUnique({ where: { id: connectionId } })
    if (row) secrets.remember('provider refresh token', broker.app.services.connections.open(row, 'refresh_token'))
    await secrets.expectNoneLogged(broker, RUNS)
  })

  it('nothing accepted, no 5xx', () => {
    figures.expectZeros()
  })
})
