// The provider client's pure pieces: request building and response checking, with the
// synthetic responses real providers send (quirks included).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildAuthorizationUrl } from '../../src/oauth/authorization-request.js'
import { codeChallengeS256 } from '../../src/oauth/pkce.js'
import { checkParams, fillPlaceholders } from '../../src/providers/templates.js'
import { failureOf, ProviderError } from '../../src/oauth/provider-error.js'
import { buildTokenRequest, clientSecretBasic, parseTokenResponse } from '../../src/oauth/token-endpoint.js'
import type { OAuth2Provider } from '../../src/providers/schema.js'

const provider: OAuth2Provider = {
  key: 'acme',
  mode: 'oauth2',
  displayName: 'Acme',
  docsUrl: undefined,
  apiHeaders: {},
  issuer: undefined,
  authorizationUrl: 'https://{subdomain}.acme.example/oauth/authorize?foo=bar',
  tokenUrl: 'https://{subdomain}.acme.example/oauth/token',
  revocationUrl: undefined,
  revocation: 'none',
  sendScopes: true,
  tokenRequestHeaders: {},
  metadataFields: undefined,
  defaultExpiresInSeconds: undefined,
  userSuppliedHosts: false,
  clientId: 'client id/é',
  clientSecret: 'se:cret+%',
  scopes: ['read', 'write'],
  scopeSeparator: ' ',
  responseScopeSeparator: ',',
  pkce: true,
  tokenEndpointAuthMethod: 'client_secret_basic',
  tokenRequestEncoding: 'form',
  authorizationParams: { prompt: 'consent' },
  params: { subdomain: { pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } },
}

const ok = (body: unknown, status = 200, contentType = 'application/json') => ({
  status,
  contentType,
  body: typeof body === 'string' ? body : JSON.stringify(body),
})
const failure = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProviderError) return { failure: err.failure, code: err.code }
    throw err
  }
  throw new Error('expected a ProviderError')
}

describe('PKCE', () => {
  it('computes the RFC 7636 Appendix B example', () => {
    expect(codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    )
  })
})

describe('authorization request', () => {
  it(
    'carries every parameter, PKCE explicitly S256, scopes ' +
      'with the separator, fixed params, and keeps the URL query',
    () => {
      const url = new URL(
        buildAuthorizationUrl(provider, {
          redirectUri: 'https://broker.example/oauth/callback/acme',
          state: 's',
          codeChallenge: 'c',
          scopes: ['read', 'write'],
          params: { subdomain: 'team' },
        }),
      )
      expect(url.origin).toBe('https://team.acme.example')
      expect(Object.fromEntries(url.searchParams)).toEqual({
        foo: 'bar',
        prompt: 'consent',
        response_type: 'code',
        client_id: 'client id/é',
        redirect_uri: 'https://broker.example/oauth/callback/acme',
        scope: 'read write',
        state: 's',
        code_challenge: 'c',
        code_challenge_method: 'S256',
      })
    },
  )
})

describe('placeholders', () => {
  it('refuses hostile values before they reach a URL', () => {
    const specs = provider.params
    for (const value of ['evil.com/x', 'a@b', '..', 'a\r\nb', 'A'.repeat(70), '', 'x.y', '-x']) {
      expect(checkParams(specs, { subdomain: value }), JSON.stringify(value)).not.toEqual([])
    }
    expect(checkParams(specs, {})).toEqual(['params.subdomain: required'])
    expect(checkParams(specs, { subdomain: 'ok', extra: 'x' })).toEqual([
      'params.extra: this provider takes no such parameter',
    ])
    expect(checkParams(specs, { subdomain: 'my-team1' })).toEqual([])
    expect(fillPlaceholders(provider.tokenUrl, { subdomain: 'my-team1' })).toBe(
      'https://my-team1.acme.example/oauth/token',
    )
  })
})

describe('token request', () => {
  it('client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1)', () => {
    const req = buildTokenRequest(provider, { subdomain: 't' }, { grant_type: 'refresh_token', refresh_token: 'r' })
    expect(req.headers.authorization).toBe(clientSecretBasic('client id/é', 'se:cret+%'))
    const decoded = Buffer.from(req.headers.authorization!.slice(6), 'base64').toString()
    expect(decoded).toBe('client+id%2F%C3%A9:se%3Acret%2B%25')
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'r',
    })
    expect(req.url).toBe('https://t.acme.example/oauth/token')
  })

  it('client_secret_post with a JSON body', () => {
    const req = buildTokenRequest(
      { ...provider, tokenEndpointAuthMethod: 'client_secret_post', tokenRequestEncoding: 'json' },
      { subdomain: 't' },
      {
        grant_type: 'authorization_code',
        code: 'c',
        redirect_uri: 'https://b/cb',
        code_verifier: 'v',
      },
    )
    expect(req.headers.authorization).toBeUndefined()
    expect(req.headers['content-type']).toBe('application/json')
    expect(JSON.parse(req.body!)).toEqual({
      grant_type: 'authorization_code',
      code: 'c',
      redirect_uri: 'https://b/cb',
      code_verifier: 'v',
      client_id: 'client id/é',
      client_secret: 'se:cret+%',
    })
  })
})

describe('token response', () => {
  it('accepts expires_in as a number, as a string, or missing; keeps non-secret extras; splits scopes', () => {
    expect(
      parseTokenResponse(
        provider,
        ok({
          access_token: 'a',
          token_type: 'bearer',
          expires_in: 3600,
          refresh_token: 'r',
          scope: 'x,y',
          account_id: 'acc',
          id_token: 'secret-ish',
          nested: { a: 1 },
        }),
      ),
    ).toEqual({
      accessToken: 'a',
      tokenType: 'Bearer',
      expiresInSeconds: 3600,
      refreshToken: 'r',
      refreshTokenExpiresInSeconds: undefined,
      scopes: ['x', 'y'],
      metadata: { account_id: 'acc' },
    })
    expect(parseTokenResponse(provider, ok({ access_token: 'a', expires_in: '1800' })).expiresInSeconds).toBe(1800)
    const bare = parseTokenResponse(provider, ok({ access_token: 'dal:AbC' }))
    expect([bare.accessToken, bare.expiresInSeconds, bare.refreshToken, bare.scopes, bare.tokenType]).toEqual([
      'dal:AbC',
      undefined,
      undefined,
      undefined,
      'Bearer',
    ])
  })

  it('classifies failures: grant, configuration, transient', () => {
    expect(failure(() => parseTokenResponse(provider, ok({ error: 'invalid_grant' }, 400)))).toEqual({
      failure: 'grant',
      code: 'invalid_grant',
    })
    expect(failure(() => parseTokenResponse(provider, ok({ error: 'invalid_client' }, 401)))).toEqual({
      failure: 'configuration',
      code: 'invalid_client',
    })
    // The grant no longer covers what was asked: the user must authorize again.
    expect(failure(() => parseTokenResponse(provider, ok({ error: 'invalid_scope' }, 400)))).toEqual({
      failure: 'grant',
      code: 'invalid_scope',
    })
    // The broker's client may not use this grant type: its registration needs fixing, not the user.
    expect(failure(() => parseTokenResponse(provider, ok({ error: 'unauthorized_client' }, 400)))).toEqual({
      failure: 'configuration',
      code: 'unauthorized_client',
    })
    expect(failure(() => parseTokenResponse(provider, ok({ error: 'server_error' }, 503)))).toEqual({
      failure: 'transient',
      code: 'http_503',
    })
    expect(failure(() => parseTokenResponse(provider, ok('<html>oops</html>', 200, 'text/html')))).toEqual({
      failure: 'transient',
      code: 'malformed_response',
    })
    expect(failure(() => parseTokenResponse(provider, ok({ token_type: 'Bearer' })))).toEqual({
      failure: 'transient',
      code: 'malformed_response',
    })
    expect(failure(() => parseTokenResponse(provider, ok({ access_token: 42, expires_in: {} })))).toEqual({
      failure: 'transient',
      code: 'malformed_response',
    })
    expect(failure(() => parseTokenResponse(provider, ok({ access_token: 'a', expires_in: 'soon' })))).toEqual({
      failure: 'transient',
      code: 'malformed_response',
    })
    expect(failure(() => parseTokenResponse(provider, ok('[]')))).toEqual({
      failure: 'transient',
      code: 'malformed_response',
    })
    expect(failure(() => parseTokenResponse(provider, ok('', 302, '')))).toEqual({
      failure: 'transient',
      code: 'malformed_response',
    })
  })

  it(
    'keeps only the RFC 6749 §5.2 codes (and the ones asking for ' +
      'patience) from a provider error; anything else is http_<status>',
    () => {
      const known = [
        'invalid_request',
        'invalid_client',
        'invalid_grant',
        'unauthorized_client',
        'unsupported_grant_type',
        'invalid_scope',
        'temporarily_unavailable',
        'server_error',
        'slow_down',
      ]
      for (const error of known)
        expect(failure(() => parseTokenResponse(provider, ok({ error }, 400))).code).toBe(error)
      // What a provider may echo: tokens, markup, near-misses, long printable text.
      for (const error of [
        'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig',
        'refresh_token=rt-123',
        '<b>down</b>',
        'invalid_grant ',
        'INVALID_GRANT',
        'invalid_grant: token rt-123 expired',
        'x'.repeat(64),
        42,
        null,
        ['invalid_grant'],
      ]) {
        expect(
          failure(() => parseTokenResponse(provider, ok({ error }, 400))),
          JSON.stringify(error),
        ).toEqual({ failure: 'configuration', code: 'http_400' })
        expect(failure(() => parseTokenResponse(provider, ok({ error }, 401))).code).toBe('http_401')
      }
      fc.assert(
        fc.property(fc.string({ maxLength: 80 }), fc.constantFrom(400, 401, 403, 429), (error, status) => {
          const { code } = failure(() => parseTokenResponse(provider, ok({ error }, status)))
          expect(code).toBe(known.includes(error) ? error : `http_${status}`)
        }),
      )
    },
  )

  it('the class of a failure follows from its code, so a code read back from a row classifies the same', () => {
    const responses = [
      ok({ error: 'invalid_grant' }, 400),
      ok({ error: 'invalid_scope' }, 400),
      ok({ error: 'invalid_client' }, 401),
      ok({ error: 'unsupported_grant_type' }, 400),
      ok({ error: 'temporarily_unavailable' }, 400),
      ok({ error: 'server_error' }, 400),
      ok({ error: 'something else' }, 403),
      ok({ error: 'invalid_grant' }, 500),
      ok('Unauthorized', 401, 'text/plain'),
      ok('<html>oops</html>', 200, 'text/html'),
      ok('', 302, ''),
      ok({}, 302),
      ok({ token_type: 'Bearer' }),
    ]
    const seen = responses.map((res) => failure(() => parseTokenResponse(provider, res)))
    for (const f of seen) expect(failureOf(f.code), f.code).toBe(f.failure)
    expect(new Set(seen.map((f) => f.failure))).toEqual(new Set(['grant', 'configuration', 'transient']))
    for (const code of [
      'timeout',
      'network_error',
      'host_not_found',
      'response_too_large',
      'malformed_response',
      'http_503',
    ])
      expect(failureOf(code)).toBe('transient')
    expect(failureOf('blocked_address')).toBe('configuration')
  })
})
