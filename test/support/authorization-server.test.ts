// Exercises the test authorization server directly with plain fetch, no broker: the
// protocol behaviour the broker's tests rely on, and every injected fault.
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAuthorizationServer, type AuthorizationServer } from './authorization-server.js'

const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback/test'

function pkcePair() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function authorizationUrl(
  as: AuthorizationServer,
  extra: Record<string, string | undefined> = {},
): { url: string; state: string; verifier: string } {
  const { verifier, challenge } = pkcePair()
  const state = randomBytes(16).toString('base64url')
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: as.clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email api:read',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }
  const url = new URL(as.authorizationUrl)
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v)
  return { url: url.href, state, verifier }
}

function basic(as: AuthorizationServer) {
  return `Basic ${Buffer.from(`${as.clientId}:${as.clientSecret}`).toString('base64')}`
}

async function tokenRequest(
  as: AuthorizationServer,
  params: Record<string, string>,
  init: { signal?: AbortSignal } = {},
) {
  return fetch(as.tokenUrl, {
    method: 'POST',
    headers: { authorization: basic(as), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
    redirect: 'manual',
    signal: init.signal ?? AbortSignal.timeout(5000),
  })
}

interface TokenResponse {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  scope?: string
}

/** The whole dance: authorize as `user`, exchange the code, return the tokens. */
async function obtainTokens(as: AuthorizationServer, user = 'alice'): Promise<TokenResponse> {
  const { url, verifier } = authorizationUrl(as)
  const back = await as.authorize(url, { user })
  const code = back.searchParams.get('code')
  expect(code, back.href).toBeTruthy()
  const res = await tokenRequest(as, {
    grant_type: 'authorization_code',
    code: code!,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  })
  expect(res.status).toBe(200)
  return (await res.json()) as TokenResponse
}

async function revoke(as: AuthorizationServer, token: string, hint?: string, signal = AbortSignal.timeout(5000)) {
  const body = new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) })
  return fetch(as.revocationUrl, {
    method: 'POST',
    headers: { authorization: basic(as), 'content-type': 'application/x-www-form-urlencoded' },
    body,
    signal,
  })
}

describe('test authorization server', () => {
  let as: AuthorizationServer

  beforeAll(async () => {
    as = await startAuthorizationServer({ redirectUris: [REDIRECT_URI] })
  })
  afterAll(async () => {
    await as?.close()
  })

  it('listens on 127.0.0.1 and advertises S256-only PKCE and RFC 9207 iss', async () => {
    expect(as.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${as.issuer}/.well-known/openid-configuration`)
    expect(res.status).toBe(200)
    const metadata = (await res.json()) as Record<string, unknown>
    expect(metadata).toMatchObject({
      issuer: as.issuer,
      authorization_endpoint: as.authorizationUrl,
      token_endpoint: as.tokenUrl,
      revocation_endpoint: as.revocationUrl,
      introspection_endpoint: as.introspectionUrl,
      userinfo_endpoint: as.userinfoUrl,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    })
    expect(metadata.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'offline_access', 'profile', 'email', 'api:read']),
    )
  })

  it('serves a login page and a consent page with the ids a browser test clicks', async () => {
    const { url } = authorizationUrl(as)
    const res = await fetch(url, { redirect: 'manual' })
    expect(res.status).toBe(303)
    const interaction = new URL(res.headers.get('location')!, as.issuer)
    expect(interaction.pathname).toMatch(/^\/interaction\/[^/]+$/)
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    const login = await fetch(interaction, { headers: { cookie } })
    expect(login.status).toBe(200)
    const html = await login.text()
    expect(html).toContain('name="login" id="login"')
    expect(html).toContain('id="sign-in"')
  })

  it('runs the code flow: code, state and iss come back; tokens work at userinfo and introspection', async () => {
    const { url, state, verifier } = authorizationUrl(as)
    const back = await as.authorize(url)
    expect(back.origin + back.pathname).toBe(REDIRECT_URI)
    expect(back.searchParams.get('state')).toBe(state)
    expect(back.searchParams.get('iss')).toBe(as.issuer)
    const code = back.searchParams.get('code')
    expect(code).toBeTruthy()

    const before = as.tokenRequests.length
    const res = await tokenRequest(as, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    })
    expect(res.status).toBe(200)
    const tokens = (await res.json()) as TokenResponse
    expect(tokens.access_token).toEqual(expect.any(String))
    expect(tokens.refresh_token).toEqual(expect.any(String))
    expect(tokens.token_type).toBe('Bearer')
    expect(tokens.expires_in).toBe(3600)
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'api:read']))

    expect(as.tokenRequests).toHaveLength(before + 1)
    const record = as.tokenRequests.at(-1)!
    expect(record.grantType).toBe('authorization_code')
    expect(record.params).toMatchObject({ code, code_verifier: verifier, redirect_uri: REDIRECT_URI })
    expect(record.authorization).toBe(basic(as))
    expect(record.contentType).toBe('application/x-www-form-urlencoded')
    expect(Math.abs(record.at - Date.now())).toBeLessThan(5000)

    const userinfo = await as.userinfo(tokens.access_token)
    expect(userinfo).toEqual({
      status: 200,
      body: expect.objectContaining({ sub: 'alice', email: 'alice@example.test' }),
    })
    expect((await as.userinfo('not-a-token')).status).toBe(401)
    expect(await as.introspect(tokens.access_token)).toMatchObject({
      active: true,
      sub: 'alice',
      client_id: as.clientId,
    })

    // The code is single-use.
    const again = await tokenRequest(as, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    })
    expect(again.status).toBe(400)
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('grants offline_access when asked with prompt=consent', async () => {
    const { url, verifier } = authorizationUrl(as, { scope: 'openid offline_access', prompt: 'consent' })
    const code = (await as.authorize(url)).searchParams.get('code')!
    const res = await tokenRequest(as, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    })
    expect(res.status).toBe(200)
    const tokens = (await res.json()) as TokenResponse
    expect(tokens.scope?.split(' ').sort()).toEqual(['offline_access', 'openid'])
    expect(tokens.refresh_token).toEqual(expect.any(String))
  })

  it('logs in as the requested user', async () => {
    const tokens = await obtainTokens(as, 'bob')
    expect((await as.userinfo(tokens.access_token)).body).toMatchObject({ sub: 'bob' })
  })

  it('rotates refresh tokens; a used one is invalid_grant (and, per oidc-provider, ends the grant)', async () => {
    const first = await obtainTokens(as)
    const count = as.refreshCount()
    const res = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: first.refresh_token })
    expect(res.status).toBe(200)
    const second = (await res.json()) as TokenResponse
    expect(second.refresh_token).toEqual(expect.any(String))
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.access_token).not.toBe(first.access_token)
    expect(as.refreshCount()).toBe(count + 1)
    expect((await as.userinfo(second.access_token)).status).toBe(200)

    const reused = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: first.refresh_token })
    expect(reused.status).toBe(400)
    expect(await reused.json()).toMatchObject({ error: 'invalid_grant' })
    expect(as.refreshCount()).toBe(count + 2)
    // Reuse detection revokes the whole grant, the rotated token included.
    expect((await as.introspect(second.refresh_token)).active).toBe(false)
    expect((await as.introspect(second.access_token)).active).toBe(false)
  })

  it('requires PKCE S256 at the authorization endpoint and the verifier at the token endpoint', async () => {
    const missing = authorizationUrl(as, { code_challenge: undefined, code_challenge_method: undefined })
    const refused = await as.authorize(missing.url)
    expect(refused.searchParams.get('error')).toBe('invalid_request')
    expect(refused.searchParams.get('code')).toBeNull()
    expect(refused.searchParams.get('state')).toBe(missing.state)

    const plain = authorizationUrl(as, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })
    expect((await as.authorize(plain.url)).searchParams.get('error')).toBe('invalid_request')

    // A valid flow whose exchange leaves out the verifier, then sends a wrong one.
    const { url } = authorizationUrl(as)
    const code = (await as.authorize(url)).searchParams.get('code')!
    const noVerifier = await tokenRequest(as, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI })
    expect(noVerifier.status).toBe(400)
    expect(await noVerifier.json()).toMatchObject({ error: 'invalid_grant' })

    const { url: url2 } = authorizationUrl(as)
    const code2 = (await as.authorize(url2)).searchParams.get('code')!
    const wrong = await tokenRequest(as, {
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: REDIRECT_URI,
      code_verifier: pkcePair().verifier,
    })
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('revoking the refresh token ends the grant: its access token introspects inactive', async () => {
    const tokens = await obtainTokens(as)
    expect((await as.introspect(tokens.access_token)).active).toBe(true)
    const res = await revoke(as, tokens.refresh_token, 'refresh_token')
    expect(res.status).toBe(200)
    expect(await as.introspect(tokens.access_token)).toEqual({ active: false })
    expect((await as.introspect(tokens.refresh_token)).active).toBe(false)
    expect((await as.userinfo(tokens.access_token)).status).toBe(401)
    const refresh = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('records every request it receives, except its own introspect and userinfo calls', async () => {
    const tokens = await obtainTokens(as)
    const from = as.requests.length
    await as.introspect(tokens.access_token)
    await as.userinfo(tokens.access_token)
    expect(as.requests).toHaveLength(from)
    expect((await revoke(as, tokens.refresh_token, 'refresh_token')).status).toBe(200)
    expect(as.requests.slice(from)).toEqual([
      {
        method: 'POST',
        path: '/token/revocation',
        params: { token: tokens.refresh_token, token_type_hint: 'refresh_token' },
        authorization: basic(as),
        contentType: 'application/x-www-form-urlencoded',
        at: expect.any(Number),
      },
    ])
    const { url, state } = authorizationUrl(as)
    await as.authorize(url)
    expect(as.requests.find((r) => r.path === '/auth' && r.params.state === state)).toMatchObject({
      method: 'GET',
      params: { client_id: as.clientId, code_challenge_method: 'S256' },
    })
  })

  it('revoking the access token revokes the whole grant too (oidc-provider behaviour)', async () => {
    const tokens = await obtainTokens(as)
    expect((await revoke(as, tokens.access_token, 'access_token')).status).toBe(200)
    expect((await as.introspect(tokens.access_token)).active).toBe(false)
    expect((await as.introspect(tokens.refresh_token)).active).toBe(false)
    const refresh = await tokenRequest(as, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' })
  })

  it('holds the client to its registered authentication method at revocation and introspection', async () => {
    const tokens = await obtainTokens(as)
    for (const url of [as.revocationUrl, as.introspectionUrl]) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: tokens.access_token,
          client_id: as.clientId,
          client_secret: as.clientSecret,
        }),
      })
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ error: 'invalid_client' })
    }
    expect((await as.introspect(tokens.access_token)).active).toBe(true)
  })

  it('deny ends with error=access_denied at the redirect URI', async () => {
    const { url, state } = authorizationUrl(as)
    const back = await as.authorize(url, { deny: true })
    expect(back.origin + back.pathname).toBe(REDIRECT_URI)
    expect(back.searchParams.get('error')).toBe('access_denied')
    expect(back.searchParams.get('state')).toBe(state)
    expect(back.searchParams.get('iss')).toBe(as.issuer)
    expect(back.searchParams.get('code')).toBeNull()
  })

  it('refuses an unregistered redirect URI without redirecting', async () => {
    const { url } = authorizationUrl(as, { redirect_uri: 'http://127.0.0.1:9/evil' })
    await expect(as.authorize(url)).rejects.toThrow(/400.*redirect_uri/)
  })

  describe('faults', () => {
    let tokens: TokenResponse
    beforeAll(async () => {
      tokens = await obtainTokens(as)
    })

    // Each fault answers instead of the provider, so the refresh token stays unused
    // and every test can send the same one.
    const refresh = (signal?: AbortSignal) =>
      tokenRequest(as, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { signal })

    async function faulted(kind: Parameters<AuthorizationServer['fault']>[0]) {
      const recorded = as.tokenRequests.length
      const count = as.refreshCount()
      as.fault(kind)
      const res = await refresh()
      expect(as.tokenRequests).toHaveLength(recorded + 1)
      expect(as.tokenRequests.at(-1)!.params.refresh_token).toBe(tokens.refresh_token)
      expect(as.refreshCount()).toBe(count + 1)
      return res
    }

    it('status503', async () => {
      const res = await faulted('status503')
      expect(res.status).toBe(503)
      expect(res.headers.get('content-type')).toMatch(/json/)
      expect(await res.json()).toHaveProperty('error')
    })

    it('status500', async () => {
      const res = await faulted('status500')
      expect(res.status).toBe(500)
      expect(await res.text()).toBe('Internal Server Error')
    })

    it('html', async () => {
      const res = await faulted('html')
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await res.text()).toMatch(/^<html>.*<\/html>$/)
    })

    it('invalid_grant', async () => {
      const res = await faulted('invalid_grant')
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({ error: 'invalid_grant' })
    })

    it('no_access_token', async () => {
      const res = await faulted('no_access_token')
      expect(res.status).toBe(200)
      const body = (await res.json()) as Record<string, unknown>
      expect(body).not.toHaveProperty('access_token')
      expect(body.token_type).toBe('Bearer')
    })

    it('wrong_types', async () => {
      const res = await faulted('wrong_types')
      expect(res.status).toBe(200)
      const body = (await res.json()) as Record<string, unknown>
      expect(typeof body.access_token).toBe('number')
      expect(typeof body.expires_in).toBe('object')
      expect(body.expires_in).not.toBeNull()
    })

    it('huge', async () => {
      const res = await faulted('huge')
      expect(res.status).toBe(200)
      expect(Number(res.headers.get('content-length'))).toBeGreaterThanOrEqual(10 * 1024 * 1024)
      const body = await res.text()
      expect(body.length).toBeGreaterThanOrEqual(10 * 1024 * 1024)
      expect(JSON.parse(body)).toMatchObject({ access_token: 'huge-at' })
    })

    it('redirect: to another host name, where a live server answers a token to whoever follows', async () => {
      const res = await faulted('redirect')
      expect(res.status).toBe(302)
      const location = new URL(res.headers.get('location')!)
      expect(location.href).toBe(as.redirectTarget.url)
      expect(location.hostname).toBe('localhost')
      expect(location.hostname).not.toBe(new URL(as.issuer).hostname)
      // Following it (as a client must not) reaches the target and gets "tokens".
      const before = as.redirectTarget.requests.length
      as.fault('redirect')
      const followedByFetch = await fetch(as.tokenUrl, {
        method: 'POST',
        headers: { authorization: basic(as), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
        signal: AbortSignal.timeout(5000),
      })
      expect(followedByFetch.status).toBe(200)
      expect(await followedByFetch.json()).toMatchObject({
        access_token: 'redirected-at',
        refresh_token: 'redirected-rt',
      })
      expect(as.redirectTarget.requests.length - before).toBe(1)
    })

    it('hang', async () => {
      const recorded = as.tokenRequests.length
      as.fault('hang')
      const started = Date.now()
      await expect(refresh(AbortSignal.timeout(300))).rejects.toThrow(/abort|timeout/i)
      expect(Date.now() - started).toBeLessThan(2000)
      expect(as.tokenRequests).toHaveLength(recorded + 1)
    })

    it('revocation faults: 503, and hang', async () => {
      const revocations = () => as.requests.filter((r) => r.path === '/token/revocation').length
      const before = revocations()
      as.revocationFault('status503')
      const res = await revoke(as, 'not-a-token', 'refresh_token')
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ error: 'temporarily_unavailable' })
      as.revocationFault('hang')
      await expect(revoke(as, 'not-a-token', 'refresh_token', AbortSignal.timeout(300))).rejects.toThrow(
        /abort|timeout/i,
      )
      expect(revocations() - before).toBe(2)
      // Token-endpoint faults do not touch revocation, and vice versa.
      expect((await revoke(as, 'not-a-token')).status).toBe(200)
      expect(await as.introspect(tokens.refresh_token)).toMatchObject({ active: true })
    })

    it('applies a fault `times` times, then answers for real; clearFaults drops pending ones', async () => {
      as.fault('status503', 2)
      expect((await refresh()).status).toBe(503)
      expect((await refresh()).status).toBe(503)
      as.fault('invalid_grant', 3)
      as.clearFaults()
      // The faulted requests never reached the provider: the refresh token is still fresh.
      const res = await refresh()
      expect(res.status).toBe(200)
      expect(((await res.json()) as TokenResponse).refresh_token).not.toBe(tokens.refresh_token)
    })
  })
})

describe('test authorization server options', () => {
  it(
    'rotateRefreshTokens: false keeps the refresh token ' + 'valid; no_refresh_token strips it from a real answer',
    async () => {
      const as = await startAuthorizationServer({ redirectUris: [REDIRECT_URI], rotateRefreshTokens: false })
      try {
        const tokens = await obtainTokens(as)
        const refresh = () => tokenRequest(as, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
        const recorded = as.tokenRequests.length
        as.fault('no_refresh_token')
        const stripped = await refresh()
        expect(stripped.status).toBe(200)
        const body = (await stripped.json()) as Record<string, unknown>
        expect(body).not.toHaveProperty('refresh_token')
        expect(body.access_token).not.toBe(tokens.access_token)
        // A real access token, issued by the real endpoint; the inner call is not recorded twice.
        expect((await as.userinfo(body.access_token as string)).status).toBe(200)
        expect(as.tokenRequests).toHaveLength(recorded + 1)
        // Not rotated: the same refresh token still works, and the real answer carries it.
        const again = await refresh()
        expect(again.status).toBe(200)
        expect(((await again.json()) as TokenResponse).refresh_token).toBe(tokens.refresh_token)
      } finally {
        await as.close()
      }
    },
  )

  it('client_secret_post and short token lifetimes', async () => {
    const as = await startAuthorizationServer({
      redirectUris: [REDIRECT_URI],
      tokenEndpointAuthMethod: 'client_secret_post',
      accessTokenTtlSeconds: 5,
      refreshTokenTtlSeconds: 60,
    })
    try {
      const { url, verifier } = authorizationUrl(as)
      const code = (await as.authorize(url)).searchParams.get('code')!
      const exchange = {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }
      // Basic is not the registered method: invalid_client, and the code stays unused.
      const viaBasic = await tokenRequest(as, exchange)
      expect(viaBasic.status).toBe(401)
      expect(await viaBasic.json()).toMatchObject({ error: 'invalid_client' })

      const res = await fetch(as.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...exchange, client_id: as.clientId, client_secret: as.clientSecret }),
      })
      expect(res.status).toBe(200)
      const tokens = (await res.json()) as TokenResponse
      expect(tokens.expires_in).toBe(5)
      expect(as.tokenRequests.at(-1)).toMatchObject({
        authorization: undefined,
        params: { client_id: as.clientId, client_secret: as.clientSecret },
      })
      const refreshIntrospection = await as.introspect(tokens.refresh_token)
      expect(refreshIntrospection.active).toBe(true)
      expect(Number(refreshIntrospection.exp) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60)
    } finally {
      await as.close()
    }
  })

  it('refuses a redirect URI oidc-provider does not accept, without leaking the server', async () => {
    await expect(startAuthorizationServer({ redirectUris: ['not a url'] })).rejects.toThrow(/redirect_uri/)
  })

  it('close() ends hanging requests and stops at once', async () => {
    const as = await startAuthorizationServer({ redirectUris: [REDIRECT_URI] })
    as.fault('hang')
    const pending = tokenRequest(
      as,
      { grant_type: 'refresh_token', refresh_token: 'x' },
      { signal: AbortSignal.timeout(5000) },
    )
    while (as.tokenRequests.length === 0) await new Promise((r) => setTimeout(r, 5))
    const started = Date.now()
    await as.close()
    expect(Date.now() - started).toBeLessThan(1000)
    await expect(pending).rejects.toThrow(/fetch failed|socket|other side closed/i)
    await expect(fetch(as.issuer, { signal: AbortSignal.timeout(1000) })).rejects.toThrow()
  })
})
