// Hostile client assertions (RFC 7523 private_key_jwt) at POST /oauth/token, and hostile
// key sets at registration (docs/security.md, "Adversarial cases", group client keys).
// Every assertion is signed byte for byte with a real Ed25519 key (the client's own where
// only one header member or claim is wrong), so each case tests exactly one check.
// Expected: 401 invalid_client with WWW-Authenticate and no token (400 invalid_request for
// a malformed request); at registration, 400 invalid_jwks and no client.
import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import { Figures, NO_RATE_LIMITS, raw, Secrets, tokenEndpointProblems } from './support.js'

const ASSERTIONS = 'client assertions (/oauth/token)'
const KEYS = 'client keys (jwks at registration)'
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

let broker: TestBroker
let admin: Api
let keyed: string
let secretClient: { id: string; secret: string }
let tried = 0
const figures = new Figures('client-assertion attacks')
const secrets = new Secrets()

const clientKey = generateKeyPairSync('ed25519')
const clientJwk = {
  ...(clientKey.publicKey.export({ format: 'jwk' }) as JWK),
  kid: 'client-k1',
  alg: 'EdDSA',
  use: 'sig',
}
const attacker = generateKeyPairSync('ed25519')
const attackerJwk = attacker.publicKey.export({ format: 'jwk' }) as JWK

beforeAll(async () => {
  broker = await startBroker({ env: NO_RATE_LIMITS })
  admin = apiClient(broker, await broker.token('clients:admin'))
  const created = await admin('POST', '/v1/service-clients', {
    name: 'keyed',
    scopes: ['tokens:read'],
    jwks: { keys: [clientJwk] },
  })
  expect(created.status).toBe(201)
  keyed = created.body.clientId
  const other = await admin('POST', '/v1/service-clients', { name: 'secret', scopes: ['tokens:read'] })
  secretClient = { id: other.body.clientId, secret: other.body.clientSecret }
  secrets.remember('secret client secret', secretClient.secret)
  secrets.remember('client private key', (clientKey.privateKey.export({ format: 'jwk' }) as JWK).d)
})

afterAll(async () => {
  figures.print([`assertion cases: ${tried}`, `secrets searched in the logs: ${secrets.values.size}`])
  await broker?.close()
})

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: keyed,
  sub: keyed,
  aud: broker.url,
  jti: randomUUID(),
  iat: now(),
  exp: now() + 60,
  ...extra,
})
function without(name: string) {
  const c: Record<string, unknown> = claims()
  delete c[name]
  return c
}

function signWith(key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown> | string): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}
/** Signed with the client's registered key: only the header or a claim is wrong. */
const asClient = (payload: Record<string, unknown> | string, header: Record<string, unknown> = {}) =>
  signWith(clientKey.privateKey, { alg: 'EdDSA', kid: 'client-k1', ...header }, payload)
const asAttacker = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  signWith(attacker.privateKey, { alg: 'EdDSA', ...header }, payload)
function hs256(secret: Buffer | string, payload: Record<string, unknown>): string {
  const input = `${b64({ alg: 'HS256', kid: 'client-k1' })}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const unsigned = (payload: Record<string, unknown>, alg = 'none') =>
  `${b64({ alg, kid: 'client-k1' })}.${b64(payload)}.`
const form = (jwt: string, extra = '') =>
  `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER)}` +
  `&client_assertion=${jwt}${extra}`

async function attempt(
  label: string,
  init: { form: string; authorization?: string },
  expected: { status: number; error: string },
) {
  tried++
  const headers: Array<[string, string]> = [['content-type', 'application/x-www-form-urlencoded']]
  if (init.authorization) headers.push(['authorization', init.authorization])
  const res = await raw(broker.url, { method: 'POST', path: '/oauth/token', headers, body: init.form })
  const { problems, accepted } = tokenEndpointProblems(res, expected)
  figures.record(ASSERTIONS, label, { status: res.status, accepted })
  expect.soft(problems, label).toEqual([])
}

/** Forged, altered and misdirected assertions: each must be refused with 401 invalid_client. */
function forgedAssertions(used: string): Array<[string, string]> {
  const tokenEndpoint = `${broker.url}/oauth/token`
  const x = Buffer.from(clientJwk.x!, 'base64url')
  const [h, p, s] = used.split('.') as [string, string, string]
  const flipped = Buffer.from(s, 'base64url')
  flipped[0] = flipped[0]! ^ 1
  return [
    ['replay of an assertion already used', used],
    ['aud = the token endpoint URL', asClient(claims({ aud: tokenEndpoint }))],
    ['aud = [token endpoint URL]', asClient(claims({ aud: [tokenEndpoint] }))],
    ['aud = [issuer, another audience]', asClient(claims({ aud: [broker.url, 'https://other.example.com'] }))],
    ['aud = another audience', asClient(claims({ aud: 'https://other.example.com' }))],
    ['aud = issuer with a trailing slash', asClient(claims({ aud: `${broker.url}/` }))],
    ['aud = []', asClient(claims({ aud: [] }))],
    ['aud missing', asClient(without('aud'))],
    ['exp 10 minutes ahead', asClient(claims({ exp: now() + 600 }))],
    ['exp a year ahead', asClient(claims({ exp: now() + 365 * 86400 }))],
    ['exp missing', asClient(without('exp'))],
    ['exp passed', asClient(claims({ iat: now() - 120, exp: now() - 60 }))],
    ['exp as a string', asClient(claims({ exp: String(now() + 60) }))],
    ['jti missing', asClient(without('jti'))],
    ['jti empty', asClient(claims({ jti: '' }))],
    ['jti a number', asClient(claims({ jti: 12345 }))],
    ['jti of 300 characters', asClient(claims({ jti: 'j'.repeat(300) }))],
    ['iat an hour ahead', asClient(claims({ iat: now() + 3600 }))],
    ['nbf in the future', asClient(claims({ nbf: now() + 120 }))],
    ['iss != sub', asClient(claims({ sub: secretClient.id }))],
    ['sub missing', asClient(without('sub'))],
    ['iss and sub of a secret client (no keys)', asClient(claims({ iss: secretClient.id, sub: secretClient.id }))],
    ['iss and sub of an unknown client', asClient(claims({ iss: 'svc_unknown', sub: 'svc_unknown' }))],
    ['alg none', unsigned(claims())],
    ['alg None', unsigned(claims(), 'None')],
    ['alg none, the real signature kept', `${b64({ alg: 'none', kid: 'client-k1' })}.${p}.${s}`],
    ['HS256 keyed with the registered JWK JSON', hs256(JSON.stringify(clientJwk), claims())],
    ['HS256 keyed with the public key bytes', hs256(x, claims())],
    ['HS256 keyed with the public key (base64url text)', hs256(clientJwk.x!, claims())],
    ['HS256 keyed with the client secret of another client', hs256(secretClient.secret, claims())],
    ['RS256 header over an Ed25519 signature', asClient(claims(), { alg: 'RS256' })],
    ['ES256 header over an Ed25519 signature', asClient(claims(), { alg: 'ES256' })],
    ['jwk header with the attacker key', asAttacker(claims(), { jwk: attackerJwk })],
    ['jwk header with the registered key (valid signature)', asClient(claims(), { jwk: clientJwk })],
    ['jku header (valid signature)', asClient(claims(), { jku: 'http://127.0.0.1:9/jwks.json' })],
    [
      'jku header with the attacker key',
      asAttacker(claims(), { kid: 'attacker', jku: 'http://127.0.0.1:9/jwks.json' }),
    ],
    ['x5u header (valid signature)', asClient(claims(), { x5u: 'http://127.0.0.1:9/cert.pem' })],
    ['x5c header (valid signature)', asClient(claims(), { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] })],
    ['a key not registered, the registered kid', asAttacker(claims(), { kid: 'client-k1' })],
    ['a key not registered, no kid', asAttacker(claims())],
    ['a key not registered, an unknown kid', asAttacker(claims(), { kid: 'attacker' })],
    ['crit header naming an unknown extension', asClient(claims(), { crit: ['x-unknown'], 'x-unknown': true })],
    ['b64 false (unencoded payload)', asClient(claims(), { b64: false, crit: ['b64'] })],
    ['first signature byte flipped', `${h}.${p}.${flipped.toString('base64url')}`],
    ['signature of another assertion', `${h}.${b64(claims())}.${s}`],
    ['payload not JSON', asClient('not json')],
    ['payload a JSON array', asClient(JSON.stringify([claims()]))],
    ['not a JWT', 'not-a-jwt'],
    ['five segments (JWE-shaped)', `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`],
    ['header and payload only', `${h}.${p}`],
  ]
}

describe('client assertions at POST /oauth/token', () => {
  it('control: a genuine assertion gets a token', async () => {
    const res = await raw(broker.url, {
      method: 'POST',
      path: '/oauth/token',
      headers: [['content-type', 'application/x-www-form-urlencoded']],
      body: form(asClient(claims())),
    })
    expect(res.status).toBe(200)
  })

  it('forged, altered, replayed and misdirected assertions: 401 invalid_client, no token', async () => {
    const used = asClient(claims())
    expect(
      (
        await raw(broker.url, {
          method: 'POST',
          path: '/oauth/token',
          headers: [['content-type', 'application/x-www-form-urlencoded']],
          body: form(used),
        })
      ).status,
    ).toBe(200)
    secrets.rememberJwt('used assertion', used)
    const invalidClient = { status: 401, error: 'invalid_client' }
    for (const [label, jwt] of forgedAssertions(used)) {
      if (jwt.split('.').length === 3 && jwt.split('.')[2]) secrets.rememberJwt(`assertion (${label})`, jwt)
      await attempt(label, { form: form(jwt) }, invalidClient)
    }
  })

  it('malformed requests and mixed methods', async () => {
    const jwt = asClient(claims())
    const basic = `Basic ${Buffer.from(`${secretClient.id}:${secretClient.secret}`).toString('base64')}`
    const invalidRequest = { status: 400, error: 'invalid_request' }
    const invalidClient = { status: 401, error: 'invalid_client' }
    const cases: Array<[string, { form: string; authorization?: string }, { status: number; error: string }]> = [
      ['client_id differs from iss', { form: form(jwt, `&client_id=${secretClient.id}`) }, invalidClient],
      [
        'unsupported client_assertion_type',
        {
          form:
            'grant_type=client_credentials' +
            `&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:saml2-bearer')}` +
            `&client_assertion=${jwt}`,
        },
        invalidClient,
      ],
      [
        'client_assertion without its type',
        { form: `grant_type=client_credentials&client_assertion=${jwt}` },
        invalidRequest,
      ],
      [
        'client_assertion_type without an assertion',
        { form: `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER)}` },
        invalidRequest,
      ],
      ['an assertion and HTTP Basic', { form: form(jwt), authorization: basic }, invalidRequest],
      [
        'an assertion and a client_secret',
        { form: form(jwt, `&client_id=${keyed}&client_secret=${secretClient.secret}`) },
        invalidRequest,
      ],
      ['client_assertion twice', { form: form(jwt, `&client_assertion=${jwt}`) }, invalidRequest],
      ['an assertion of 10k characters', { form: form('a'.repeat(10_000)) }, invalidRequest],
      [
        'a keyed client presenting a secret',
        { form: `grant_type=client_credentials&client_id=${keyed}&client_secret=${secretClient.secret}` },
        invalidClient,
      ],
      [
        'a keyed client with an empty secret',
        { form: `grant_type=client_credentials&client_id=${keyed}&client_secret=` },
        invalidClient,
      ],
    ]
    for (const [label, init, expected] of cases) await attempt(label, init, expected)
  })
})

describe('hostile key sets at registration', () => {
  it('private, symmetric, too many, duplicate and malformed keys: 400 invalid_jwks, no client', async () => {
    const privateJwk = { ...(clientKey.privateKey.export({ format: 'jwk' }) as JWK), kid: 'p' }
    const cases: Array<[string, unknown]> = [
      ['an Ed25519 private key', { keys: [privateJwk] }],
      ['a public key with a d member', { keys: [{ ...clientJwk, d: 'AAAA' }] }],
      ['an oct key', { keys: [{ kty: 'oct', kid: 'h', k: 'c2VjcmV0' }] }],
      ['an oct key with alg HS256', { keys: [{ kty: 'oct', kid: 'h', alg: 'HS256', k: 'c2VjcmV0' }] }],
      ['six keys', { keys: [1, 2, 3, 4, 5, 6].map((i) => ({ ...clientJwk, kid: `k${i}` })) }],
      ['the same kid twice', { keys: [clientJwk, { ...attackerJwk, kid: 'client-k1' }] }],
      ['no kid', { keys: [attackerJwk] }],
      ['kid with CRLF', { keys: [{ ...attackerJwk, kid: 'a\r\nx-injected: 1' }] }],
      ['kid of 5k characters', { keys: [{ ...attackerJwk, kid: 'k'.repeat(5000) }] }],
      ['alg none', { keys: [{ ...clientJwk, alg: 'none' }] }],
      ['alg HS256 on a public key', { keys: [{ ...clientJwk, alg: 'HS256' }] }],
      ['use enc', { keys: [{ ...clientJwk, use: 'enc' }] }],
      ['kty unknown', { keys: [{ ...clientJwk, kty: 'XYZ' }] }],
      ['an X25519 key', { keys: [{ ...clientJwk, crv: 'X25519', alg: undefined }] }],
      ['x not a point', { keys: [{ ...clientJwk, x: 'AAAA' }] }],
      ['keys not an array', { keys: { 0: clientJwk } }],
      ['a key that is a string', { keys: ['not a key'] }],
      ['a jku member beside keys', { keys: [clientJwk], jku: 'http://127.0.0.1:9/jwks.json' }],
    ]
    for (const [label, jwks] of cases) {
      const res = await admin('POST', '/v1/service-clients', {
        name: `hostile ${label}`.slice(0, 100),
        scopes: ['tokens:read'],
        jwks,
      })
      figures.record(KEYS, label, { status: res.status, accepted: res.status < 300 })
      expect
        .soft([res.status, res.body?.code], label)
        .toEqual([
          400,
          label === 'keys not an array' || label === 'a key that is a string' ? 'invalid_request' : 'invalid_jwks',
        ])
    }
    const names = (await admin('GET', '/v1/service-clients')).body.items.map((c: { name: string }) => c.name)
    expect(names.filter((n: string) => n.startsWith('hostile'))).toEqual([])
  })
})

describe('afterwards', () => {
  it('left no secret and no assertion in the logs', async () => {
    await secrets.expectNoneLogged(broker, 50)
  })

  it('logged each refused assertion as a security event', async () => {
    const events = broker.logs
      .map((l) => JSON.parse(l) as { event?: string })
      .filter((l) => l.event?.startsWith('client_assertion.'))
    expect(events.filter((e) => e.event === 'client_assertion.replayed')).toHaveLength(1)
    expect(events.length).toBeGreaterThanOrEqual(50)
  })

  it('nothing accepted, no 5xx', () => {
    figures.expectZeros()
  })
})
