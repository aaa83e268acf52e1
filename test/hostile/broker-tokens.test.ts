// Hostile broker tokens (docs/security.md, checklist items 18-22, and "Adversarial cases",
// group broker tokens): every
// forged, stale or malformed token and every garbage Authorization header is sent to every
// /v1 route the broker serves (the auth hook runs before anything else, so each route is a
// separate chance to get it wrong). Expected: 401 with `WWW-Authenticate: Bearer`, 403
// with `error="insufficient_scope"` for a good token without the route's scope; at
// POST /oauth/token, 401 invalid_client (or 400 invalid_request) for bad credentials.
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  randomUUID,
  sign,
  type KeyObject as NodeKey,
} from 'node:crypto'
import { decodeProtectedHeader, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCOPES } from '../../src/service-clients/scopes.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import {
  Figures,
  headerProblems,
  internalsIn,
  NO_RATE_LIMITS,
  raw,
  type RawResponse,
  Secrets,
  tokenEndpointProblems,
} from './support.js'

const TOKENS = 'broker-token attacks (/v1)'
const CREDENTIALS = 'client credentials (/oauth/token)'

let broker: TestBroker
let admin: Api
let good: string
let kid: string
let claims: Record<string, unknown>
let routes: Array<{ method: string; path: string; scope: string }>
const figures = new Figures('broker-token and client-credential attacks')
const secrets = new Secrets()
const started = Date.now()

beforeAll(async () => {
  broker = await startBroker({ env: NO_RATE_LIMITS })
  good = await broker.token()
  admin = apiClient(broker, good)
  kid = decodeProtectedHeader(good).kid!
  claims = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
  secrets.rememberJwt('broker token', good)
  secrets.remember('bootstrap secret', BOOTSTRAP_SECRET)

  // Every authenticated route and its scope, from the served OpenAPI document.
  const doc = broker.app.swagger() as unknown as {
    paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>
  }
  routes = broker.app.routeTable
    .filter((r) => r.url.startsWith('/v1/') && r.method !== 'HEAD')
    .map((r) => {
      const openApiPath = r.url.replace(/:(\w+)/g, '{$1}')
      const scope = doc.paths[openApiPath]?.[r.method.toLowerCase()]?.security?.[0]?.brokerToken?.[0]
      if (!scope) throw new Error(`no scope documented for ${r.method} ${r.url}`)
      return { method: r.method, path: r.url.replace(':id', 'conn_missing').replace(':clientId', 'svc_missing'), scope }
    })
  expect(routes.length).toBeGreaterThanOrEqual(12)
})

afterAll(async () => {
  figures.print([
    `routes attacked: ${routes?.length}`,
    `secrets searched in the logs: ${secrets.values.size}`,
    `runtime: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  ])
  await broker?.close()
})

// --- forging ---------------------------------------------------------------------------

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const fresh = () => ({ ...claims, iat: now(), exp: now() + 60, jti: randomUUID() })

/** Signs any header and payload with an Ed25519 key, byte for byte, with no library checks in the way. */
function signEd25519(header: Record<string, unknown>, payload: Record<string, unknown> | string, key: NodeKey): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

function brokerKey(): NodeKey {
  return KeyObject.from(broker.app.services.keys.current().privateKey!)
}

const foreign = generateKeyPairSync('ed25519')
const foreignJwk = foreign.publicKey.export({ format: 'jwk' }) as JWK

/** Signs as the broker (its current private key): only the header or a claim is wrong. */
const asBroker = (header: Record<string, unknown>, payload: Record<string, unknown> | string) =>
  signEd25519({ alg: 'EdDSA', kid, ...header }, payload, brokerKey())
const asForeign = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
  signEd25519({ alg: 'EdDSA', ...header }, payload, foreign.privateKey)

function hs(alg: 'HS256' | 'HS512', secret: Buffer | string, payload: Record<string, unknown>): string {
  const input = `${b64({ alg, typ: 'at+jwt', kid })}.${b64(payload)}`
  return `${input}.${createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret)
    .update(input)
    .digest('base64url')}`
}

function withoutClaim(name: string) {
  const c: Record<string, unknown> = fresh()
  delete c[name]
  return c
}

function flip(token: string, index: (len: number) => number): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const sig = Buffer.from(s, 'base64url')
  const i = index(sig.length)
  sig[i] = sig[i]! ^ 0x01
  return `${h}.${p}.${sig.toString('base64url')}`
}

async function jwks(): Promise<JWK[]> {
  const res = await fetch(`${broker.url}/.well-known/jwks.json`)
  return ((await res.json()) as { keys: JWK[] }).keys
}

/** Forged, stale and malformed tokens; each must be refused with 401 on every route. */
async function forgedTokens(): Promise<Array<[string, string]>> {
  const publicJwk = (await jwks()).find((k) => k.kid === kid)!
  const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const es256Input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid })}.${b64(fresh())}`
  const es256Signature = sign('sha256', Buffer.from(es256Input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })
  const es256 = `${es256Input}.${es256Signature.toString('base64url')}`
  const [gh, gp, gs] = good.split('.') as [string, string, string]
  const narrow = await broker.token('tokens:read')
  const [nh, , ns] = narrow.split('.') as [string, string, string]
  const escalated = b64({
    ...JSON.parse(Buffer.from(narrow.split('.')[1]!, 'base64url').toString()),
    scope: SCOPES.join(' '),
  })
  const other = await broker.token('connections:read')

  return [
    ['alg none, empty signature', `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(fresh())}.`],
    ['alg none, no kid', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(fresh())}.`],
    ['alg None', `${b64({ alg: 'None', typ: 'at+jwt', kid })}.${b64(fresh())}.`],
    ['alg none, the real signature kept', `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${gp}.${gs}`],
    ['HS256 keyed with the JWK x', hs('HS256', Buffer.from(publicJwk.x!, 'base64url'), fresh())],
    ['HS256 keyed with the JWK x (text)', hs('HS256', publicJwk.x!, fresh())],
    ['HS256 keyed with the JWK JSON', hs('HS256', JSON.stringify(publicJwk), fresh())],
    ['HS256 keyed with the SPKI PEM', hs('HS256', pem, fresh())],
    ['HS512 keyed with the SPKI PEM', hs('HS512', pem, fresh())],
    ['ES256 by a foreign key, broker kid', es256],
    ['EdDSA by a foreign key, broker kid', asForeign({ typ: 'at+jwt', kid }, fresh())],
    ['unknown kid (foreign key)', asForeign({ typ: 'at+jwt', kid: 'unknown-kid' }, fresh())],
    ['no kid (foreign key)', asForeign({ typ: 'at+jwt' }, fresh())],
    ['no kid (broker key)', signEd25519({ alg: 'EdDSA', typ: 'at+jwt' }, fresh(), brokerKey())],
    ['kid with path traversal', asForeign({ typ: 'at+jwt', kid: '../../../../etc/passwd' }, fresh())],
    ['SQL-ish kid', asForeign({ typ: 'at+jwt', kid: "' OR 1=1--" }, fresh())],
    ['kid of 5k characters', asForeign({ typ: 'at+jwt', kid: 'k'.repeat(5000) }, fresh())],
    ['kid that is a number', asForeign({ typ: 'at+jwt', kid: 1 }, fresh())],
    ['jku header (broker key)', asBroker({ typ: 'at+jwt', jku: 'http://127.0.0.1:1/jwks.json' }, fresh())],
    ['x5u header (broker key)', asBroker({ typ: 'at+jwt', x5u: 'http://127.0.0.1:1/cert.pem' }, fresh())],
    ['jwk header (broker key)', asBroker({ typ: 'at+jwt', jwk: foreignJwk }, fresh())],
    ['x5c header (broker key)', asBroker({ typ: 'at+jwt', x5c: ['MIIB'] }, fresh())],
    ['x5t header (broker key)', asBroker({ typ: 'at+jwt', x5t: 'AAAA' }, fresh())],
    ['jwk header embedding the signing foreign key', asForeign({ typ: 'at+jwt', jwk: foreignJwk }, fresh())],
    [
      'jku header (foreign key, broker kid)',
      asForeign({ typ: 'at+jwt', kid, jku: 'http://127.0.0.1:1/jwks.json' }, fresh()),
    ],
    ['crit with an unknown extension (broker key)', asBroker({ typ: 'at+jwt', crit: ['exp2'], exp2: 1 }, fresh())],
    ['expired (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), iat: now() - 600, exp: now() - 300 })],
    ['expired just past the skew (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), exp: now() - 10 })],
    ['future nbf (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), nbf: now() + 300 })],
    ['missing exp (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('exp'))],
    ['exp as a string (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), exp: String(now() + 60) })],
    ['missing iat (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('iat'))],
    ['missing jti (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('jti'))],
    ['missing sub (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('sub'))],
    ['missing client_id (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('client_id'))],
    ['missing scope (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('scope'))],
    ['scope as an array (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), scope: [...SCOPES] })],
    ['client_id differs from sub (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), sub: 'someone-else' })],
    [
      'a client that does not exist (broker key)',
      asBroker({ typ: 'at+jwt' }, { ...fresh(), sub: 'ghost', client_id: 'ghost' }),
    ],
    ['wrong aud (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), aud: 'https://other.example' })],
    [
      'aud list without the broker (broker key)',
      asBroker({ typ: 'at+jwt' }, { ...fresh(), aud: ['https://other.example', 'https://evil.example'] }),
    ],
    ['wrong iss (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), iss: 'https://other.example' })],
    ['iss with a trailing slash (broker key)', asBroker({ typ: 'at+jwt' }, { ...fresh(), iss: `${broker.url}/` })],
    ['no iss (broker key)', asBroker({ typ: 'at+jwt' }, withoutClaim('iss'))],
    ['typ missing (broker key)', asBroker({}, fresh())],
    ['typ JWT (broker key)', asBroker({ typ: 'JWT' }, fresh())],
    ['typ application/jwt (broker key)', asBroker({ typ: 'application/jwt' }, fresh())],
    ['payload not JSON (broker key)', asBroker({ typ: 'at+jwt' }, 'not json')],
    ['payload a JSON array (broker key)', asBroker({ typ: 'at+jwt' }, JSON.stringify([claims]))],
    ['first signature byte flipped', flip(good, () => 0)],
    ['last signature byte flipped', flip(good, (n) => n - 1)],
    ['middle signature byte flipped', flip(good, (n) => n >> 1)],
    ['signature truncated', good.slice(0, -4)],
    ['signature removed', `${gh}.${gp}.`],
    ['signature of another token', `${gh}.${gp}.${other.split('.')[2]}`],
    ['narrow token, scope escalated in the payload', `${nh}.${escalated}.${ns}`],
    ['header and payload only', `${gh}.${gp}`],
    ['four segments', `${good}.${gs}`],
    ['JWS JSON serialization', JSON.stringify({ protected: gh, payload: gp, signature: gs })],
    ['not a JWT', 'not-a-jwt'],
    ['10k characters', 'a'.repeat(10_000)],
    ['10k characters shaped as a JWT', `${'e'.repeat(3000)}.${'p'.repeat(4000)}.${'s'.repeat(3000)}`],
  ]
}

// --- the checks ------------------------------------------------------------------------

function refusalProblems(res: RawResponse, status: 401 | 403, scope?: string): string[] {
  const problems = headerProblems(res)
  if (res.status !== status) problems.push(`status ${res.status}, expected ${status}`)
  const challenge = res.header('www-authenticate') ?? ''
  if (!/^Bearer realm="oauth-broker"/.test(challenge)) problems.push(`WWW-Authenticate: ${challenge.slice(0, 120)}`)
  if (status === 403 && !(challenge.includes('error="insufficient_scope"') && challenge.includes(`scope="${scope}"`)))
    problems.push(`403 challenge: ${challenge}`)
  if (!(res.header('content-type') ?? '').startsWith('application/problem+json'))
    problems.push(`content-type ${res.header('content-type')}`)
  const internals = internalsIn(res.text)
  if (internals) problems.push(`internal detail (${internals})`)
  try {
    const body = JSON.parse(res.text) as { code?: string }
    if (body.code !== (status === 401 ? 'unauthorized' : 'insufficient_scope')) problems.push(`code ${body.code}`)
  } catch {
    problems.push('body is not JSON')
  }
  return problems
}

/** Sends `authorization` (raw header lines) to every route; records and checks each answer. */
async function everyRoute(
  label: string,
  headers: Array<[string, string]>,
  options: { query?: string; expect?: 401 | 403; only?: (scope: string) => boolean } = {},
) {
  for (const route of routes) {
    if (options.only && !options.only(route.scope)) continue
    const res = await raw(broker.url, {
      method: route.method,
      path: `${route.path}${options.query ?? ''}`,
      headers: route.method === 'POST' ? [...headers, ['content-type', 'application/json']] : headers,
      body: route.method === 'POST' ? '{}' : undefined,
    })
    const expected = options.expect ?? 401
    figures.record(TOKENS, `${label} → ${route.method} ${route.path}`, {
      status: res.status,
      accepted: res.status < 400 || (res.status !== 401 && res.status !== 403),
    })
    expect.soft(refusalProblems(res, expected, route.scope), `${label} → ${route.method} ${route.path}`).toEqual([])
  }
}

describe('forged and stale broker tokens on every /v1 route', () => {
  it('control: the genuine token passes the auth hook on every route', async () => {
    for (const route of routes) {
      const res = await raw(broker.url, {
        method: route.method,
        path: route.path,
        headers: [['authorization', `Bearer ${good}`]],
      })
      expect([401, 403], `${route.method} ${route.path}`).not.toContain(res.status)
    }
  })

  it('forged, altered, stale and malformed tokens: 401 with WWW-Authenticate', async () => {
    const tokens = await forgedTokens()
    for (const [label, token] of tokens) {
      secrets.rememberJwt(`forged token (${label})`, token)
      await everyRoute(label, [['authorization', `Bearer ${token}`]])
    }
  })

  it('a token of a deleted service client', async () => {
    const created = await admin('POST', '/v1/service-clients', { name: 'doomed', scopes: [...SCOPES] })
    expect(created.status).toBe(201)
    secrets.remember('created client secret', created.body.clientSecret)
    const res = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: created.body.clientId,
        client_secret: created.body.clientSecret,
      }),
    })
    const token = ((await res.json()) as { access_token: string }).access_token
    secrets.rememberJwt('deleted client token', token)
    expect((await admin('DELETE', `/v1/service-clients/${created.body.clientId}`)).status).toBe(204)
    await everyRoute('token of a deleted client', [['authorization', `Bearer ${token}`]])
  })

  it(
    'a genuine token once the broker clock passed its ' + 'expiry (the verified-token cache must not outlive it)',
    async () => {
      const token = await broker.token()
      secrets.rememberJwt('soon-expired token', token)
      // Used once, so it sits in the verified-token cache.
      expect(
        (await raw(broker.url, { path: '/v1/signing-keys', headers: [['authorization', `Bearer ${token}`]] })).status,
      ).toBe(200)
      const skew = broker.config.brokerTokenTtlSeconds + 30
      broker.clock.advance(skew)
      try {
        await everyRoute('genuine token past its exp', [['authorization', `Bearer ${token}`]])
      } finally {
        broker.clock.advance(-skew)
      }
    },
  )

  it('a token lacking the route scope: 403 insufficient_scope', async () => {
    for (const scope of SCOPES) {
      const narrow = await broker.token(scope)
      secrets.rememberJwt(`narrow token (${scope})`, narrow)
      await everyRoute(`token with only ${scope}`, [['authorization', `Bearer ${narrow}`]], {
        expect: 403,
        only: (s) => s !== scope,
      })
    }
  })

  it('garbage Authorization headers: 401 with WWW-Authenticate', async () => {
    const basic = Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')
    const cases: Array<[string, Array<[string, string]>, string?]> = [
      ['no Authorization header', []],
      ['"Bearer" alone', [['authorization', 'Bearer']]],
      ['"Bearer " and spaces', [['authorization', 'Bearer    ']]],
      ['valid client credentials as Basic', [['authorization', `Basic ${basic}`]]],
      ['Basic garbage', [['authorization', 'Basic !!!not-base64!!!']]],
      ['two tokens separated by a space', [['authorization', `Bearer ${good} ${good}`]]],
      ['two Bearer credentials, comma-separated', [['authorization', `Bearer ${good}, Bearer ${good}`]]],
      ['two tokens, comma-separated', [['authorization', `Bearer ${good},${good}`]]],
      [
        'two Authorization headers, garbage first',
        [
          ['authorization', 'Bearer garbage'],
          ['authorization', `Bearer ${good}`],
        ],
      ],
      ['10k-character Bearer', [['authorization', `Bearer ${'a'.repeat(10_000)}`]]],
      ['the token without a scheme', [['authorization', good]]],
      ['another scheme (DPoP)', [['authorization', `DPoP ${good}`]]],
      ['another scheme (Token)', [['authorization', `Token ${good}`]]],
      ['Bearer and a tab', [['authorization', `Bearer\t${good}`]]],
      ['Bearer with the token quoted', [['authorization', `Bearer "${good}"`]]],
      ['Bearer with a percent-encoded NUL', [['authorization', `Bearer ${good}%00`]]],
      ['Bearer with non-ASCII', [['authorization', `Bearer ${good}é`]]],
      [
        'Bearer with CRLF (encoded) and a header',
        [['authorization', `Bearer ${encodeURIComponent('\r\nx-injected: 1')}`]],
      ],
      ['token in the query string only', [], `?access_token=${good}`],
      ['token in a cookie only', [['cookie', `access_token=${good}; token=${good}`]]],
      ['token in X-Access-Token only', [['x-access-token', good]]],
    ]
    for (const [label, headers, query] of cases) await everyRoute(label, headers, { query })
  })
})

describe('client credentials at POST /oauth/token', () => {
  async function tokenAttempt(
    label: string,
    init: { form: string; authorization?: string; contentType?: string },
    expected: { status: number; error: string },
  ) {
    const headers: Array<[string, string]> = [['content-type', init.contentType ?? 'application/x-www-form-urlencoded']]
    if (init.authorization !== undefined) headers.push(['authorization', init.authorization])
    const res = await raw(broker.url, { method: 'POST', path: '/oauth/token', headers, body: init.form })
    const { problems, accepted } = tokenEndpointProblems(res, expected)
    figures.record(CREDENTIALS, label, { status: res.status, accepted })
    expect.soft(problems, label).toEqual([])
  }

  it('wrong, partial, unknown and malformed credentials', async () => {
    const created = await admin('POST', '/v1/service-clients', { name: 'victim', scopes: ['tokens:read'] })
    const victim = { id: created.body.clientId as string, secret: created.body.clientSecret as string }
    secrets.remember('victim client secret', victim.secret)
    const gone = await admin('POST', '/v1/service-clients', { name: 'gone', scopes: ['tokens:read'] })
    secrets.remember('deleted client secret', gone.body.clientSecret)
    await admin('DELETE', `/v1/service-clients/${gone.body.clientId}`)
    const wrong = 'wrong-secret-value-that-must-not-be-logged-anywhere'
    secrets.remember('wrong secret', wrong)

    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
    const post = (id: string, secret: string, extra = '') =>
      `grant_type=client_credentials&client_id=${encodeURIComponent(id)}` +
      `&client_secret=${encodeURIComponent(secret)}${extra}`
    const invalidClient = { status: 401, error: 'invalid_client' }
    const invalidRequest = { status: 400, error: 'invalid_request' }
    const grant = 'grant_type=client_credentials'
    const cases: Array<
      [string, { form: string; authorization?: string; contentType?: string }, { status: number; error: string }]
    > = [
      ['wrong secret (Basic)', { form: grant, authorization: basic(BOOTSTRAP_ID, wrong) }, invalidClient],
      ['wrong secret (form)', { form: post(BOOTSTRAP_ID, wrong) }, invalidClient],
      [
        'unknown client (Basic)',
        { form: grant, authorization: basic('no-such-client', BOOTSTRAP_SECRET) },
        invalidClient,
      ],
      ['unknown client (form)', { form: post('no-such-client', BOOTSTRAP_SECRET) }, invalidClient],
      ['empty secret (form)', { form: post(BOOTSTRAP_ID, '') }, invalidClient],
      ['empty secret (Basic)', { form: grant, authorization: basic(BOOTSTRAP_ID, '') }, invalidClient],
      [
        'secret missing its last character',
        { form: grant, authorization: basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET.slice(0, -1)) },
        invalidClient,
      ],
      [
        'secret with one more character',
        { form: grant, authorization: basic(BOOTSTRAP_ID, `${BOOTSTRAP_SECRET}x`) },
        invalidClient,
      ],
      [
        'secret in upper case',
        { form: grant, authorization: basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET.toUpperCase()) },
        invalidClient,
      ],
      // A NUL is malformed input (refused before any secret check); scrypt alone would accept it.
      ['secret with a NUL appended', { form: post(BOOTSTRAP_ID, `${BOOTSTRAP_SECRET}\0`) }, invalidRequest],
      [
        'secret with a NUL appended (Basic)',
        { form: grant, authorization: basic(BOOTSTRAP_ID, `${BOOTSTRAP_SECRET}\0`) },
        invalidClient,
      ],
      ["another client's secret", { form: grant, authorization: basic(BOOTSTRAP_ID, victim.secret) }, invalidClient],
      ['id and secret swapped', { form: grant, authorization: basic(victim.secret, victim.id) }, invalidClient],
      ['a deleted client', { form: post(gone.body.clientId, gone.body.clientSecret) }, invalidClient],
      ['SQL-ish client id', { form: post("' OR 1=1--", wrong) }, invalidClient],
      [
        'client id with CRLF and a header',
        { form: post(`${BOOTSTRAP_ID}\r\nx-injected: 1`, BOOTSTRAP_SECRET) },
        invalidClient,
      ],
      ['client id of 10k characters', { form: post('c'.repeat(10_000), wrong) }, invalidRequest],
      [
        'Basic without a colon',
        { form: grant, authorization: `Basic ${Buffer.from(BOOTSTRAP_ID).toString('base64')}` },
        invalidClient,
      ],
      ['Basic that is not base64', { form: grant, authorization: 'Basic !!!' }, invalidClient],
      ['Basic alone', { form: grant, authorization: 'Basic' }, invalidClient],
      [
        'Basic with bad percent-encoding',
        { form: grant, authorization: `Basic ${Buffer.from('%zz:%zz').toString('base64')}` },
        invalidClient,
      ],
      ['Basic of 10k characters', { form: grant, authorization: `Basic ${'QUFB'.repeat(2500)}` }, invalidClient],
      ['a broker token as Bearer', { form: grant, authorization: `Bearer ${good}` }, invalidClient],
      [
        'Basic and form credentials together',
        { form: post(BOOTSTRAP_ID, BOOTSTRAP_SECRET), authorization: basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET) },
        invalidRequest,
      ],
      [
        'client_secret twice',
        { form: post(BOOTSTRAP_ID, wrong, `&client_secret=${encodeURIComponent(BOOTSTRAP_SECRET)}`) },
        invalidRequest,
      ],
      ['client_id twice', { form: `${post(BOOTSTRAP_ID, BOOTSTRAP_SECRET)}&client_id=other` }, invalidRequest],
      [
        'client_id[] array syntax',
        { form: `${grant}&client_id[]=${BOOTSTRAP_ID}&client_secret=${encodeURIComponent(BOOTSTRAP_SECRET)}` },
        invalidClient,
      ],
      [
        'credentials as JSON',
        {
          form: JSON.stringify({
            grant_type: 'client_credentials',
            client_id: BOOTSTRAP_ID,
            client_secret: BOOTSTRAP_SECRET,
          }),
          contentType: 'application/json',
        },
        invalidRequest,
      ],
      ['no credentials at all', { form: grant }, invalidClient],
    ]
    for (const [label, init, expected] of cases) await tokenAttempt(label, init, expected)
    // The query string is not a place for credentials either (RFC 6749 §2.3.1).
    const res = await raw(broker.url, {
      method: 'POST',
      path: `/oauth/token?client_id=${BOOTSTRAP_ID}&client_secret=${encodeURIComponent(BOOTSTRAP_SECRET)}`,
      headers: [['content-type', 'application/x-www-form-urlencoded']],
      body: grant,
    })
    figures.record(CREDENTIALS, 'credentials in the query string (sent)', {
      status: res.status,
      accepted: res.status === 200,
    })
    expect(res.status).toBe(401)
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
