// Input abuse on every /v1 route and on POST /oauth/token (docs/security.md, checklist
// items 6, 8, 23, 24, and "Adversarial cases", group input), with a valid all-scope broker
// token so that each request gets past authentication and only the hostile part can be
// refused: oversize bodies (413),
// malformed JSON (400), wrong content types (415; 400 invalid_request at /oauth/token),
// unknown fields and wrong types (400), hostile ids in paths and queries (400/404),
// duplicate query parameters (400), CR/LF that must never reach a response header, and
// open-redirect return URLs (400). Errors must be problem+json (RFC 6749 JSON at
// /oauth/token) without internals. Figures are printed at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import {
  CRLF_ENCODED,
  CRLF_PAYLOAD,
  Figures,
  headerProblems,
  HOSTILE_SEGMENTS,
  HOSTILE_VALUES,
  internalsIn,
  NO_RATE_LIMITS,
  pct,
  raw,
  reflectionProblems,
  Secrets,
  type RawRequest,
  type RawResponse,
} from './support.js'

const BODIES = 'bodies (size, JSON, content type, fields, types)'
const IDS = 'hostile ids in paths'
const QUERIES = 'hostile and duplicate query parameters'
const REDIRECTS = 'open-redirect return URLs'
const PROTOCOL = 'methods and HTTP framing'
const RETURN = 'https://app.example.com/connected'

let broker: TestBroker
let api: Api
let token: string
let connectionId: string
let bodyRoutes: Array<{ method: string; url: string }>
const figures = new Figures('input abuse on /v1 and /oauth/token')
const secrets = new Secrets()
const started = Date.now()

/** A body each POST route accepts, so that one change makes it hostile. */
function validBody(url: string): Record<string, unknown> {
  switch (url) {
    case '/v1/connect-sessions':
      return { provider: 'idp', ownerId: 'owner-1', returnUrl: RETURN }
    case '/v1/connections':
      return {
        provider: 'idp',
        ownerId: 'owner-1',
        credentials: { accessToken: 'imported-access-token-0123456789abcdef' },
      }
    case '/v1/service-clients':
      return { name: 'svc', scopes: ['tokens:read'] }
    case '/v1/signing-keys/rotate':
      return { activateInSeconds: 600 }
    default:
      return {}
  }
}

beforeAll(async () => {
  broker = await startBroker({
    env: NO_RATE_LIMITS,
    providers: {
      // Never called: imports and sessions need no provider call; no revocation URL.
      idp: {
        authorizationUrl: 'http://127.0.0.1:1/auth',
        tokenUrl: 'http://127.0.0.1:1/token',
        clientId: 'c',
        clientSecret: 's',
        scopes: ['openid'],
      },
    },
  })
  token = await broker.token()
  api = apiClient(broker, token)
  secrets.rememberJwt('broker token', token)
  secrets.remember('bootstrap secret', BOOTSTRAP_SECRET)
  const imported = await api('POST', '/v1/connections', validBody('/v1/connections'))
  expect(imported.status).toBe(201)
  connectionId = imported.body.id
  secrets.remember('imported access token', 'imported-access-token-0123456789abcdef')
  bodyRoutes = broker.app.routeTable.filter(
    (r) =>
      (r.url.startsWith('/v1/') && ['POST', 'PATCH', 'DELETE'].includes(r.method as string)) ||
      r.url === '/oauth/token',
  )
})

afterAll(async () => {
  figures.print([
    `secrets searched in the logs: ${secrets.values.size}`,
    `runtime: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  ])
  await broker?.close()
})

// --- sending and checking ---------------------------------------------------------------

const auth = (): Array<[string, string]> => [['authorization', `Bearer ${token}`]]
// Ids that name nothing: a hostile body sent to DELETE must not delete anything real either.
const pathOf = (url: string) => url.replace(':id', 'conn_missing').replace(':clientId', 'svc_missing')
const isOAuth = (path: string) => path.startsWith('/oauth/token')

interface Expected {
  statuses: number[]
  /** problem code (or RFC 6749 error at /oauth/token) the answer must carry. */
  code?: string
  /** Answers that come from Node's HTTP parser, before the application: any content type. */
  beforeApp?: boolean
}

function contractProblems(req: RawRequest, res: RawResponse, expected: Expected): string[] {
  const problems = [...headerProblems(res), ...reflectionProblems(res)]
  if (!expected.statuses.includes(res.status))
    problems.push(`status ${res.status}, expected ${expected.statuses.join('/')}`)
  const type = res.header('content-type') ?? ''
  let body: { code?: string; error?: string } = {}
  if (res.status >= 400 && !expected.beforeApp) {
    const oauth = isOAuth(req.path) && req.method === 'POST'
    const wanted = oauth && res.status !== 429 ? 'application/json' : 'application/problem+json'
    if (!type.startsWith(wanted)) problems.push(`content-type "${type}", expected ${wanted}`)
    try {
      body = JSON.parse(res.text) as typeof body
    } catch {
      problems.push('error body is not JSON')
    }
    const code = oauth ? body.error : body.code
    if (expected.code !== undefined && code !== expected.code) problems.push(`code ${code}, expected ${expected.code}`)
  }
  const internals = internalsIn(res.text)
  if (internals) problems.push(`internal detail in the body (${internals})`)
  return problems
}

async function attempt(
  category: string,
  label: string,
  req: RawRequest,
  expected: Expected,
  accepted?: (res: RawResponse) => boolean,
): Promise<RawResponse> {
  const res = await raw(broker.url, req)
  figures.record(category, label, {
    status: res.status,
    accepted: accepted ? accepted(res) : res.status >= 200 && res.status < 300,
  })
  expect
    .soft(contractProblems(req, res, expected), `${label} (${req.method ?? 'GET'} ${req.path.slice(0, 80)})`)
    .toEqual([])
  return res
}

/** A request with a body; /v1 requests carry the broker token, /oauth/token requests no credentials. */
function jsonRequest(
  method: string,
  path: string,
  body: string | Buffer,
  contentType = 'application/json',
): RawRequest {
  return { method, path, headers: [...(isOAuth(path) ? [] : auth()), ['content-type', contentType]], body }
}

// --- ids in paths ------------------------------------------------------------------------

describe('ids in paths', () => {
  it('hostile ids in every path parameter: 400 or 404, problem+json', async () => {
    const withParams = broker.app.routeTable.filter(
      (r) => r.url.startsWith('/v1/') && r.url.includes(':') && r.method !== 'HEAD',
    )
    expect(withParams.length).toBeGreaterThanOrEqual(4)
    for (const r of withParams) {
      for (const [label, segment] of HOSTILE_SEGMENTS) {
        const path = r.url.replace(/:\w+/, segment)
        const req: RawRequest =
          r.method === 'POST' ? jsonRequest('POST', path, '{}') : { method: r.method, path, headers: auth() }
        await attempt(IDS, `${label} as ${r.url}`, req, { statuses: [400, 404] })
      }
    }
    // The imported connection is still there: nothing above deleted or changed it.
    expect((await api('GET', `/v1/connections/${connectionId}`)).status).toBe(200)
  })
})

// --- queries -----------------------------------------------------------------------------

describe('queries', () => {
  const FILTERS: Record<string, string[]> = {
    '/v1/connections': ['provider', 'ownerId', 'status', 'namespace', 'cursor', 'limit'],
    '/v1/audit-events': ['connectionId', 'type', 'namespace', 'cursor', 'limit'],
  }
  const NUMERIC: Array<[string, string]> = [
    ['-1', '-1'],
    ['0', '0'],
    ['1.5', '1.5'],
    ['1e400', '1e400'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['20 nines', '99999999999999999999'],
    ['2^63', '9223372036854775808'],
    ['hex', '0x10'],
    ['[]', '[]'],
    ['{}', '{}'],
    ['__proto__', '__proto__'],
  ]

  it('hostile values in every query parameter: 400, or 200 with nothing matched', async () => {
    for (const [path, keys] of Object.entries(FILTERS)) {
      for (const key of keys) {
        for (const [label, value] of [...HOSTILE_VALUES, ...NUMERIC]) {
          const filter = key !== 'cursor' && key !== 'limit'
          await attempt(
            QUERIES,
            `${key}=${label}`,
            { path: `${path}?${key}=${pct(value)}`, headers: auth() },
            { statuses: [200, 400] },
            (res) => {
              // An injected filter returns rows whose field is not the value asked for.
              if (res.status !== 200 || !filter) return false
              return (JSON.parse(res.text) as { items: Array<Record<string, unknown>> }).items.some(
                (item) => item[key] !== value,
              )
            },
          )
        }
        // Raw, undecoded: bad percent-encoding, and a raw quote.
        await attempt(
          QUERIES,
          `${key}=%zz`,
          { path: `${path}?${key}=%zz`, headers: auth() },
          { statuses: [200, 400] },
          () => false,
        )
        await attempt(
          QUERIES,
          `${key}='--`,
          { path: `${path}?${key}='--`, headers: auth() },
          { statuses: [200, 400] },
          () => false,
        )
      }
    }
  })

  it('duplicate and array-style query parameters: 400', async () => {
    for (const [path, keys] of Object.entries(FILTERS)) {
      const sample: Record<string, string> = {
        provider: 'idp',
        ownerId: 'owner-1',
        status: 'active',
        cursor: '1',
        limit: '10',
        connectionId: connectionId,
        type: 'connection.created',
        namespace: 'default',
      }
      for (const key of keys) {
        const v = encodeURIComponent(sample[key]!)
        for (const [label, query] of [
          ['twice, same value', `${key}=${v}&${key}=${v}`],
          ['twice, different values', `${key}=${v}&${key}=other`],
          ['array syntax', `${key}[]=${v}`],
          ['indexed syntax', `${key}[0]=${v}`],
          ['object syntax', `${key}[$ne]=x`],
          ['upper-case name', `${key.toUpperCase()}=${v}`],
          ['unknown parameter', `${key}=${v}&unknown=1`],
        ] as Array<[string, string]>) {
          await attempt(
            QUERIES,
            `${key} ${label}`,
            { path: `${path}?${query}`, headers: auth() },
            { statuses: [400], code: 'invalid_request' },
          )
        }
      }
    }
    // The form body of /oauth/token: a repeated parameter is invalid_request (RFC 6749 §3.2).
    for (const key of ['grant_type', 'scope', 'client_id', 'client_secret']) {
      const form =
        `grant_type=client_credentials&client_id=${BOOTSTRAP_ID}` +
        `&client_secret=${encodeURIComponent(BOOTSTRAP_SECRET)}&scope=tokens%3Aread` +
        `&${key}=${key === 'grant_type' ? 'client_credentials' : 'x'}`
      await attempt(
        QUERIES,
        `/oauth/token ${key} twice`,
        {
          method: 'POST',
          path: '/oauth/token',
          headers: [['content-type', 'application/x-www-form-urlencoded']],
          body: form,
        },
        { statuses: [400], code: 'invalid_request' },
      )
    }
  })
})

// --- return URLs -------------------------------------------------------------------------

describe('return URLs', () => {
  const OPEN_REDIRECTS = [
    'https://evil.example',
    'https://evil.example/connected',
    '//evil.example',
    '//evil.example/connected',
    '/\\evil.example',
    '\\\\evil.example',
    '/connected',
    'https:evil.example',
    'https:/evil.example',
    'https:\\\\evil.example',
    'javascript:alert(1)',
    'JavaScript:alert(1)//https://app.example.com/connected',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'https://app.example.com.evil.example/connected',
    'https://allowed.example.evil.example',
    'https://app.example.com@evil.example/connected',
    'https://app.example.com\\@evil.example/connected',
    'https://app.example.com%2eevil.example/connected',
    'https://app.example.com./connected',
    'https://app.example.com:8443/connected',
    'http://app.example.com/connected',
    'https://xn--pp-8cd.example.com/connected',
    'https://аpp.example.com/connected',
    'https://app.example.com/connectedx',
    'https://app.example.com/connected/../evil',
    'https://app.example.com/connected/%2e%2e/evil',
    'https://app.example.com/Connected',
    'https://app.example.com/connected#https://evil.example',
    'https://user:pw@app.example.com/connected',
    'https://app.example.com/connected\r\nx-injected: 1',
    'https://app.example.com/connected%0d%0ax-injected:%201',
    ' https://app.example.com/connected',
    'https://app.example.com/connected ',
    'https://app.example.com/conn\tected',
    'http://127.0.0.1:1/return',
    'http://127.0.0.1/returnx',
    'http://127.0.0.1/return@evil.example',
    'http://127.0.0.2/return',
    'http://localhost/return',
    `https://app.example.com/connected/${'x'.repeat(2100)}`,
    '',
  ]

  it('open-redirect return URLs at session creation: 400', async () => {
    for (const returnUrl of OPEN_REDIRECTS) {
      await attempt(
        REDIRECTS,
        `returnUrl ${JSON.stringify(returnUrl).slice(0, 80)}`,
        jsonRequest('POST', '/v1/connect-sessions', JSON.stringify({ provider: 'idp', ownerId: 'o', returnUrl })),
        {
          statuses: [400],
        },
      )
    }
    // Control: an allowed URL below the registered path, with a query, is accepted.
    expect(
      (await api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'o', returnUrl: `${RETURN}/sub?x=1` }))
        .status,
    ).toBe(201)
  })

  it('unsafe allowed return URLs for a new service client: 400', async () => {
    // Unsafe whatever the origin: not absolute https (http only on loopback), credentials,
    // fragments, queries, control characters, backslashes, over 2048 characters.
    const unsafe = [
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/connected',
      'https:evil.example',
      'https:/evil.example',
      'https:\\\\evil.example',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'http://app.example.com/connected',
      'https://app.example.com\\@evil.example/connected',
      'https://user:pw@app.example.com/connected',
      'https://app.example.com@evil.example/connected',
      'https://app.example.com/connected#x',
      'https://app.example.com/connected?next=https://evil.example',
      'https://app.example.com/connected\r\nx-injected: 1',
      ' https://app.example.com/connected',
      'https://app.example.com/conn\tected',
      `https://app.example.com/${'x'.repeat(2100)}`,
      '',
    ]
    for (const url of unsafe) {
      await attempt(
        REDIRECTS,
        `allowedReturnUrls ${JSON.stringify(url).slice(0, 80)}`,
        jsonRequest(
          'POST',
          '/v1/service-clients',
          JSON.stringify({ name: 'svc', scopes: ['connect:write'], allowedReturnUrls: [url] }),
        ),
        { statuses: [400] },
      )
    }
  })
})

// --- bodies ----------------------------------------------------------------------------

describe('bodies', () => {
  it('oversize bodies: 413 (400 invalid_request at /oauth/token)', async () => {
    for (const r of bodyRoutes) {
      const path = pathOf(r.url)
      if (isOAuth(path)) {
        const form = `grant_type=client_credentials&scope=${'s'.repeat(9 * 1024)}`
        await attempt(BODIES, 'oversize form', jsonRequest('POST', path, form, 'application/x-www-form-urlencoded'), {
          statuses: [400, 413],
          code: 'invalid_request',
        })
        continue
      }
      await attempt(BODIES, '70 KB JSON', jsonRequest(r.method, path, JSON.stringify({ x: 'a'.repeat(70 * 1024) })), {
        statuses: [413],
        code: 'payload_too_large',
      })
      await attempt(BODIES, '1 MB JSON', jsonRequest(r.method, path, Buffer.alloc(1024 * 1024, 0x20)), {
        statuses: [413],
        code: 'payload_too_large',
      })
    }
  })

  it('malformed and poisoned JSON: 400', async () => {
    const deepArray = `${'['.repeat(30_000)}${']'.repeat(30_000)}`
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`
    const cases: Array<[string, string]> = [
      ['unclosed object', '{'],
      ['truncated member', '{"a":'],
      ['unclosed array', '[1,2'],
      ['bare word', 'nul'],
      ['trailing brace', '{"a":1}}'],
      ['trailing comma', '{"a":1,}'],
      ['single quotes', "{'a':1}"],
      ['NUL byte', '\0'],
      ['empty body', ''],
      ['a string', '"string"'],
      ['an array', '[]'],
      ['null', 'null'],
      ['a huge number', '1e999999'],
      ['__proto__', '{"__proto__":{"polluted":true}}'],
      ['constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
      ['30k-deep array', deepArray],
      ['10k-deep object', deepObject],
      ['invalid UTF-8', '{"a":"\xff\xfe"}'],
    ]
    // Well-formed JSON that is not an object only fails a body schema; DELETE routes have none.
    const wellFormed = new Set([
      'a string',
      'an array',
      'null',
      'a huge number',
      '30k-deep array',
      '10k-deep object',
      'invalid UTF-8',
    ])
    for (const r of bodyRoutes) {
      const path = pathOf(r.url)
      if (isOAuth(path)) continue // form-encoded only: covered by the content-type cases
      for (const [label, body] of cases) {
        if (r.method === 'DELETE' && wellFormed.has(label)) continue
        const bytes = label === 'invalid UTF-8' ? Buffer.from(body, 'latin1') : body
        await attempt(BODIES, `JSON: ${label}`, jsonRequest(r.method, path, bytes), { statuses: [400] })
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('wrong content types: 415 (400 invalid_request at /oauth/token)', async () => {
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'text/json',
      'application/jsonx',
      'application/json-patch+json',
      'application/x-json',
      'text/html',
      '*/*',
      'invalid',
      `application/json${CRLF_ENCODED}`,
    ]
    for (const r of bodyRoutes) {
      const path = pathOf(r.url)
      for (const type of isOAuth(path)
        ? ['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'invalid']
        : types) {
        const body = isOAuth(path)
          ? JSON.stringify({
              grant_type: 'client_credentials',
              client_id: BOOTSTRAP_ID,
              client_secret: BOOTSTRAP_SECRET,
            })
          : JSON.stringify(validBody(r.url))
        await attempt(
          BODIES,
          `content type ${type}`,
          jsonRequest(r.method, path, body, type),
          isOAuth(path)
            ? { statuses: [400], code: 'invalid_request' }
            : { statuses: [415], code: 'unsupported_media_type' },
        )
      }
      if (!isOAuth(path)) {
        // A body without any Content-Type.
        await attempt(
          BODIES,
          'no content type',
          { method: r.method, path, headers: auth(), body: JSON.stringify(validBody(r.url)) },
          { statuses: [415], code: 'unsupported_media_type' },
        )
      }
    }
  })

  it('unknown fields and wrong types: 400, never coerced', async () => {
    for (const r of bodyRoutes.filter((x) => x.method === 'POST' && !isOAuth(x.url))) {
      const path = pathOf(r.url)
      const base = validBody(r.url)
      const send = (label: string, body: unknown) =>
        attempt(BODIES, label, jsonRequest('POST', path, JSON.stringify(body)), { statuses: [400] })
      await send('unknown top-level field', { ...base, unknown: 1 })
      await send('unknown field named admin', { ...base, admin: true })
      await send('unknown field named constructor', { ...base, constructor: {} })
      await send('unknown field with CRLF in its name', { ...base, [`x${CRLF_PAYLOAD}`]: 1 })
      for (const [key, value] of Object.entries(base)) {
        // Values of another JSON type than the valid one (no coercion: "600" is not 600).
        const wrong = [123, true, null, [], {}, [value], String(value)].filter(
          (w) =>
            typeof w !== typeof value || (w === null) !== (value === null) || Array.isArray(w) !== Array.isArray(value),
        )
        for (const w of wrong) await send(`field ${key} as ${JSON.stringify(w)}`, { ...base, [key]: w })
      }
    }
    const at = (body: unknown) =>
      attempt(
        BODIES,
        `access-token body ${JSON.stringify(body)}`,
        jsonRequest('POST', `/v1/connections/${connectionId}/access-token`, JSON.stringify(body)),
        { statuses: [400], code: 'invalid_request' },
      )
    for (const body of [
      { minValiditySeconds: '60' },
      { minValiditySeconds: -1 },
      { minValiditySeconds: 1e12 },
      { minValiditySeconds: 1.5 },
      { forceRefresh: 'true' },
      { forceRefresh: 1 },
    ])
      await at(body)
    const rotate = (body: unknown) =>
      attempt(
        BODIES,
        `rotate body ${JSON.stringify(body)}`,
        jsonRequest('POST', '/v1/signing-keys/rotate', JSON.stringify(body)),
        { statuses: [400], code: 'invalid_request' },
      )
    for (const body of [
      { activateInSeconds: '0' },
      { activateInSeconds: -1 },
      { activateInSeconds: 1e12 },
      { activateInSeconds: null },
    ])
      await rotate(body)
  })

  it('hostile strings in every string field: 400, or a harmless 2xx with nothing reflected in headers', async () => {
    const fields: Array<[string, (v: string) => Record<string, unknown>, boolean?]> = [
      ['/v1/connect-sessions', (v) => ({ provider: v, ownerId: 'o', returnUrl: RETURN })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: v, returnUrl: RETURN })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: 'o', returnUrl: v })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: 'o', scopes: [v] })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: 'o', params: { [v]: 'x' } })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: 'o', params: { subdomain: v } })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: 'o', connectionId: v })],
      ['/v1/connect-sessions', (v) => ({ provider: 'idp', ownerId: 'o', namespace: v })],
      [
        '/v1/connections',
        (v) => ({
          provider: 'idp',
          ownerId: 'o',
          namespace: v,
          credentials: { accessToken: 'imported-at-0123456789' },
        }),
      ],
      [
        '/v1/connections',
        (v) => ({ provider: 'idp', ownerId: v, credentials: { accessToken: 'imported-at-0123456789' } }),
      ],
      ['/v1/connections', (v) => ({ provider: 'idp', ownerId: 'o', credentials: { accessToken: v } })],
      [
        '/v1/connections',
        (v) => ({ provider: 'idp', ownerId: 'o', credentials: { accessToken: 'at-0123456789', expiresAt: v } }),
        true,
      ],
      [
        '/v1/connections',
        (v) => ({ provider: 'idp', ownerId: 'o', credentials: { accessToken: 'at-0123456789', scopes: [v] } }),
      ],
      ['/v1/connections', (v) => ({ provider: 'idp', ownerId: 'o', credentials: { [v]: 'x' } })],
      ['/v1/service-clients', (v) => ({ name: v, scopes: ['tokens:read'] })],
      ['/v1/service-clients', (v) => ({ name: 'n', scopes: [v] })],
      ['/v1/service-clients', (v) => ({ name: 'n', scopes: ['tokens:read'], allowedReturnUrls: [v] })],
      ['/v1/service-clients', (v) => ({ name: 'n', scopes: ['tokens:read'], namespaces: [v] })],
    ]
    // Dates at the edges of what JavaScript and PostgreSQL represent.
    const dates = [
      '+010000-01-01T00:00:00Z',
      '+275760-09-13T00:00:00.000Z',
      '-271821-04-20T00:00:00.000Z',
      '9999-12-31T23:59:59Z',
      '0000-01-01T00:00:00Z',
      '2026-02-30T00:00:00Z',
      'Infinity',
    ]
    for (const [path, make, isDate] of fields) {
      const values = isDate
        ? [...HOSTILE_VALUES, ...dates.map((d): [string, string] => [`date ${d}`, d])]
        : HOSTILE_VALUES
      for (const [label, value] of values) {
        const body = make(value)
        const field = JSON.stringify(make('§')).replace(/"§"/, '…').slice(0, 80)
        await attempt(
          BODIES,
          `${label} in ${field}`,
          jsonRequest('POST', path, JSON.stringify(body)),
          { statuses: [201, 400] },
          () => false,
        )
      }
    }
    // Whatever was stored above, the listings still answer (one bad row must not break them).
    for (const path of ['/v1/connections?limit=200', '/v1/service-clients', '/v1/audit-events?limit=200']) {
      await attempt(
        BODIES,
        `listing ${path} after the hostile bodies`,
        { path, headers: auth() },
        { statuses: [200] },
        () => false,
      )
    }
  })
})

// --- methods and framing ------------------------------------------------------------------

describe('methods and framing', () => {
  it('methods no route has: 404/405 problem+json', async () => {
    const paths = [
      ...new Set(
        broker.app.routeTable
          .filter((r) => r.url.startsWith('/v1/') || r.url === '/oauth/token')
          .map((r) => pathOf(r.url)),
      ),
    ]
    for (const path of paths) {
      for (const method of ['PUT', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
        const have = broker.app.routeTable.some((r) => pathOf(r.url) === path && r.method === method)
        if (have) continue
        await attempt(PROTOCOL, `${method} ${path}`, { method, path, headers: auth() }, { statuses: [404, 405] })
      }
    }
  })

  it('request smuggling and broken framing are refused before the application', async () => {
    const body = JSON.stringify(validBody('/v1/connect-sessions'))
    const base = (headers: Array<[string, string]>, b: string = body): RawRequest => ({
      method: 'POST',
      path: '/v1/connect-sessions',
      headers: [...auth(), ['content-type', 'application/json'], ...headers],
      body: b,
      noContentLength: true,
    })
    const cases: Array<[string, RawRequest]> = [
      [
        'Transfer-Encoding and Content-Length',
        base(
          [
            ['transfer-encoding', 'chunked'],
            ['content-length', String(body.length)],
          ],
          `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        ),
      ],
      [
        'two different Content-Lengths',
        base([
          ['content-length', String(body.length)],
          ['content-length', '5'],
        ]),
      ],
      ['negative Content-Length', base([['content-length', '-1']])],
      ['non-numeric Content-Length', base([['content-length', 'abc']])],
      [
        'obsolete line folding',
        base([
          ['content-length', String(body.length)],
          ['x-folded', 'a\r\n b'],
        ]),
      ],
      [
        'header with a space before the colon',
        base([
          ['content-length', String(body.length)],
          ['x-bad ', 'a'],
        ]),
      ],
    ]
    for (const [label, req] of cases) {
      await attempt(PROTOCOL, label, req, { statuses: [400, 411, 413, 501], beforeApp: true })
    }
  })
})

describe('afterwards', () => {
  it('left no secret in the logs', async () => {
    await secrets.expectNoneLogged(broker, 100)
  })

  it('nothing accepted, no 5xx', () => {
    figures.expectZeros()
  })
})
