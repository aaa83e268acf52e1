// Broker tokens end to end: obtained at /oauth/token with the bootstrap credentials,
// verified by an outside verifier (jose) against the served JWKS, and every forged or
// stale variant refused by the /v1 auth hook. (issue: foundation; docs/security.md, checklist
// items 18-22)
import { createHmac, randomUUID } from 'node:crypto'
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker
const TTL = 120

beforeAll(async () => {
  broker = await startBroker({ env: { BROKER_TOKEN_TTL_SECONDS: String(TTL) } })
})
afterAll(async () => broker?.close())

async function jwks(): Promise<{ keys: JWK[] }> {
  const res = await fetch(`${broker.url}/.well-known/jwks.json`)
  expect(res.status).toBe(200)
  return (await res.json()) as { keys: JWK[] }
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

async function tokenRequest(init: { authorization?: string; form: Record<string, string>; contentType?: string }) {
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': init.contentType ?? 'application/x-www-form-urlencoded',
      ...(init.authorization ? { authorization: init.authorization } : {}),
    },
    body: new URLSearchParams(init.form).toString(),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
}

/** Calls a /v1 route that needs clients:admin with the given bearer token. */
async function callAdmin(token: string) {
  const res = await fetch(`${broker.url}/v1/service-clients`, { headers: { authorization: `Bearer ${token}` } })
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: (await res.json()) as { code?: string },
  }
}

describe('POST /oauth/token', () => {
  it('issues an RFC 9068 token that verifies against the served JWKS with pinned algorithms', async () => {
    const res = await tokenRequest({
      authorization: basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET),
      form: { grant_type: 'client_credentials' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body.token_type).toBe('Bearer')
    expect(res.body.expires_in).toBe(TTL)
    const token = res.body.access_token as string

    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      issuer: broker.url,
      audience: broker.url,
    })
    expect(protectedHeader.typ).toBe('at+jwt')
    expect(payload.sub).toBe(BOOTSTRAP_ID)
    expect(payload.client_id).toBe(BOOTSTRAP_ID)
    expect(payload.exp! - payload.iat!).toBe(TTL)
    expect(typeof payload.jti).toBe('string')
    expect((payload.scope as string).split(' ').sort()).toEqual(
      [
        'clients:admin',
        'connect:write',
        'connections:read',
        'connections:revoke',
        'connections:write',
        'tokens:read',
        'webhooks:write',
      ].sort(),
    )
    expect(res.body.scope).toBe(payload.scope)
    expect((await callAdmin(token)).status).toBe(200)
  })

  it('accepts client_secret_post and narrows scopes on request', async () => {
    const res = await tokenRequest({
      form: {
        grant_type: 'client_credentials',
        client_id: BOOTSTRAP_ID,
        client_secret: BOOTSTRAP_SECRET,
        scope: 'tokens:read',
      },
    })
    expect(res.status).toBe(200)
    expect(res.body.scope).toBe('tokens:read')
  })

  it('refuses a wrong secret and an unknown client alike: 401 invalid_client with WWW-Authenticate', async () => {
    for (const authorization of [
      basic(BOOTSTRAP_ID, `${BOOTSTRAP_SECRET}x`),
      basic('no-such-client', BOOTSTRAP_SECRET),
    ]) {
      const res = await tokenRequest({ authorization, form: { grant_type: 'client_credentials' } })
      expect(res.status).toBe(401)
      expect(res.body.error).toBe('invalid_client')
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
    }
    const noAuth = await tokenRequest({ form: { grant_type: 'client_credentials' } })
    expect(noAuth.status).toBe(401)
    expect(noAuth.body.error).toBe('invalid_client')
  })

  it('answers RFC 6749 errors for bad grant, scope, duplicates, both auth methods and wrong content type', async () => {
    const auth = basic(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
    expect((await tokenRequest({ authorization: auth, form: { grant_type: 'password' } })).body.error).toBe(
      'unsupported_grant_type',
    )
    const scope = await tokenRequest({
      authorization: auth,
      form: { grant_type: 'client_credentials', scope: 'tokens:read root' },
    })
    expect([scope.status, scope.body.error]).toEqual([400, 'invalid_scope'])
    const both = await tokenRequest({
      authorization: auth,
      form: { grant_type: 'client_credentials', client_id: BOOTSTRAP_ID, client_secret: BOOTSTRAP_SECRET },
    })
    expect([both.status, both.body.error]).toEqual([400, 'invalid_request'])
    const dup = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&grant_type=client_credentials',
    })
    expect([dup.status, ((await dup.json()) as { error: string }).error]).toEqual([400, 'invalid_request'])
    const json = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    })
    expect([json.status, ((await json.json()) as { error: string }).error]).toEqual([400, 'invalid_request'])
  })
})

describe('the /v1 auth hook refuses forged and stale tokens', () => {
  let good: string
  let claims: Record<string, unknown>
  let kid: string
  beforeAll(async () => {
    good = await broker.token()
    kid = decodeProtectedHeader(good).kid!
    claims = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
  })

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  async function signWithForeignKey(header: Record<string, unknown>, payload: Record<string, unknown>) {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
    return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(privateKey)
  }

  async function expectRefused(token: string, status = 401) {
    const res = await callAdmin(token)
    expect(res.status).toBe(status)
    expect(res.body.code).toBe(status === 401 ? 'unauthorized' : 'insufficient_scope')
    expect(res.wwwAuthenticate).toMatch(/^Bearer realm="oauth-broker"/)
    return res
  }

  it('no token, and a malformed header', async () => {
    const res = await fetch(`${broker.url}/v1/service-clients`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="oauth-broker"')
    await expectRefused('not-a-jwt')
  })

  it('alg: none', async () => {
    await expectRefused(`${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`)
  })

  it('HS256 keyed with the JWKS public key', async () => {
    const { keys } = await jwks()
    const publicKey = keys.find((k) => k.kid === kid)!
    const signingInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(claims)}`
    for (const secret of [Buffer.from(publicKey.x!, 'base64url'), Buffer.from(JSON.stringify(publicKey))]) {
      const sig = createHmac('sha256', secret).update(signingInput).digest('base64url')
      await expectRefused(`${signingInput}.${sig}`)
    }
  })

  it('a flipped signature byte', async () => {
    const [h, p, s] = good.split('.') as [string, string, string]
    const sig = Buffer.from(s, 'base64url')
    sig[0] = sig[0]! ^ 0x01
    await expectRefused(`${h}.${p}.${sig.toString('base64url')}`)
  })

  it('an unknown kid, and tokens carrying jku, x5u or jwk headers', async () => {
    await expectRefused(await signWithForeignKey({ alg: 'EdDSA', typ: 'at+jwt', kid: 'unknown-kid' }, claims))
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwk = await exportJWK(publicKey)
    await expectRefused(
      await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', jwk }).sign(privateKey),
    )
    await expectRefused(
      await signWithForeignKey({ alg: 'EdDSA', typ: 'at+jwt', kid, jku: 'http://127.0.0.1:1/jwks.json' }, claims),
    )
    await expectRefused(
      await signWithForeignKey({ alg: 'EdDSA', typ: 'at+jwt', kid, x5u: 'http://127.0.0.1:1/cert.pem' }, claims),
    )
  })

  describe('claims checked with the broker key itself', () => {
    // Tokens signed by the broker's own key, with one claim or header wrong each time.
    async function signAsBroker(header: Record<string, unknown>, payload: Record<string, unknown>) {
      const key = broker.app.services.keys.current()
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, ...header } as { alg: string })
        .sign(key.privateKey!)
    }
    const now = () => Math.floor(Date.now() / 1000)
    const base = () => ({ ...claims, iat: now(), exp: now() + 60, jti: randomUUID() })

    it('is accepted when every claim is right (control)', async () => {
      expect((await callAdmin(await signAsBroker({ typ: 'at+jwt' }, base()))).status).toBe(200)
    })
    it('expired', async () => {
      await expectRefused(await signAsBroker({ typ: 'at+jwt' }, { ...base(), iat: now() - 600, exp: now() - 300 }))
    })
    it('future nbf', async () => {
      await expectRefused(await signAsBroker({ typ: 'at+jwt' }, { ...base(), nbf: now() + 300 }))
    })
    it('missing exp', async () => {
      const { exp: _exp, ...rest } = base()
      await expectRefused(await signAsBroker({ typ: 'at+jwt' }, rest))
    })
    it('wrong aud', async () => {
      await expectRefused(await signAsBroker({ typ: 'at+jwt' }, { ...base(), aud: 'https://other.example' }))
    })
    it('wrong iss', async () => {
      await expectRefused(await signAsBroker({ typ: 'at+jwt' }, { ...base(), iss: 'https://other.example' }))
    })
    it('typ missing, or typ JWT', async () => {
      await expectRefused(await signAsBroker({}, base()))
      await expectRefused(await signAsBroker({ typ: 'JWT' }, base()))
    })
    it('a deleted service client', async () => {
      await expectRefused(await signAsBroker({ typ: 'at+jwt' }, { ...base(), sub: 'ghost', client_id: 'ghost' }))
    })
  })

  it('403 insufficient_scope for a valid token without the route scope', async () => {
    const narrow = await broker.token('tokens:read')
    const res = await expectRefused(narrow, 403)
    expect(res.wwwAuthenticate).toContain('error="insufficient_scope"')
    expect(res.wwwAuthenticate).toContain('scope="clients:admin"')
  })
})
