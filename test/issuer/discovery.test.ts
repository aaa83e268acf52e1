// The broker's discovery documents as a verifier reads them: RFC 8414 metadata with the
// member names the RFC defines, and a JWKS that carries public key members only, one
// distinct kid per key (several keys once a rotation is published).
import { calculateJwkThumbprint, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker

beforeAll(async () => {
  broker = await startBroker()
})
afterAll(async () => broker?.close())

describe('GET /.well-known/oauth-authorization-server', () => {
  it('is the RFC 8414 metadata of the broker token endpoint, exactly', async () => {
    const res = await fetch(`${broker.url}/.well-known/oauth-authorization-server`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600')
    expect(await res.json()).toEqual({
      // RFC 8414 §2: issuer is the tokens' `iss` (PUBLIC_URL) ...
      issuer: broker.url,
      token_endpoint: `${broker.url}/oauth/token`,
      jwks_uri: `${broker.url}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      // ... required by RFC 8414 even without an authorization endpoint: none.
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      // RFC 7523 client assertions: asymmetric only, never none or HMAC.
      token_endpoint_auth_signing_alg_values_supported: [
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'ES256',
        'ES384',
        'ES512',
        'EdDSA',
        'Ed25519',
      ],
      scopes_supported: [
        'connect:write',
        'connections:write',
        'connections:read',
        'connections:revoke',
        'tokens:read',
        'clients:admin',
        'webhooks:write',
      ],
      access_token_signing_alg_values_supported: ['EdDSA'],
      service_documentation: `${broker.url}/docs`,
    })
  })

  it('names endpoints the broker serves', async () => {
    const metadata = (await (await fetch(`${broker.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      string
    >
    expect((await fetch(metadata.jwks_uri!)).status).toBe(200)
    const token = await fetch(metadata.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    })
    expect([token.status, ((await token.json()) as { error: string }).error]).toEqual([401, 'invalid_client'])
  })
})

describe('GET /.well-known/jwks.json', () => {
  const PUBLIC_OKP_MEMBERS = ['alg', 'crv', 'kid', 'kty', 'use', 'x']

  async function jwks(): Promise<JWK[]> {
    const res = await fetch(`${broker.url}/.well-known/jwks.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    return ((await res.json()) as { keys: JWK[] }).keys
  }

  it('publishes public members only, each key with a distinct kid (its RFC 7638 thumbprint)', async () => {
    // A pending rotation publishes a second key next to the current one.
    const rotated = await fetch(`${broker.url}/v1/signing-keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await broker.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ activateInSeconds: 120 }),
    })
    expect(rotated.status).toBe(201)
    const keys = await jwks()
    expect(keys).toHaveLength(2)
    expect(new Set(keys.map((k) => k.kid)).size).toBe(2)
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(PUBLIC_OKP_MEMBERS)
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
      expect(key).not.toHaveProperty('d')
      // 32-byte Ed25519 public key, base64url.
      expect(key.x).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty: key.kty!, crv: key.crv!, x: key.x! }))
    }
  })
})
