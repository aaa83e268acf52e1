// The authorization-code dance end to end, against a real OAuth 2.0 authorization server
// (oidc-provider on 127.0.0.1: PKCE required, rotating refresh tokens, revocation, RFC
// 9207 iss): connect session → provider login and consent → callback → connection →
// access token accepted by the provider. And every way a callback must be refused,
// without side effects: no token request reaches the provider, no connection row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import type { Json } from '../support/json.js'

let as: AuthorizationServer
let broker: TestBroker
let api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Json; headers: Headers }>

const RETURN = 'https://app.example.com/connected'

beforeAll(async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  as = await startAuthorizationServer({
    redirectUris: [`${publicUrl}/oauth/callback/idp`, `${publicUrl}/oauth/callback/other`],
  })
  const idp = providerEntryFor(as, { pkce: true, tokenEndpointAuthMethod: 'client_secret_basic' })
  broker = await startBroker({
    port,
    providers: { idp, other: { ...idp, displayName: 'Other' } },
    env: { FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
  })
  const token = await broker.token()
  api = async (method, path, body) => {
    const res = await fetch(`${broker.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
})
afterAll(async () => {
  await broker?.close()
  await as?.close()
})

async function session(extra: Record<string, unknown> = {}) {
  const res = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'user-1',
    returnUrl: RETURN,
    ...extra,
  })
  expect(res.status).toBe(201)
  return res.body as { id: string; connectUrl: string; expiresAt: string }
}

/** Opens the connect URL in `browser` and plays the user at the provider; returns the callback URL. */
async function throughProvider(browser: Browser, connectUrl: string, options?: { deny?: boolean }) {
  const start = await browser.get(connectUrl)
  expect(start.status).toBe(302)
  return as.authorize(start.headers.get('location')!, options)
}

async function connectionCount() {
  return broker.db.prisma.connection.count()
}

describe('connect flow', () => {
  it('connects a user and vends a token the provider accepts', async () => {
    const { connectUrl, expiresAt } = await session()
    expect(connectUrl).toMatch(new RegExp(`^${broker.url}/connect/[A-Za-z0-9_-]{43}$`))
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now())

    const browser = new Browser()
    const start = await browser.get(connectUrl)
    expect(start.status).toBe(302)
    expect(start.headers.get('cache-control')).toBe('no-store')
    expect(start.headers.get('referrer-policy')).toBe('no-referrer')
    const authorize = new URL(start.headers.get('location')!)
    expect(`${authorize.origin}${authorize.pathname}`).toBe(as.authorizationUrl)
    const q = authorize.searchParams
    expect(q.get('code_challenge_method')).toBe('S256')
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(q.get('state')!.length).toBeGreaterThanOrEqual(22) // >= 128 bits in base64url
    expect(q.get('redirect_uri')).toBe(`${broker.url}/oauth/callback/idp`)
    expect(q.get('scope')).toBe('openid offline_access api:read')
    expect(q.get('prompt')).toBe('consent')
    const [binding] = [...browser.cookies.values()]
    expect(binding).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/oauth/callback' })

    const callback = await as.authorize(authorize.href)
    expect(callback.searchParams.get('iss')).toBe(as.issuer)
    const done = await browser.get(callback)
    expect(done.status).toBe(302)
    const back = new URL(done.headers.get('location')!)
    expect(`${back.origin}${back.pathname}`).toBe(RETURN)
    expect(back.searchParams.get('status')).toBe('connected')
    const connectionId = back.searchParams.get('connection_id')!
    expect(connectionId).toMatch(/^conn_/)

    const exchange = as.tokenRequests.at(-1)!
    expect(exchange.grantType).toBe('authorization_code')
    expect(exchange.params.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(exchange.params.redirect_uri).toBe(`${broker.url}/oauth/callback/idp`)
    expect(exchange.authorization).toMatch(/^Basic /)

    const meta = await api('GET', `/v1/connections/${connectionId}`)
    expect(meta.status).toBe(200)
    expect(meta.body).toMatchObject({ id: connectionId, provider: 'idp', ownerId: 'user-1', status: 'active' })
    expect(meta.body.scopes).toEqual(expect.arrayContaining(['openid', 'api:read']))
    expect(JSON.stringify(meta.body)).not.toMatch(/accessToken|refreshToken|access_token|refresh_token/)

    const vended = await api('POST', `/v1/connections/${connectionId}/access-token`, {})
    expect(vended.status).toBe(200)
    expect(vended.headers.get('cache-control')).toBe('no-store')
    expect(vended.body).toMatchObject({ tokenType: 'Bearer', provider: 'idp', connectionId })
    expect((await as.userinfo(vended.body.accessToken)).status).toBe(200)
    // The access token only: never the refresh token (docs/security.md, checklist item 10).
    expect(Object.keys(vended.body).sort()).toEqual([
      'accessToken',
      'connectionId',
      'expiresAt',
      'headers',
      'provider',
      'scopes',
      'tokenType',
    ])

    const row = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
    const refreshToken = broker.app.services.connections.open(row, 'refresh_token')!
    expect(refreshToken.length).toBeGreaterThan(10)
    expect(JSON.stringify(vended.body)).not.toContain(refreshToken)
    expect(JSON.stringify(meta.body)).not.toContain(refreshToken)
    expect(row.accessToken).not.toContain(vended.body.accessToken)
    expect(row.accessToken).toMatch(/^v1\./)
    expect(row.refreshToken).toMatch(/^v1\./)

    const listed = await api('GET', '/v1/connections?ownerId=user-1&provider=idp')
    expect(listed.body.items.map((c: { id: string }) => c.id)).toContain(connectionId)
    const events = await api('GET', `/v1/audit-events?connectionId=${connectionId}`)
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['connection.created', 'connection.token_vended']),
    )
  })

  it('shows an HTML success page when the session has no returnUrl', async () => {
    const { connectUrl } = await session({ returnUrl: undefined })
    const browser = new Browser()
    const done = await browser.get(await throughProvider(browser, connectUrl))
    expect(done.status).toBe(200)
    expect(done.headers.get('content-type')).toContain('text/html')
    expect(done.headers.get('cache-control')).toBe('no-store')
    expect(done.headers.get('referrer-policy')).toBe('no-referrer')
    expect(await done.text()).toContain('Test IdP account is connected')
  })

  it(
    'browser pages load nothing from elsewhere and cannot be framed; ' +
      'the success redirect carries only the connection id and status',
    async () => {
      const pages: Array<[string, Response]> = []
      const browser = new Browser()
      pages.push([
        'success page',
        await browser.get(
          await throughProvider(browser, (await session({ returnUrl: undefined, ownerId: 'user-pages' })).connectUrl),
        ),
      ])
      pages.push(['error page', await new Browser().get(`${broker.url}/connect/${'t'.repeat(43)}`)])
      pages.push([
        'callback error page',
        await new Browser().get(`${broker.url}/oauth/callback/idp?state=unknown&code=x`),
      ])
      for (const [label, res] of pages) {
        expect(res.headers.get('content-type'), label).toContain('text/html')
        const csp = Object.fromEntries(
          (res.headers.get('content-security-policy') ?? '')
            .split(';')
            .map((d) => d.trim().split(/\s+/))
            .map(([k, ...v]) => [k, v.join(' ')]),
        )
        expect(csp, label).toMatchObject({ 'default-src': "'none'", 'frame-ancestors': "'none'", 'base-uri': "'none'" })
        expect(res.headers.get('x-frame-options'), label).toBe('DENY')
        expect(res.headers.get('referrer-policy'), label).toBe('no-referrer')
        expect(res.headers.get('cache-control'), label).toBe('no-store')
        // No third-party content: no element that loads from a URL.
        expect(await res.text(), label).not.toMatch(/<(script|img|link|iframe)\b|src=|href=/i)
      }
      const back = new Browser()
      const done = await back.get(await throughProvider(back, (await session({ ownerId: 'user-redirect' })).connectUrl))
      const location = new URL(done.headers.get('location')!)
      expect(`${location.origin}${location.pathname}`).toBe(RETURN)
      expect([...location.searchParams.keys()].sort()).toEqual(['connection_id', 'status'])
    },
  )

  it('two callbacks with the same state at once: one connects, the other is refused, one code exchange', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session({ ownerId: 'user-race' })).connectUrl)
    const exchanges = as.tokenRequests.length
    const connections = await connectionCount()
    const outcomes = await Promise.all([browser.get(callback), browser.get(callback), browser.get(callback)])
    // The winner goes back to the service; a used state names no attempt to return to: a page.
    const won = outcomes.filter((res) => res.status === 302)
    expect(won).toHaveLength(1)
    expect(new URL(won[0]!.headers.get('location')!).searchParams.get('status')).toBe('connected')
    const lost = outcomes.filter((res) => res.status !== 302)
    expect(lost.map((res) => res.status)).toEqual([400, 400])
    for (const res of lost) expect(await res.text()).toContain('<code>invalid_state</code>')
    expect(as.tokenRequests.length - exchanges).toBe(1)
    expect(await connectionCount()).toBe(connections + 1)
  })

  it(
    'without a returnUrl, failures end on a page with their status: 503 or ' +
      '502 for a failed code exchange, 409 for a connection deleted meanwhile',
    async () => {
      // The provider fails the code exchange: nothing stored, the page names the cause with
      // the status of its problem code (an outage 503, a refused broker client 502).
      for (const [fault, status, code] of [
        ['status503', 503, 'provider_unavailable'],
        ['invalid_client', 502, 'provider_rejected'],
      ] as const) {
        const failing = new Browser()
        const callback = await throughProvider(
          failing,
          (await session({ returnUrl: undefined, ownerId: `user-exchange-${fault}` })).connectUrl,
        )
        const connections = await connectionCount()
        as.fault(fault)
        const failed = await failing.get(callback)
        as.clearFaults()
        expect(failed.status, fault).toBe(status)
        expect(failed.headers.get('content-type')).toContain('text/html')
        expect(await failed.text()).toContain(code)
        expect(await connectionCount()).toBe(connections)
      }

      // Re-authorizing a connection that is deleted while the user is at the provider.
      const browser = new Browser()
      const first = await browser.get(
        await throughProvider(browser, (await session({ ownerId: 'user-gone' })).connectUrl),
      )
      const id = new URL(first.headers.get('location')!).searchParams.get('connection_id')!
      const reauthorize = await throughProvider(
        browser,
        (await session({ returnUrl: undefined, ownerId: 'user-gone', connectionId: id })).connectUrl,
      )
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      const gone = await browser.get(reauthorize)
      expect(gone.status).toBe(409)
      expect(await gone.text()).toContain('connection_unavailable')
      expect((await api('GET', `/v1/connections/${id}`)).status).toBe(404)
    },
  )

  it('re-authorizes an existing connection in place', async () => {
    const browser = new Browser()
    const first = await browser.get(await throughProvider(browser, (await session({ ownerId: 'user-re' })).connectUrl))
    const id = new URL(first.headers.get('location')!).searchParams.get('connection_id')!
    const again = await browser.get(
      await throughProvider(browser, (await session({ ownerId: 'user-re', connectionId: id })).connectUrl),
    )
    expect(new URL(again.headers.get('location')!).searchParams.get('connection_id')).toBe(id)
    const events = await api('GET', `/v1/audit-events?connectionId=${id}`)
    expect(events.body.items.map((e: { type: string }) => e.type)).toContain('connection.reauthorized')
    const other = await api('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'someone-else',
      connectionId: id,
    })
    expect([other.status, other.body.code]).toEqual([400, 'invalid_connection'])
  })

  it(
    're-authorizes a connection that needs its user; a new ' +
      'grant without a refresh token does not keep the old one',
    async () => {
      const browser = new Browser()
      const first = await browser.get(
        await throughProvider(browser, (await session({ ownerId: 'user-re-nort' })).connectUrl),
      )
      const id = new URL(first.headers.get('location')!).searchParams.get('connection_id')!
      const oldRow = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id } })
      const oldRefreshToken = broker.app.services.connections.open(oldRow, 'refresh_token')!
      // The provider refuses the grant: the connection needs its user.
      as.fault('invalid_grant')
      const refused = await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
      expect([refused.status, refused.body.code]).toEqual([409, 'reauthorization_required'])
      expect((await api('GET', `/v1/connections/${id}`)).body.status).toBe('reauthorization_required')

      // The user re-authorizes; this time the code exchange answers no refresh token.
      const callback = await throughProvider(
        browser,
        (await session({ ownerId: 'user-re-nort', connectionId: id })).connectUrl,
      )
      const since = as.tokenRequests.length
      as.fault('no_refresh_token')
      const again = await browser.get(callback)
      const back = new URL(again.headers.get('location')!)
      expect([back.searchParams.get('status'), back.searchParams.get('connection_id')]).toEqual(['connected', id])
      expect(as.tokenRequests.slice(since).map((r) => r.grantType)).toEqual(['authorization_code'])

      const row = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id } })
      expect([row.status, row.refreshToken, row.refreshTokenExpiresAt, row.lastErrorCode, row.refreshFailures]).toEqual(
        ['active', null, null, null, 0],
      )
      expect(row.accessToken).not.toBe(oldRow.accessToken)
      const vended = await api('POST', `/v1/connections/${id}/access-token`, {})
      expect(vended.status).toBe(200)
      expect((await as.userinfo(vended.body.accessToken)).status).toBe(200)
      // Even a forced refresh never sends the old grant's refresh token: there is none to send.
      const forced = await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
      expect([forced.status, forced.body.accessToken]).toEqual([200, vended.body.accessToken])
      expect(as.tokenRequests.slice(since).filter((r) => r.params.refresh_token === oldRefreshToken)).toEqual([])
    },
  )
})

describe('refused callbacks have no side effects', () => {
  /** Runs `attack`, then checks that no token request reached the provider and no connection was stored. */
  async function refusedWithoutSideEffects(
    attack: () => Promise<Response>,
    expected: { status?: number; error?: string },
  ) {
    const tokenRequests = as.tokenRequests.length
    const connections = await connectionCount()
    const res = await attack()
    if (expected.error !== undefined) {
      const location = res.headers.get('location')
      if (location) {
        const back = new URL(location)
        expect(back.searchParams.get('status')).toBe('error')
        expect(back.searchParams.get('error')).toBe(expected.error)
      } else {
        expect(await res.text()).toContain(expected.error)
      }
    }
    if (expected.status !== undefined) expect(res.status).toBe(expected.status)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(as.tokenRequests.length).toBe(tokenRequests)
    expect(await connectionCount()).toBe(connections)
  }

  it('missing state', async () => {
    await refusedWithoutSideEffects(() => new Browser().get(`${broker.url}/oauth/callback/idp?code=abc`), {
      status: 400,
      error: 'invalid_state',
    })
  })

  it('forged state', async () => {
    await refusedWithoutSideEffects(
      () => new Browser().get(`${broker.url}/oauth/callback/idp?code=abc&state=forged-state-value-0123456789`),
      { status: 400, error: 'invalid_state' },
    )
  })

  it('replayed state (the attempt is single use)', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session()).connectUrl)
    expect((await browser.get(callback)).status).toBe(302)
    // The browser's cookie was cleared; replay with it restored too.
    const replay = new Browser()
    replay.cookies = new Map(browser.cookies)
    for (const c of replay.cookies.values()) c.expired = false
    await refusedWithoutSideEffects(() => replay.get(callback), { status: 400, error: 'invalid_state' })
  })

  it('expired state', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session()).connectUrl)
    broker.clock.advance(broker.config.connectSessionTtlSeconds + 1)
    try {
      await refusedWithoutSideEffects(() => browser.get(callback), { status: 302, error: 'session_expired' })
    } finally {
      broker.clock.advance(-(broker.config.connectSessionTtlSeconds + 1))
    }
  })

  it("valid state from another browser: no cookie, or another attempt's cookie", async () => {
    const victim = new Browser()
    const callback = await throughProvider(victim, (await session()).connectUrl)
    await refusedWithoutSideEffects(() => new Browser().get(callback), { status: 302, error: 'browser_mismatch' })

    const attacker = new Browser()
    await throughProvider(attacker, (await session()).connectUrl)
    const victim2 = new Browser()
    const callback2 = await throughProvider(victim2, (await session()).connectUrl)
    // The attacker renames their own binding cookie to the victim's cookie name.
    const [victimName] = [...victim2.cookies.keys()]
    const [, attackerCookie] = [...attacker.cookies][0]!
    attacker.cookies.set(victimName!, attackerCookie)
    await refusedWithoutSideEffects(() => attacker.get(callback2), { status: 302, error: 'browser_mismatch' })
  })

  it('wrong provider in the callback path', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session()).connectUrl)
    const wrong = new URL(callback.href.replace('/oauth/callback/idp', '/oauth/callback/other'))
    // The binding cookie is scoped to /oauth/callback, so the browser sends it on the wrong path too.
    await refusedWithoutSideEffects(() => browser.get(wrong), { status: 302, error: 'provider_mismatch' })
  })

  it('a wrong iss or provider path consumes the attempt: the genuine callback afterwards is refused too', async () => {
    for (const [mutate, error] of [
      [(u: URL) => u.searchParams.set('iss', 'https://evil.example'), 'issuer_mismatch'],
      [
        (u: URL) => (u.pathname = u.pathname.replace('/oauth/callback/idp', '/oauth/callback/other')),
        'provider_mismatch',
      ],
    ] as const) {
      const browser = new Browser()
      const genuine = await throughProvider(browser, (await session()).connectUrl)
      const cookies = new Map([...browser.cookies].map(([k, v]) => [k, { ...v }]))
      const forged = new URL(genuine.href)
      mutate(forged)
      await refusedWithoutSideEffects(() => browser.get(forged), { status: 302, error })
      // Same state, same browser (its binding cookie restored), the provider's own answer: refused.
      browser.cookies = cookies
      await refusedWithoutSideEffects(() => browser.get(genuine), { status: 400, error: 'invalid_state' })
    }
  })

  it('a provider path that is not configured: refused like a wrong one (no 404)', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session()).connectUrl)
    const unknown = new URL(callback.href.replace('/oauth/callback/idp', '/oauth/callback/not-configured'))
    await refusedWithoutSideEffects(() => browser.get(unknown), { status: 302, error: 'provider_mismatch' })
  })

  it('wrong or missing iss (RFC 9207)', async () => {
    for (const mutate of [
      (u: URL) => u.searchParams.set('iss', 'https://evil.example'),
      (u: URL) => u.searchParams.delete('iss'),
    ]) {
      const browser = new Browser()
      const callback = await throughProvider(browser, (await session()).connectUrl)
      mutate(callback)
      await refusedWithoutSideEffects(() => browser.get(callback), { status: 302, error: 'issuer_mismatch' })
    }
  })

  it('error=access_denied, with HTML and CRLF in error_description, reflects nothing', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session({ returnUrl: undefined })).connectUrl, {
      deny: true,
    })
    expect(callback.searchParams.get('error')).toBe('access_denied')
    callback.searchParams.set('error_description', '<script>alert(1)</script>\r\nSet-Cookie: x=y')
    const res = await browser.get(callback)
    const tokenRequests = as.tokenRequests.length
    expect(res.status).toBe(400)
    const page = await res.text()
    expect(page).toContain('access_denied')
    expect(page).not.toContain('<script>')
    expect(page).not.toContain('alert(1)')
    expect(res.headers.get('set-cookie') ?? '').not.toContain('x=y')
    expect(as.tokenRequests.length).toBe(tokenRequests)
    // With a returnUrl: a redirect carrying only the fixed code.
    const b2 = new Browser()
    const cb2 = await throughProvider(b2, (await session()).connectUrl, { deny: true })
    await refusedWithoutSideEffects(() => b2.get(cb2), { status: 302, error: 'access_denied' })
  })

  it('duplicate state parameters', async () => {
    const browser = new Browser()
    const callback = await throughProvider(browser, (await session()).connectUrl)
    callback.searchParams.append('state', 'second-state')
    await refusedWithoutSideEffects(() => browser.get(callback), { status: 400, error: 'invalid_request' })
  })

  it('return URLs not allowed for the service client are refused at session creation', async () => {
    for (const returnUrl of [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      'https://app.example.com.evil.example/connected',
      'https://app.example.com/connectedx',
      'https://app.example.com/connected\r\nX: y',
    ]) {
      const res = await api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'u', returnUrl })
      expect([res.status, res.body.code], returnUrl).toEqual([400, 'invalid_return_url'])
    }
    const allowed = await api('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'u',
      returnUrl: `${RETURN}/sub?x=1`,
    })
    expect(allowed.status).toBe(201)
  })

  it("an attacker's code with the victim's state fails PKCE and stores nothing", async () => {
    const attacker = new Browser()
    const attackerCallback = await throughProvider(attacker, (await session()).connectUrl)
    const victim = new Browser()
    const victimCallback = await throughProvider(victim, (await session()).connectUrl)
    victimCallback.searchParams.set('code', attackerCallback.searchParams.get('code')!)
    const connections = await connectionCount()
    const res = await victim.get(victimCallback)
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('authorization_failed')
    expect(await connectionCount()).toBe(connections)
  })
})
