// RFC 8693 token exchange at POST /oauth/token, driven by a generic OAuth client library
// (oauth4webapi) as a service would, and by hand for the malformed requests a library
// would never send: a connection's provider token comes back with its headers, under the
// access-token rules (tokens:read, namespaces, refresh), and every refusal is an RFC 6749
// / 8693 error body.
import { exportJWK, generateKeyPair } from 'jose'
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SECURITY_EVENTS } from '../../src/security-events.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const insecure = { [oauth.allowInsecureRequests]: true }
// Imports need no provider call; a refresh finds nobody listening: a provider outage.
const provider = {
  authorizationUrl: 'http://127.0.0.1:1/auth',
  tokenUrl: 'http://127.0.0.1:1/token',
  clientId: 'c',
  clientSecret: 's',
  scopes: ['openid'],
  params: { tenant: { pattern: '^[a-z0-9]{1,20}$' } },
  apiHeaders: { 'X-Tenant': '{tenant}' },
}

let broker: TestBroker
let admin: Api
let as: oauth.AuthorizationServer
let svc: { clientId: string; clientSecret: string }

async function createClient(body: Record<string, unknown>): Promise<{ clientId: string; clientSecret: string }> {
  const res = await admin('POST', '/v1/service-clients', body)
  expect(res.status).toBe(201)
  return res.body
}

async function imported(credentials: Record<string, unknown>, tenant = 'acme'): Promise<string> {
  const res = await admin('POST', '/v1/connections', {
    provider: 'idp',
    ownerId: 'alice',
    credentials,
    params: { tenant },
  })
  expect(res.status).toBe(201)
  return res.body.id
}

/** A broker token through the library's client_credentials grant. */
async function brokerToken(client: { clientId: string; clientSecret: string }, scope?: string): Promise<string> {
  const params = new URLSearchParams(scope ? { scope } : {})
  const auth = oauth.ClientSecretBasic(client.clientSecret)
  const res = await oauth.clientCredentialsGrantRequest(as, { client_id: client.clientId }, auth, params, insecure)
  return (await oauth.processClientCredentialsResponse(as, { client_id: client.clientId }, res)).access_token
}

/** The library's generic grant request: what a service without knowledge of /v1 sends. */
async function exchange(
  client: { clientId: string; clientSecret: string },
  subjectToken: string,
  connectionId: string,
): Promise<oauth.TokenEndpointResponse> {
  const res = await oauth.genericTokenEndpointRequest(
    as,
    { client_id: client.clientId },
    oauth.ClientSecretPost(client.clientSecret),
    EXCHANGE,
    {
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN,
      resource: `urn:oauth-broker:connection:${connectionId}`,
    },
    insecure,
  )
  return oauth.processGenericTokenEndpointResponse(as, { client_id: client.clientId }, res)
}

/** A hand-built exchange: the raw status and body. */
async function rawExchange(form: Record<string, string>, client = svc) {
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: EXCHANGE,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      subject_token_type: ACCESS_TOKEN,
      ...form,
    }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, string> }
}

beforeAll(async () => {
  broker = await startBroker({ providers: { idp: provider } })
  admin = apiClient(broker, await broker.token())
  const issuer = new URL(broker.url)
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  )
  svc = await createClient({ name: 'exchanger', scopes: ['tokens:read', 'connections:read'] })
})
afterAll(async () => broker?.close())

describe('token exchange with a generic OAuth client', () => {
  it('is advertised in the metadata and vends the connection token with its headers and expiry', async () => {
    expect(as.grant_types_supported).toContain(EXCHANGE)
    const expiresAt = new Date(Date.now() + 3600_000).toISOString()
    const id = await imported({ accessToken: 'at-exchange-1', expiresAt, scopes: ['openid', 'email'] })
    const answer = await exchange(svc, await brokerToken(svc), id)
    expect(answer).toMatchObject({
      access_token: 'at-exchange-1',
      issued_token_type: ACCESS_TOKEN,
      scope: 'openid email',
      headers: { 'X-Tenant': 'acme' },
    })
    expect(answer.token_type.toLowerCase()).toBe('bearer')
    expect(answer.expires_in).toBeGreaterThan(3590)
    expect(answer.expires_in).toBeLessThanOrEqual(3600)
    // The vend is audited like an access-token call, as the exchanging client.
    const events = async () =>
      (await admin('GET', `/v1/audit-events?connectionId=${id}`)).body.items.map(
        (e: { type: string; actor: string }) => [e.type, e.actor],
      )
    await expect.poll(events).toContainEqual(['connection.token_vended', svc.clientId])
  })

  it('authenticates the client with private_key_jwt as well', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }
    const keyed = await createClient({ name: 'keyed-exchanger', scopes: ['tokens:read'], jwks: { keys: [jwk] } })
    const client = { client_id: keyed.clientId }
    const auth = () => oauth.PrivateKeyJwt({ key: privateKey, kid: 'k1' })
    const tokenRes = await oauth.clientCredentialsGrantRequest(as, client, auth(), new URLSearchParams(), insecure)
    const subject = (await oauth.processClientCredentialsResponse(as, client, tokenRes)).access_token
    const id = await imported({ accessToken: 'at-exchange-keyed' })
    const res = await oauth.genericTokenEndpointRequest(
      as,
      client,
      auth(),
      EXCHANGE,
      { subject_token: subject, subject_token_type: ACCESS_TOKEN, resource: `urn:oauth-broker:connection:${id}` },
      insecure,
    )
    const answer = await oauth.processGenericTokenEndpointResponse(as, client, res)
    expect(answer.access_token).toBe('at-exchange-keyed')
    // No expiry imported: none claimed.
    expect(answer.expires_in).toBeUndefined()
  })

  it('reauthorization_required is invalid_grant with the code first in error_description', async () => {
    const id = await imported({ accessToken: 'at-exchange-stale' })
    await broker.db.prisma.connection.update({ where: { id }, data: { status: 'reauthorization_required' } })
    const refused = await exchange(svc, await brokerToken(svc), id).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(oauth.ResponseBodyError)
    const body = refused as oauth.ResponseBodyError
    expect([body.status, body.error]).toEqual([400, 'invalid_grant'])
    expect(body.error_description).toMatch(/^reauthorization_required\b/)
  })

  it('confirmation_pending is invalid_grant with the code first in error_description', async () => {
    // A new connection whose end user the service has not confirmed yet (connections/confirmation.ts).
    const id = await imported({ accessToken: 'at-exchange-pending' })
    await broker.db.prisma.connection.update({ where: { id }, data: { status: 'pending_confirmation' } })
    const refused = await exchange(svc, await brokerToken(svc), id).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(oauth.ResponseBodyError)
    const body = refused as oauth.ResponseBodyError
    expect([body.status, body.error]).toEqual([400, 'invalid_grant'])
    expect(body.error_description).toMatch(/^confirmation_pending\b/)
    expect(JSON.stringify(body.cause)).not.toContain('at-exchange-pending')
  })

  it('a provider outage during the refresh is 503 temporarily_unavailable', async () => {
    const expired = new Date(Date.now() - 60_000).toISOString()
    const id = await imported({ accessToken: 'at-exchange-old', refreshToken: 'rt-exchange-old', expiresAt: expired })
    const res = await rawExchange({
      subject_token: await brokerToken(svc),
      resource: `urn:oauth-broker:connection:${id}`,
    })
    expect([res.status, res.body.error, res.body.error_description]).toEqual([
      503,
      'temporarily_unavailable',
      'provider_unavailable',
    ])
    expect(JSON.stringify(res.body)).not.toContain('at-exchange-old')
  })
})

describe('token exchange refusals', () => {
  it('refuses a connection the client cannot see, and resources of another form, as invalid_target', async () => {
    const id = await imported({ accessToken: 'at-exchange-hidden' })
    const elsewhere = await createClient({ name: 'other-ns', scopes: ['tokens:read'], namespaces: ['elsewhere'] })
    const hidden = await exchange(elsewhere, await brokerToken(elsewhere), id).catch((err: unknown) => err)
    expect((hidden as oauth.ResponseBodyError).error).toBe('invalid_target')
    // The same alert as the API raises for a connection of another namespace.
    const alerts = broker.logs
      .map((l) => JSON.parse(l) as { event?: string; clientId?: string })
      .filter((l) => l.event === SECURITY_EVENTS.namespaceHidden && l.clientId === elsewhere.clientId)
    expect(alerts).toHaveLength(1)
    const subject = await brokerToken(svc)
    for (const resource of [
      'urn:oauth-broker:connection:conn_doesnotexist',
      'urn:oauth-broker:connection:',
      `urn:oauth-broker:connection:${id}/x`,
      `https://broker.example/v1/connections/${id}`,
      id,
    ]) {
      const res = await rawExchange({ subject_token: subject, resource })
      expect([resource, res.status, res.body.error]).toEqual([resource, 400, 'invalid_target'])
    }
  })

  it('refuses a missing, invalid, foreign or under-scoped subject_token and bad token types', async () => {
    const id = await imported({ accessToken: 'at-exchange-guarded' })
    const resource = `urn:oauth-broker:connection:${id}`
    const own = await brokerToken(svc)
    const foreign = await broker.token()
    const narrow = await brokerToken(svc, 'connections:read')
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ resource }, 400, 'invalid_request'],
      [{ resource, subject_token: 'not-a-jwt' }, 400, 'invalid_request'],
      [{ resource, subject_token: `${own.slice(0, -4)}AAAA` }, 400, 'invalid_request'],
      [{ resource, subject_token: foreign }, 400, 'invalid_request'],
      [
        { resource, subject_token: own, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
        400,
        'invalid_request',
      ],
      [
        { resource, subject_token: own, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
        400,
        'invalid_request',
      ],
      [{ subject_token: own }, 400, 'invalid_request'],
      [{ resource, subject_token: narrow }, 400, 'invalid_scope'],
      [{ resource, subject_token: own, client_secret: 'wrong-secret-0123456789' }, 401, 'invalid_client'],
    ]
    for (const [form, status, error] of cases) {
      const res = await rawExchange(form)
      expect([form, res.status, res.body.error]).toEqual([form, status, error])
      expect(JSON.stringify(res.body)).not.toContain('at-exchange-guarded')
    }
    // The bootstrap client cannot pass off the exchanging client's token as its own either.
    const stolen = await rawExchange(
      { resource, subject_token: own },
      { clientId: BOOTSTRAP_ID, clientSecret: BOOTSTRAP_SECRET },
    )
    expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_request'])
  })
})

describe('token exchange limits', () => {
  it('is not counted against RATE_LIMIT_TOKEN, which still bounds client_credentials', async () => {
    const limited = await startBroker({ providers: { idp: provider }, env: { RATE_LIMIT_TOKEN: '2' } })
    try {
      const api = apiClient(limited, await limited.token())
      const made = await api('POST', '/v1/connections', {
        provider: 'idp',
        ownerId: 'bob',
        credentials: { accessToken: 'at-exchange-limited' },
        params: { tenant: 'acme' },
      })
      const subject = await limited.token('tokens:read')
      const form = {
        grant_type: EXCHANGE,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
        resource: `urn:oauth-broker:connection:${made.body.id}`,
      }
      const post = (body: Record<string, string>) =>
        fetch(`${limited.url}/oauth/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams(body),
        })
      for (let i = 0; i < 5; i++) expect((await post(form)).status).toBe(200)
      expect((await post({ grant_type: 'client_credentials' })).status).toBe(429)
    } finally {
      await limited.close()
    }
  })
})
