// Steps of the OAuth callback pipeline (src/connections/callback.ts) on their own: the
// checks on a consumed attempt, and the code exchange against a local token endpoint.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttemptRefused, checkCallback, exchangeCode } from '../../src/connections/callback.js'
import { sha256, type ConnectSessionRow } from '../../src/connections/connect-sessions.js'
import { createDispatchers, ProviderNetwork } from '../../src/oauth/network.js'
import type { OAuth2Provider, Provider } from '../../src/providers/schema.js'
import { SECURITY_EVENTS } from '../../src/security-events.js'

const provider: OAuth2Provider = {
  key: 'acme',
  mode: 'oauth2',
  displayName: 'Acme',
  docsUrl: undefined,
  apiHeaders: {},
  issuer: 'https://acme.example',
  authorizationUrl: 'https://acme.example/authorize',
  tokenUrl: 'http://127.0.0.1:1/token',
  revocationUrl: undefined,
  revocation: 'none',
  sendScopes: true,
  tokenRequestHeaders: {},
  metadataFields: undefined,
  defaultExpiresInSeconds: undefined,
  userSuppliedHosts: false,
  clientId: 'broker',
  clientSecret: 'secret',
  scopes: ['read'],
  scopeSeparator: ' ',
  responseScopeSeparator: ' ',
  pkce: true,
  tokenEndpointAuthMethod: 'client_secret_post',
  tokenRequestEncoding: 'form',
  authorizationParams: {},
  params: {},
}

const now = new Date('2027-01-01T12:00:00Z')
const state = 'state-of-the-attempt'
const session = {
  id: 'cs_test',
  provider: 'acme',
  ownerId: 'user-1',
  clientId: 'svc',
  returnUrl: 'https://app.example/back',
  params: {},
  scopes: ['read'],
  connectionId: null,
  expiresAt: new Date(now.getTime() + 60_000),
  usedAt: now,
} as unknown as ConnectSessionRow

const attempt = { browserHash: sha256('binding') }

const providers = new Map<string, Provider>([['acme', provider]])
const good = { providerKey: 'acme', query: { state, code: 'the-code', iss: provider.issuer }, cookie: 'binding', now }

function refusal(run: () => unknown): { code: string; status: number; event?: string } {
  try {
    run()
  } catch (err) {
    if (err instanceof AttemptRefused)
      return { code: err.code, status: err.status, ...(err.event ? { event: err.event } : {}) }
    throw err
  }
  throw new Error('not refused')
}

describe('checkCallback', () => {
  it('returns the provider of the stored attempt and the code when every check passes', () => {
    const checked = checkCallback(session, attempt, good, providers)
    expect(checked.provider.key).toBe('acme')
    expect(checked.code).toBe('the-code')
  })

  it('refuses each failed check with its own code and status', () => {
    const expired = { ...session, expiresAt: now } as ConnectSessionRow
    expect(refusal(() => checkCallback(expired, attempt, good, providers))).toEqual({
      code: 'session_expired',
      status: 400,
    })
    expect(refusal(() => checkCallback(session, attempt, { ...good, cookie: 'other' }, providers))).toEqual({
      code: 'browser_mismatch',
      status: 400,
    })
    expect(refusal(() => checkCallback(session, attempt, { ...good, providerKey: 'other' }, providers))).toEqual({
      code: 'provider_mismatch',
      status: 400,
    })
    expect(refusal(() => checkCallback(session, attempt, good, new Map()))).toEqual({
      code: 'provider_unavailable',
      status: 503,
    })
    expect(refusal(() => checkCallback(session, attempt, { ...good, query: { state, code: 'c' } }, providers))).toEqual(
      { code: 'issuer_mismatch', status: 400 },
    )
    const denied = { ...good, query: { state, iss: provider.issuer, error: 'access_denied' } }
    expect(refusal(() => checkCallback(session, attempt, denied, providers))).toEqual({
      code: 'access_denied',
      status: 400,
    })
    const failed = { ...good, query: { state, iss: provider.issuer, error: 'server_error' } }
    expect(refusal(() => checkCallback(session, attempt, failed, providers))).toEqual({
      code: 'authorization_failed',
      status: 400,
    })
    expect(
      refusal(() => checkCallback(session, attempt, { ...good, query: { state, iss: provider.issuer } }, providers)),
    ).toEqual({ code: 'invalid_request', status: 400 })
  })

  it('refuses a redirect carrying the service return URL, so the browser goes back', () => {
    try {
      checkCallback(session, attempt, { ...good, providerKey: 'other' }, providers)
    } catch (err) {
      expect((err as AttemptRefused).returnUrl).toBe('https://app.example/back')
    }
    expect.assertions(1)
  })
})

describe('exchangeCode', () => {
  let server: Server
  let tokenUrl: string
  let answer: { status: number; body: unknown }
  let received: URLSearchParams | undefined
  const network = new ProviderNetwork(createDispatchers({ allowPrivate: true }), 2_000)

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        received = new URLSearchParams(body)
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
  })
  afterAll(async () => {
    await network.close()
    await new Promise((resolve) => server.close(resolve))
  })

  const grant = () => ({ code: 'the-code', verifier: 'the-verifier', publicUrl: 'https://broker.example', network })

  it('sends the code, the verifier and the redirect URI, and returns the tokens', async () => {
    answer = {
      status: 200,
      body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' },
    }
    const tokens = await exchangeCode(session, { ...provider, tokenUrl }, grant())
    expect(tokens.accessToken).toBe('at-1')
    expect(tokens.refreshToken).toBe('rt-1')
    expect(received?.get('grant_type')).toBe('authorization_code')
    expect(received?.get('code')).toBe('the-code')
    expect(received?.get('code_verifier')).toBe('the-verifier')
    expect(received?.get('redirect_uri')).toBe('https://broker.example/oauth/callback/acme')
  })

  it(
    'a refused code is the attempt failing, a refused ' + 'client the provider rejecting, a broken answer an outage',
    async () => {
      const cases = [
        [{ status: 400, body: { error: 'invalid_grant' } }, 'authorization_failed', 400],
        [{ status: 401, body: { error: 'invalid_client' } }, 'provider_rejected', 502],
        [{ status: 503, body: { error: 'temporarily_unavailable' } }, 'provider_unavailable', 503],
      ] as const
      for (const [reply, code, status] of cases) {
        answer = reply
        const err = await exchangeCode(session, { ...provider, tokenUrl }, grant()).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(AttemptRefused)
        expect({ code: (err as AttemptRefused).code, status: (err as AttemptRefused).status }).toEqual({ code, status })
        expect((err as AttemptRefused).event).toBe(SECURITY_EVENTS.codeExchangeFailed)
      }
    },
  )
})
