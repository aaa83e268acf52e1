// Service clients that prove themselves with keys (RFC 7523 private_key_jwt) and secret
// rotation, on two broker replicas sharing one database: an assertion signed with real
// jose keys gets a broker token once, its replay is refused on the other replica; jwks
// are checked before they are stored; rotate-secret keeps the previous secret for the
// stated overlap and not a second longer (the broker clock is moved).
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import { registerJwt } from '../support/secrets.js'
import type { Json } from '../support/json.js'

let a: TestBroker
let b: TestBroker
let admin: Api
let signer: { kid: string; privateKey: CryptoKey; jwk: JWK }
let clientId: string

async function keyPair(alg: 'ES256' | 'RS256' | 'EdDSA', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(
    alg,
    alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true },
  )
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid },
  }
}

/** A client assertion for `clientId`, signed by `key`; `claims` override the defaults. */
async function assertion(
  key: { kid: string; privateKey: CryptoKey },
  claims: Record<string, unknown> = {},
  id = clientId,
): Promise<string> {
  const now = Math.floor(a.clock.now().getTime() / 1000)
  const jwt = await new SignJWT({ iss: id, sub: id, aud: a.url, jti: randomUUID(), iat: now, exp: now + 60, ...claims })
    .setProtectedHeader({
      alg:
        key.privateKey.algorithm.name === 'ECDSA'
          ? 'ES256'
          : key.privateKey.algorithm.name === 'Ed25519'
            ? 'EdDSA'
            : 'RS256',
      kid: key.kid,
    })
    .sign(key.privateKey)
  registerJwt('client assertion', jwt)
  return jwt
}

async function tokenWith(broker: TestBroker, form: Record<string, string>) {
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
  })
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    body: (await res.json()) as Record<string, Json>,
  }
}

const withAssertion = (broker: TestBroker, jwt: string) =>
  tokenWith(broker, {
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: jwt,
  })

function eventsIn(broker: TestBroker, from: number): Array<Record<string, Json>> {
  return broker.logs
    .slice(from)
    .map((l) => JSON.parse(l) as Record<string, Json>)
    .filter((l) => typeof l.event === 'string')
}

beforeAll(async () => {
  a = await startBroker()
  // The second replica: same database, same issuer identifier.
  b = await startBroker({ databaseUrl: a.databaseUrl, env: { PUBLIC_URL: a.url } })
  admin = apiClient(a, await a.token('clients:admin'))
  signer = await keyPair('ES256', 'k1')
  const created = await admin('POST', '/v1/service-clients', {
    name: 'keyed',
    scopes: ['connections:read'],
    jwks: { keys: [signer.jwk] },
  })
  expect(created.status).toBe(201)
  clientId = created.body.clientId
})
afterAll(async () => {
  await b?.close()
  await a?.close()
})

describe('private_key_jwt', () => {
  it(
    'registers a client with public keys and no secret; ' + 'a signed assertion gets a broker token that works',
    async () => {
      const listed = await admin('GET', '/v1/service-clients')
      const entry = listed.body.items.find((c: { clientId: string }) => c.clientId === clientId)
      expect(entry.jwks.keys).toEqual([
        { kty: 'EC', kid: 'k1', crv: 'P-256', x: signer.jwk.x, y: signer.jwk.y, use: 'sig', alg: 'ES256' },
      ])
      expect(entry).not.toHaveProperty('clientSecret')

      const res = await withAssertion(a, await assertion(signer))
      expect(res.status).toBe(200)
      expect(res.body.scope).toBe('connections:read')
      const used = await fetch(`${b.url}/v1/connections`, {
        headers: { authorization: `Bearer ${res.body.access_token}` },
      })
      expect(used.status).toBe(200)
      // With the optional client_id too (RFC 7521 §4.2), and the other key types.
      expect(
        (
          await tokenWith(a, {
            client_id: clientId,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await assertion(signer),
          })
        ).status,
      ).toBe(200)
    },
  )

  it('an RSA and an Ed25519 key work as well', async () => {
    for (const alg of ['RS256', 'EdDSA'] as const) {
      const key = await keyPair(alg, `key-${alg}`)
      const created = await admin('POST', '/v1/service-clients', {
        name: alg,
        scopes: ['tokens:read'],
        jwks: { keys: [key.jwk] },
      })
      expect(created.status, alg).toBe(201)
      expect((await withAssertion(a, await assertion(key, {}, created.body.clientId))).status, alg).toBe(200)
    }
  })

  it('an assertion is used once: its replay on the other replica is refused and logged as a replay', async () => {
    const jwt = await assertion(signer)
    expect((await withAssertion(a, jwt)).status).toBe(200)
    const from = b.logs.length
    const replay = await withAssertion(b, jwt)
    expect([replay.status, replay.body.error, replay.body.access_token]).toEqual([401, 'invalid_client', undefined])
    expect(replay.challenge).toMatch(/^Basic realm=/)
    const events = eventsIn(b, from)
    expect(events).toEqual([
      expect.objectContaining({ event: 'client_assertion.replayed', clientId, reason: 'jti already used' }),
    ])
    expect(b.logs.slice(from).join('')).not.toContain(jwt.split('.')[2])
  })

  it('the same assertion sent to both replicas at once gets exactly one token', async () => {
    for (let round = 0; round < 10; round++) {
      const jwt = await assertion(signer)
      const results = await Promise.all([
        withAssertion(a, jwt),
        withAssertion(b, jwt),
        withAssertion(a, jwt),
        withAssertion(b, jwt),
      ])
      expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401])
    }
  })

  it(
    'new keys replace the old ones at once on every replica; ' + 'a secret client converted to keys loses its secret',
    async () => {
      const next = await keyPair('ES256', 'k2')
      const created = await admin('POST', '/v1/service-clients', { name: 'rolling', scopes: ['tokens:read'] })
      const id = created.body.clientId as string
      const client = await a.app.services.clients.setJwks(
        id,
        { keys: [next.jwk] },
        { actor: 'test', namespaces: ['*'] },
      )
      expect(client.jwks!.keys.map((k) => k.kid)).toEqual(['k2'])
      expect((await tokenWith(b, { client_id: id, client_secret: created.body.clientSecret })).status).toBe(401)
      expect((await withAssertion(b, await assertion(next, {}, id))).status).toBe(200)
      const newer = await keyPair('EdDSA', 'k3')
      await a.app.services.clients.setJwks(id, { keys: [newer.jwk] }, { actor: 'test', namespaces: ['*'] })
      expect((await withAssertion(b, await assertion(next, {}, id))).status).toBe(401)
      expect((await withAssertion(b, await assertion(newer, {}, id))).status).toBe(200)
      const audit = await admin('GET', '/v1/audit-events?type=service_client.keys_changed')
      const mine = audit.body.items.filter((e: { detail: { clientId: string } }) => e.detail.clientId === id)
      expect(mine.map((e: { detail: unknown }) => e.detail)).toEqual([
        { clientId: id, kids: ['k3'], secretRemoved: false },
        { clientId: id, kids: ['k2'], secretRemoved: true },
      ])
    },
  )

  it('used jtis are purged once their assertions expired', async () => {
    const jwt = await assertion(signer, { exp: Math.floor(a.clock.now().getTime() / 1000) + 30 })
    expect((await withAssertion(a, jwt)).status).toBe(200)
    const c = new pg.Client({ connectionString: a.databaseUrl })
    await c.connect()
    try {
      const count = async () =>
        (await c.query('SELECT count(*)::int AS n FROM client_assertion_jtis WHERE client_id = $1', [clientId])).rows[0]
          .n as number
      const before = await count()
      expect(before).toBeGreaterThan(0)
      const purgeJtis = async () => (await a.app.services.retention.purge()).client_assertion_jtis ?? 0
      expect(await purgeJtis()).toBe(0)
      a.clock.advance(60)
      try {
        expect(await purgeJtis()).toBeGreaterThanOrEqual(1)
        expect(await count()).toBeLessThan(before)
      } finally {
        a.clock.advance(-60)
      }
    } finally {
      await c.end()
    }
  })
})

describe('jwks validation', () => {
  it('refuses private members, symmetric keys, too many keys and incoherent keys: 400 invalid_jwks', async () => {
    const ec = await keyPair('ES256', 'ec')
    const rsa = await keyPair('RS256', 'rsa')
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
    const cases: Array<[string, unknown, RegExp]> = [
      ['EC private key (d)', { keys: [{ ...ec.privateJwk, kid: 'ec' }] }, /private member "d"/],
      ['RSA private key', { keys: [{ ...rsa.privateJwk, kid: 'rsa' }] }, /private member "d"/],
      ['public key with a stray p', { keys: [{ ...rsa.jwk, p: 'AQAB' }] }, /private member "p"/],
      [
        'symmetric key',
        { keys: [{ kty: 'oct', kid: 'h', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' }] },
        /private member "k"|symmetric/,
      ],
      ['oct without k', { keys: [{ kty: 'oct', kid: 'h' }] }, /symmetric/],
      ['six keys', { keys: ['1', '2', '3', '4', '5', '6'].map((kid) => ({ ...ec.jwk, kid })) }, /at most 5 keys/],
      ['no keys', { keys: [] }, /non-empty/],
      ['duplicate kid', { keys: [ec.jwk, { ...rsa.jwk, kid: 'ec' }] }, /kid "ec" appears twice/],
      ['no kid', { keys: [{ ...ec.jwk, kid: undefined }] }, /kid is required/],
      ['use enc', { keys: [{ ...ec.jwk, use: 'enc' }] }, /use must be "sig"/],
      ['alg of another key type', { keys: [{ ...ec.jwk, alg: 'RS256' }] }, /does not fit/],
      ['alg HS256', { keys: [{ ...ec.jwk, alg: 'HS256' }] }, /alg must be one of/],
      ['alg none', { keys: [{ ...ec.jwk, alg: 'none' }] }, /alg must be one of/],
      ['RSA of 1024 bits', { keys: [{ ...weak, kid: 'weak' }] }, /shorter than 2048/],
      ['a point not on the curve', { keys: [{ ...ec.jwk, x: rsa.jwk.n!.slice(0, 43) }] }, /not a valid EC public key/],
      ['an unknown curve', { keys: [{ ...ec.jwk, crv: 'secp256k1', alg: undefined }] }, /crv must be one of/],
      ['key_ops sign', { keys: [{ ...ec.jwk, key_ops: ['sign'] }] }, /key_ops/],
      ['a member beside keys', { keys: [ec.jwk], secret: 'x' }, /unexpected member/],
    ]
    for (const [label, jwks, detail] of cases) {
      const res = await admin('POST', '/v1/service-clients', { name: label, scopes: ['tokens:read'], jwks })
      expect([res.status, res.body.code], label).toEqual([400, 'invalid_jwks'])
      expect(res.body.detail, label).toMatch(detail)
    }
    const listed = await admin('GET', '/v1/service-clients')
    expect(listed.body.items.map((c: { name: string }) => c.name)).not.toContain('six keys')
    await expect(
      a.app.services.clients.setJwks(clientId, { keys: [ec.privateJwk] }, { actor: 'test', namespaces: ['*'] }),
    ).rejects.toMatchObject({ code: 'invalid_jwks' })
  })

  it('keeps only the public members of a key', async () => {
    const key = await keyPair('ES256', 'tidy')
    const created = await admin('POST', '/v1/service-clients', {
      name: 'tidy',
      scopes: ['tokens:read'],
      jwks: { keys: [{ ...key.jwk, x5t: 'abc', ext: true }] },
    })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body.jwks.keys[0]).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
  })
})

describe('rotate-secret', () => {
  async function secretClient() {
    const created = await admin('POST', '/v1/service-clients', { name: 'rotating', scopes: ['tokens:read'] })
    return { id: created.body.clientId as string, secret: created.body.clientSecret as string }
  }
  const works = async (broker: TestBroker, id: string, secret: string) =>
    (await tokenWith(broker, { client_id: id, client_secret: secret })).status === 200

  it('both secrets work during the overlap, only the new one after it, on every replica', async () => {
    const { id, secret: old } = await secretClient()
    const before = a.clock.now().getTime()
    const rotated = await admin('POST', `/v1/service-clients/${id}/rotate-secret`, { overlapSeconds: 600 })
    expect(rotated.status).toBe(200)
    expect(rotated.headers.get('cache-control')).toBe('no-store')
    expect(rotated.body.clientId).toBe(id)
    expect(rotated.body.clientSecret).not.toBe(old)
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - before).toBeGreaterThanOrEqual(600_000)
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - before).toBeLessThan(605_000)
    const fresh = rotated.body.clientSecret as string
    for (const broker of [a, b])
      expect([await works(broker, id, old), await works(broker, id, fresh)]).toEqual([true, true])
    for (const broker of [a, b]) broker.clock.advance(601)
    try {
      for (const broker of [a, b])
        expect([await works(broker, id, old), await works(broker, id, fresh)]).toEqual([false, true])
    } finally {
      for (const broker of [a, b]) broker.clock.advance(-601)
    }
  })

  it(
    'defaults to an hour; overlap 0 ends the old secret ' + 'at once; a second rotation ends the first secret',
    async () => {
      const { id, secret: first } = await secretClient()
      const byDefault = await fetch(`${a.url}/v1/service-clients/${id}/rotate-secret`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await a.token('clients:admin')}` },
      })
      const body = (await byDefault.json()) as { clientSecret: string; previousSecretExpiresAt: string }
      expect(byDefault.status).toBe(200)
      expect(Math.round((Date.parse(body.previousSecretExpiresAt) - a.clock.now().getTime()) / 60_000)).toBe(60)
      const second = body.clientSecret
      const third = await admin('POST', `/v1/service-clients/${id}/rotate-secret`, { overlapSeconds: 3600 })
      expect([
        await works(a, id, first),
        await works(a, id, second),
        await works(a, id, third.body.clientSecret),
      ]).toEqual([false, true, true])
      const fourth = await admin('POST', `/v1/service-clients/${id}/rotate-secret`, { overlapSeconds: 0 })
      expect(fourth.body.previousSecretExpiresAt).toBeNull()
      expect([await works(a, id, third.body.clientSecret), await works(a, id, fourth.body.clientSecret)]).toEqual([
        false,
        true,
      ])
    },
  )

  it('refuses a client with keys (no secret), an unknown client and a bad overlap', async () => {
    const keyed = await admin('POST', `/v1/service-clients/${clientId}/rotate-secret`, {})
    expect([keyed.status, keyed.body.code]).toEqual([400, 'invalid_request'])
    expect(keyed.body.detail).toMatch(/no secret to rotate/)
    const missing = await admin('POST', '/v1/service-clients/svc_missing/rotate-secret', {})
    expect([missing.status, missing.body.code]).toEqual([404, 'service_client_not_found'])
    const { id } = await secretClient()
    for (const overlapSeconds of [-1, 7 * 24 * 3600 + 1, 1.5, '60']) {
      const res = await admin('POST', `/v1/service-clients/${id}/rotate-secret`, { overlapSeconds })
      expect([res.status, res.body.code], String(overlapSeconds)).toEqual([400, 'invalid_request'])
    }
    // A client with keys answers a secret like an unknown one.
    expect((await tokenWith(a, { client_id: clientId, client_secret: 'anything-at-all-0123456789' })).status).toBe(401)
  })
})
