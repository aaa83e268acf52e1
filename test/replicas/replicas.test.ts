// The provider replicas themselves: each accepts its provider's documented happy path,
// driven with plain fetch as a client would, and refuses (recording why) what the real
// provider refuses or what the broker must not rely on.
import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startChatworkReplica, type ChatworkReplica } from './chatwork.js'
import { INTERNAL_PREFIX, pkcePair, type Rejection } from './common.js'
import { newTenantGuid, startInteractReplica, type InteractReplica } from './interact.js'
import { startLiveChatReplica, type LiveChatReplica } from './livechat.js'
import { startRespondIoReplica, type RespondIoReplica } from './respondio.js'
import { startZendeskChatReplica, type ZendeskChatReplica } from './zendesk-chat.js'
import type { Json } from '../support/json.js'

const CALLBACK = 'http://127.0.0.1:3999/oauth/callback'

function form(params: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(params).toString(),
  }
}
function json(params: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(params) }
}
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const withQuery = (base: string, params: Record<string, string>) => `${base}?${new URLSearchParams(params)}`
const reasons = (list: Rejection[]) => list.map((r) => r.reason)

async function call(url: string, init?: RequestInit) {
  const res = await fetch(url, init)
  const text = await res.text()
  let body: Json
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return { status: res.status, body, headers: res.headers }
}

// ---------------------------------------------------------------------------------------
describe('Chatwork replica', () => {
  let cw: ChatworkReplica
  beforeAll(async () => {
    cw = await startChatworkReplica({ redirectUris: [`${CALLBACK}/chatwork`] })
  })
  afterAll(() => cw?.close())
  beforeEach(() => {
    cw.rejections.length = 0
    cw.requests.length = 0
  })

  const authUrl = (extra: Record<string, string> = {}, pkce = pkcePair()) =>
    withQuery(cw.urls.authorizationUrl, {
      response_type: 'code',
      client_id: cw.clientId,
      redirect_uri: `${CALLBACK}/chatwork`,
      scope: 'users.profile.me:read rooms.all:read_write offline_access',
      state: 'st-1',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      ...extra,
    })
  async function code(pkce = pkcePair()) {
    const back = await cw.authorize(authUrl({}, pkce))
    return back.searchParams.get('code')!
  }
  const exchange = (
    c: string,
    verifier: string,
    init: (p: Record<string, string>) => RequestInit = (p) =>
      form(p, { authorization: basic(cw.clientId, cw.clientSecret) }),
  ) =>
    call(
      cw.urls.tokenUrl,
      init({
        grant_type: 'authorization_code',
        code: c,
        redirect_uri: `${CALLBACK}/chatwork`,
        code_verifier: verifier,
      }),
    )

  it('runs the documented life cycle: consent, code + PKCE with Basic auth, /v2/me, refresh', async () => {
    const pkce = pkcePair()
    const back = await cw.authorize(authUrl({}, pkce))
    expect(back.origin + back.pathname).toBe(`${CALLBACK}/chatwork`)
    expect(back.searchParams.get('state')).toBe('st-1')
    const tok = await exchange(back.searchParams.get('code')!, pkce.verifier)
    expect(tok.status).toBe(200)
    expect(tok.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: '1800',
      scope: 'users.profile.me:read rooms.all:read_write offline_access',
    })
    expect(typeof tok.body.expires_in).toBe('string')
    expect(tok.headers.get('cache-control')).toBe('no-store')
    expect(cw.isValid(tok.body.access_token)).toBe(true)
    const me = await call(cw.urls.meUrl, { headers: bearer(tok.body.access_token) })
    expect(me.status).toBe(200)
    expect(me.body.account_id).toBe(123456)

    const ref = await call(
      cw.urls.tokenUrl,
      form(
        { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token },
        { authorization: basic(cw.clientId, cw.clientSecret) },
      ),
    )
    expect(ref.status).toBe(200)
    expect(ref.body.refresh_token).toBe(tok.body.refresh_token)
    expect(ref.body.access_token).not.toBe(tok.body.access_token)
    expect(cw.refreshCount()).toBe(1)
    expect(cw.usedRefreshTokens).toEqual([tok.body.refresh_token])
    expect(cw.rejections).toEqual([])
    // Every provider call was recorded with its encoding.
    const tokenCalls = cw.requests.filter((r) => r.path === '/token')
    expect(tokenCalls.map((r) => r.encoding)).toEqual(['form', 'form'])
  })

  it('sends a refusal back to the callback with error=access_denied', async () => {
    const back = await cw.authorize(authUrl(), { deny: true })
    expect(back.origin + back.pathname).toBe(`${CALLBACK}/chatwork`)
    expect(Object.fromEntries(back.searchParams)).toEqual({ error: 'access_denied', state: 'st-1' })
    expect(cw.rejections).toEqual([])
  })

  it(
    'keeps other authorization errors on its own page: ' + 'plain PKCE, unknown redirect, wrong scope separator',
    async () => {
      const variants: Record<string, string>[] = [
        { code_challenge_method: 'plain' },
        { redirect_uri: 'http://127.0.0.1:3999/elsewhere' },
        { scope: 'users.profile.me:read,rooms.all:read_write' },
      ]
      for (const extra of variants) {
        const back = await cw.authorize(authUrl(extra))
        expect(back.origin).toBe(new URL(cw.urls.authorizationUrl).origin)
        expect(back.pathname).toBe(`${INTERNAL_PREFIX}error`)
      }
      expect(reasons(cw.rejections)).toEqual([
        expect.stringMatching(/S256/),
        expect.stringMatching(/not registered/),
        expect.stringMatching(/not registered for the client/),
      ])
    },
  )

  it('records a missing PKCE challenge (the broker must always send it)', async () => {
    const back = await cw.authorize(
      withQuery(cw.urls.authorizationUrl, {
        response_type: 'code',
        client_id: cw.clientId,
        redirect_uri: `${CALLBACK}/chatwork`,
        scope: 'rooms.all:read',
        state: 'x',
      }),
    )
    expect(back.searchParams.get('code')).toBeTruthy()
    expect(reasons(cw.rejections)).toEqual([expect.stringMatching(/no PKCE/)])
  })

  it('refuses the client secret in the body, JSON bodies, a wrong verifier and a reused code', async () => {
    const pkce = pkcePair()
    const c = await code(pkce)
    const post = await exchange(c, pkce.verifier, (p) =>
      form({ ...p, client_id: cw.clientId, client_secret: cw.clientSecret }),
    )
    expect(post).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
    const asJson = await exchange(c, pkce.verifier, (p) =>
      json(p, { authorization: basic(cw.clientId, cw.clientSecret) }),
    )
    expect(asJson).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    const wrongVerifier = await exchange(c, pkcePair().verifier)
    expect(wrongVerifier).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const reused = await exchange(c, pkce.verifier)
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(reasons(cw.rejections)).toEqual([
      expect.stringMatching(/HTTP Basic/),
      expect.stringMatching(/x-www-form-urlencoded/),
      expect.stringMatching(/code_verifier does not match/),
      expect.stringMatching(/reused/),
    ])
  })

  it('refuses a missing, malformed or wrong HTTP Basic client authentication (before the code is spent)', async () => {
    const pkce = pkcePair()
    const c = await code(pkce)
    const invalidClient = { status: 401, body: { error: 'invalid_client' } }
    expect(await exchange(c, pkce.verifier, (p) => form(p))).toMatchObject(invalidClient)
    expect(
      await exchange(c, pkce.verifier, (p) =>
        form(p, { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }),
      ),
    ).toMatchObject(invalidClient)
    expect(
      await exchange(c, pkce.verifier, (p) => form(p, { authorization: basic(cw.clientId, 'wrong-secret') })),
    ).toMatchObject(invalidClient)
    expect(
      await exchange(c, pkce.verifier, (p) => form(p, { authorization: basic('another-client', cw.clientSecret) })),
    ).toMatchObject(invalidClient)
    expect(reasons(cw.rejections)).toEqual([
      expect.stringMatching(/missing or malformed HTTP Basic/),
      expect.stringMatching(/missing or malformed HTTP Basic/),
      expect.stringMatching(/wrong client credentials/),
      expect.stringMatching(/wrong client credentials/),
    ])
    expect((await exchange(c, pkce.verifier)).status).toBe(200)
  })

  it('lets a test inject outages and expire tokens', async () => {
    const pkce = pkcePair()
    const c = await code(pkce)
    cw.failNext(1, { path: '/token' })
    expect((await exchange(c, pkce.verifier)).status).toBe(503)
    const tok = await exchange(c, pkce.verifier)
    expect(tok.status).toBe(200)
    cw.expireAccessTokens()
    expect(cw.isValid(tok.body.access_token)).toBe(false)
    expect((await call(cw.urls.meUrl, { headers: bearer(tok.body.access_token) })).status).toBe(401)
    expect(reasons(cw.rejections)).toEqual([expect.stringMatching(/expired/)])
  })

  it('refuses a wrong path and tokens it did not issue', async () => {
    expect(
      (await call(cw.urls.authorizationUrl.replace('/packages/oauth2/login.php', '/oauth2/authorize'))).status,
    ).toBe(404)
    const me = await call(cw.urls.meUrl, { headers: bearer('nope') })
    expect(me).toMatchObject({ status: 401, body: { errors: ['Invalid API token'] } })
    expect(reasons(cw.rejections)).toEqual([
      expect.stringMatching(/unknown path/),
      expect.stringMatching(/invalid, expired or revoked/),
    ])
  })
})

// ---------------------------------------------------------------------------------------
describe('LiveChat replica', () => {
  let lc: LiveChatReplica
  beforeAll(async () => {
    lc = await startLiveChatReplica({ redirectUris: [`${CALLBACK}/livechat`] })
  })
  afterAll(() => lc?.close())
  beforeEach(() => {
    lc.rejections.length = 0
    lc.requests.length = 0
  })

  const authUrl = (pkce: { challenge: string }, extra: Record<string, string> = {}) =>
    withQuery(lc.urls.authorizationUrl, {
      response_type: 'code',
      client_id: lc.clientId,
      redirect_uri: `${CALLBACK}/livechat`,
      state: 'st-2',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      ...extra,
    })
  const secretBody = () => ({ client_id: lc.clientId, client_secret: lc.clientSecret })
  async function tokens() {
    const pkce = pkcePair()
    const back = await lc.authorize(authUrl(pkce))
    return call(
      lc.urls.tokenUrl,
      form({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: `${CALLBACK}/livechat`,
        code_verifier: pkce.verifier,
        ...secretBody(),
      }),
    )
  }

  it(
    'runs the documented life cycle: code + S256, ' + 'region-prefixed tokens, /v2/info, refresh, DELETE revocation',
    async () => {
      const pkce = pkcePair()
      const back = await lc.authorize(authUrl(pkce))
      expect(back.origin + back.pathname).toBe(`${CALLBACK}/livechat`)
      expect(back.searchParams.get('code')).toMatch(/^dal:/)
      const tok = await call(
        lc.urls.tokenUrl,
        form({
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          redirect_uri: `${CALLBACK}/livechat`,
          code_verifier: pkce.verifier,
          ...secretBody(),
        }),
      )
      expect(tok.status).toBe(200)
      expect(tok.body).toMatchObject({
        account_id: lc.accountId,
        organization_id: lc.organizationId,
        expires_in: 28800,
        token_type: 'Bearer',
        scope: 'chats--all:ro,customers:ro,agents--my:ro,accounts--my:ro',
      })
      expect(tok.body.access_token).toMatch(/^dal:/)
      expect(tok.body.refresh_token).toMatch(/^dal:/)
      const info = await call(lc.urls.infoUrl, { headers: bearer(tok.body.access_token) })
      expect(info).toMatchObject({ status: 200, body: { client_id: lc.clientId, account_id: lc.accountId } })
      const chats = await call(`${lc.urls.apiBaseUrl}/agent/action/list_chats`, {
        method: 'POST',
        headers: { ...bearer(tok.body.access_token), 'content-type': 'application/json' },
        body: '{}',
      })
      expect(chats.status).toBe(200)

      const ref = await call(
        lc.urls.tokenUrl,
        form({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, ...secretBody() }),
      )
      expect(ref.status).toBe(200)
      expect(ref.body.refresh_token).toBe(tok.body.refresh_token) // server-side apps: no rotation
      expect(lc.refreshCount()).toBe(1)
      expect(lc.rejections).toEqual([])

      const del = await call(lc.urls.revocationUrl, { method: 'DELETE', headers: bearer(ref.body.access_token) })
      expect(del).toMatchObject({ status: 200, body: {} })
      expect(lc.isValid(ref.body.access_token)).toBe(false)
      expect(lc.isValid(tok.body.access_token)).toBe(false)
      const after = await call(
        lc.urls.tokenUrl,
        form({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, ...secretBody() }),
      )
      expect(after).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
      expect(reasons(lc.rejections)).toEqual([expect.stringMatching(/revoked/)])
    },
  )

  it('keeps a refusal and a bad redirect on its own /ooops page, never on the callback', async () => {
    const denied = await lc.authorize(authUrl(pkcePair()), { deny: true })
    expect(denied.pathname).toBe('/ooops')
    expect(denied.searchParams.get('oauth_exception')).toBe('access_denied')
    const bad = await lc.authorize(
      authUrl(pkcePair(), { redirect_uri: 'http://127.0.0.1:3998/oauth/callback/livechat' }),
    )
    expect(Object.fromEntries(bad.searchParams)).toEqual({
      oauth_exception: 'unauthorized_client',
      exception_details: 'invalid_redirect_uri',
    })
    expect(reasons(lc.rejections)).toEqual([expect.stringMatching(/not allowed/)])
  })

  it('treats a missing code_challenge_method as plain, so the S256 verifier then fails', async () => {
    const pkce = pkcePair()
    const url = new URL(authUrl(pkce))
    url.searchParams.delete('code_challenge_method')
    const back = await lc.authorize(url.href)
    const tok = await call(
      lc.urls.tokenUrl,
      form({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: `${CALLBACK}/livechat`,
        code_verifier: pkce.verifier,
        ...secretBody(),
      }),
    )
    expect(tok).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(reasons(lc.rejections)).toEqual([
      expect.stringMatching(/assumes "plain"/),
      expect.stringMatching(/plain code_challenge/),
    ])
  })

  it('refuses HTTP Basic client authentication, JSON bodies and a missing secret', async () => {
    const pkce = pkcePair()
    const back = await lc.authorize(authUrl(pkce))
    const params = {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: `${CALLBACK}/livechat`,
      code_verifier: pkce.verifier,
    }
    expect(
      (await call(lc.urls.tokenUrl, form(params, { authorization: basic(lc.clientId, lc.clientSecret) }))).status,
    ).toBe(400)
    expect((await call(lc.urls.tokenUrl, json({ ...params, ...secretBody() }))).body.error).toBe('invalid_request')
    expect((await call(lc.urls.tokenUrl, form({ ...params, client_id: lc.clientId }))).body.error).toBe(
      'unauthorized_client',
    )
    expect(reasons(lc.rejections)).toEqual([
      expect.stringMatching(/HTTP Basic/),
      expect.stringMatching(/x-www-form-urlencoded/),
      expect.stringMatching(/client_secret missing/),
    ])
  })

  it('refuses a wrong client secret (before the code is spent)', async () => {
    const pkce = pkcePair()
    const back = await lc.authorize(authUrl(pkce))
    const params = {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      redirect_uri: `${CALLBACK}/livechat`,
      code_verifier: pkce.verifier,
    }
    expect(
      await call(lc.urls.tokenUrl, form({ ...params, client_id: lc.clientId, client_secret: 'wrong-secret' })),
    ).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } })
    expect(
      await call(lc.urls.tokenUrl, form({ ...params, client_id: 'another-client', client_secret: lc.clientSecret })),
    ).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } })
    expect(reasons(lc.rejections)).toEqual([
      expect.stringMatching(/wrong client_secret/),
      expect.stringMatching(/unknown client_id/),
    ])
    expect((await call(lc.urls.tokenUrl, form({ ...params, ...secretBody() }))).status).toBe(200)
  })

  it(
    'records an authorization without any PKCE, and a scope parameter ' +
      '(scopes are configured in the console, the grant keeps them)',
    async () => {
      const noPkce = await lc.authorize(
        withQuery(lc.urls.authorizationUrl, {
          response_type: 'code',
          client_id: lc.clientId,
          redirect_uri: `${CALLBACK}/livechat`,
          state: 'st-2',
        }),
      )
      const tok = await call(
        lc.urls.tokenUrl,
        form({
          grant_type: 'authorization_code',
          code: noPkce.searchParams.get('code')!,
          redirect_uri: `${CALLBACK}/livechat`,
          ...secretBody(),
        }),
      )
      expect(tok.status).toBe(200)
      expect(reasons(lc.rejections)).toEqual([expect.stringMatching(/no PKCE/)])

      lc.rejections.length = 0
      const pkce = pkcePair()
      const scoped = await lc.authorize(authUrl(pkce, { scope: 'chats--all:ro' }))
      const narrowed = await call(
        lc.urls.tokenUrl,
        form({
          grant_type: 'authorization_code',
          code: scoped.searchParams.get('code')!,
          redirect_uri: `${CALLBACK}/livechat`,
          code_verifier: pkce.verifier,
          ...secretBody(),
        }),
      )
      expect(narrowed.body.scope).toBe('chats--all:ro,customers:ro,agents--my:ro,accounts--my:ro')
      expect(reasons(lc.rejections)).toEqual([expect.stringMatching(/scope parameter sent/)])
    },
  )

  it('rotates refresh tokens when configured (web apps) and refuses the spent one', async () => {
    const web = await startLiveChatReplica({
      redirectUris: [`${CALLBACK}/livechat`],
      rotateRefreshTokens: true,
      region: 'fra',
    })
    try {
      const pkce = pkcePair()
      const back = await web.authorize(
        withQuery(web.urls.authorizationUrl, {
          response_type: 'code',
          client_id: web.clientId,
          redirect_uri: `${CALLBACK}/livechat`,
          code_challenge: pkce.challenge,
          code_challenge_method: 'S256',
        }),
      )
      const creds = { client_id: web.clientId, client_secret: web.clientSecret }
      const tok = await call(
        web.urls.tokenUrl,
        form({
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          redirect_uri: `${CALLBACK}/livechat`,
          code_verifier: pkce.verifier,
          ...creds,
        }),
      )
      expect(tok.body.access_token).toMatch(/^fra:/)
      const ref = await call(
        web.urls.tokenUrl,
        form({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, ...creds }),
      )
      expect(ref.body.refresh_token).not.toBe(tok.body.refresh_token)
      const reuse = await call(
        web.urls.tokenUrl,
        form({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, ...creds }),
      )
      expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
      expect(web.usedRefreshTokens).toEqual([tok.body.refresh_token])
      expect(reasons(web.rejections)).toEqual([expect.stringMatching(/already used/)])
    } finally {
      await web.close()
    }
  })

  it('revokes the oldest token beyond 25 per client and user', async () => {
    const tok = await tokens()
    const first = tok.body.access_token
    for (let i = 0; i < 25; i++) {
      const r = await call(
        lc.urls.tokenUrl,
        form({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, ...secretBody() }),
      )
      expect(r.status).toBe(200)
    }
    expect(lc.isValid(first)).toBe(false)
    expect(lc.rejections).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------
describe('Zendesk Chat replica', () => {
  let zd: ZendeskChatReplica
  beforeAll(async () => {
    zd = await startZendeskChatReplica({ subdomains: ['acme', 'other'], redirectUris: [`${CALLBACK}/zendesk-chat`] })
  })
  afterAll(() => zd?.close())
  beforeEach(() => {
    zd.rejections.length = 0
    zd.requests.length = 0
  })

  const fill = (u: string, sub = 'acme') => u.replace('{subdomain}', sub)
  const authUrl = (extra: Record<string, string> = {}, sub = 'acme') =>
    withQuery(fill(zd.urls.authorizationUrl, sub), {
      response_type: 'code',
      client_id: zd.clientId,
      redirect_uri: `${CALLBACK}/zendesk-chat`,
      scope: 'read write chat',
      state: 'st-3',
      ...extra,
    })
  const creds = () => ({ client_id: zd.clientId, client_secret: zd.clientSecret })
  async function codeFor(sub = 'acme') {
    return (await zd.authorize(authUrl({}, sub))).searchParams.get('code')!
  }

  it('keeps the {subdomain} placeholder in the path of its catalog URLs', () => {
    expect(zd.urls.tokenUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\{subdomain\}\/oauth2\/chat\/token$/)
    expect(zd.urls.authorizationUrl).toMatch(/\/\{subdomain\}\/oauth2\/chat\/authorizations\/new$/)
  })

  it(
    'runs the documented life cycle: code without PKCE, ' + 'secret in the body, Chat API, single-use refresh tokens',
    async () => {
      const back = await zd.authorize(authUrl())
      expect(back.origin + back.pathname).toBe(`${CALLBACK}/zendesk-chat`)
      expect(back.searchParams.get('state')).toBe('st-3')
      const tok = await call(
        fill(zd.urls.tokenUrl),
        form({
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          redirect_uri: `${CALLBACK}/zendesk-chat`,
          ...creds(),
        }),
      )
      expect(tok.status).toBe(200)
      expect(tok.body).toMatchObject({ token_type: 'Bearer', scope: 'read write chat', expires_in: 36000 })
      const acct = await call(fill(zd.urls.accountUrl), { headers: bearer(tok.body.access_token) })
      expect(acct).toMatchObject({ status: 200, body: { status: 'active' } })

      const r1 = await call(
        fill(zd.urls.tokenUrl),
        form({ grant_type: 'refresh_token', refresh_token: tok.body.refresh_token, ...creds() }),
      )
      expect(r1.status).toBe(200)
      expect(r1.body.refresh_token).not.toBe(tok.body.refresh_token)
      const r2 = await call(
        fill(zd.urls.tokenUrl),
        form({ grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, ...creds() }),
      )
      expect(r2.status).toBe(200)
      expect(zd.usedRefreshTokens).toEqual([tok.body.refresh_token, r1.body.refresh_token])
      expect(zd.refreshCount()).toBe(2)
      expect(zd.rejections).toEqual([])

      const reuse = await call(
        fill(zd.urls.tokenUrl),
        form({ grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, ...creds() }),
      )
      expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
      expect(reasons(zd.rejections)).toEqual([expect.stringMatching(/already used/)])
    },
  )

  it('lists the agent tokens and revokes one by id', async () => {
    const tok = await call(
      fill(zd.urls.tokenUrl),
      form({
        grant_type: 'authorization_code',
        code: await codeFor(),
        redirect_uri: `${CALLBACK}/zendesk-chat`,
        ...creds(),
      }),
    )
    const list = await call(fill(zd.urls.oauthTokensUrl), { headers: bearer(tok.body.access_token) })
    const mine = (list.body as { id: number; access_token: string }[]).find(
      (t) => t.access_token === tok.body.access_token,
    )!
    const del = await call(`${fill(zd.urls.oauthTokensUrl)}/${mine.id}`, {
      method: 'DELETE',
      headers: bearer(tok.body.access_token),
    })
    expect(del.status).toBe(204)
    expect(zd.isValid(tok.body.access_token)).toBe(false)
    expect(zd.rejections).toEqual([])
  })

  it('sends a refusal and a bad scope back to the callback with error=', async () => {
    const denied = await zd.authorize(authUrl(), { deny: true })
    expect(denied.searchParams.get('error')).toBe('access_denied')
    const badScope = await zd.authorize(authUrl({ scope: 'chat:read chat:write' }))
    expect(badScope.searchParams.get('error')).toBe('invalid_scope')
    expect(badScope.searchParams.get('state')).toBe('st-3')
    expect(reasons(zd.rejections)).toEqual([expect.stringMatching(/unknown scopes/)])
  })

  it(
    'records PKCE parameters it ignores, refuses Basic ' + 'auth, JSON and a code exchanged at another account',
    async () => {
      const pkce = pkcePair()
      const back = await zd.authorize(authUrl({ code_challenge: pkce.challenge, code_challenge_method: 'S256' }))
      const c = back.searchParams.get('code')!
      const params = { grant_type: 'authorization_code', code: c, redirect_uri: `${CALLBACK}/zendesk-chat` }
      expect(
        (await call(fill(zd.urls.tokenUrl), form(params, { authorization: basic(zd.clientId, zd.clientSecret) }))).body
          .error,
      ).toBe('invalid_client')
      expect((await call(fill(zd.urls.tokenUrl), json({ ...params, ...creds() }))).body.error).toBe('invalid_request')
      expect((await call(fill(zd.urls.tokenUrl, 'other'), form({ ...params, ...creds() }))).body.error).toBe(
        'invalid_grant',
      )
      expect(reasons(zd.rejections)).toEqual([
        expect.stringMatching(/PKCE parameters sent/),
        expect.stringMatching(/HTTP Basic/),
        expect.stringMatching(/x-www-form-urlencoded/),
        expect.stringMatching(/code issued for acme, exchanged at other/),
      ])
    },
  )

  it(
    'refuses a missing or wrong client secret (before the code is ' +
      'spent) and Zendesk Support OAuth paths under a valid subdomain',
    async () => {
      const c = await codeFor()
      const params = { grant_type: 'authorization_code', code: c, redirect_uri: `${CALLBACK}/zendesk-chat` }
      const invalidClient = { status: 401, body: { error: 'invalid_client' } }
      expect(await call(fill(zd.urls.tokenUrl), form({ ...params, client_id: zd.clientId }))).toMatchObject(
        invalidClient,
      )
      expect(
        await call(fill(zd.urls.tokenUrl), form({ ...params, client_id: zd.clientId, client_secret: 'wrong-secret' })),
      ).toMatchObject(invalidClient)
      expect(
        await call(
          fill(zd.urls.tokenUrl),
          form({ ...params, client_id: 'another-client', client_secret: zd.clientSecret }),
        ),
      ).toMatchObject(invalidClient)
      // Zendesk Support's OAuth lives under the same subdomain; its tokens cannot call the Chat API.
      expect((await call(`${zd.server.origin}/acme/oauth/tokens`, form({ ...params, ...creds() }))).status).toBe(404)
      const support = await zd.authorize(
        withQuery(`${zd.server.origin}/acme/oauth/authorizations/new`, {
          response_type: 'code',
          client_id: zd.clientId,
          redirect_uri: `${CALLBACK}/zendesk-chat`,
          scope: 'read',
        }),
      )
      expect(support.searchParams.has('code')).toBe(false)
      expect(reasons(zd.rejections)).toEqual([
        expect.stringMatching(/client_id zendesk_chat_client, client_secret missing/),
        expect.stringMatching(/client_id zendesk_chat_client, client_secret wrong/),
        expect.stringMatching(/client_id another-client/),
        expect.stringMatching(/Support OAuth path \/oauth\/tokens/),
        expect.stringMatching(/Support OAuth path \/oauth\/authorizations\/new/),
      ])
      expect((await call(fill(zd.urls.tokenUrl), form({ ...params, ...creds() }))).status).toBe(200)
    },
  )

  it('answers 404 for an unknown account or an unfilled placeholder', async () => {
    expect((await call(fill(zd.urls.tokenUrl, 'nobody'), form({}))).status).toBe(404)
    expect((await call(zd.urls.tokenUrl, form({}))).status).toBe(404)
    expect(reasons(zd.rejections)).toEqual([
      expect.stringMatching(/no Zendesk account "nobody"/),
      expect.stringMatching(/placeholder was not filled/),
    ])
  })
})

// ---------------------------------------------------------------------------------------
describe('respond.io replica', () => {
  let rio: RespondIoReplica
  beforeAll(async () => {
    rio = await startRespondIoReplica()
  })
  afterAll(() => rio?.close())
  beforeEach(() => {
    rio.rejections.length = 0
  })

  it('accepts its workspace token on the validation call', async () => {
    const ok = await call(rio.urls.validationUrl, { headers: bearer(rio.apiKey) })
    expect(ok.status).toBe(200)
    expect(ok.body.items).toHaveLength(1)
    expect(ok.headers.get('x-ratelimit-limit')).toBeTruthy()
    expect(rio.isValid(rio.apiKey)).toBe(true)
    expect(rio.apiKey.split('.')).toHaveLength(3)
    expect(rio.rejections).toEqual([])
  })

  it('answers 401 { code, message } for a bad, missing or deleted token, and 404 for OAuth paths', async () => {
    expect(await call(rio.urls.validationUrl, { headers: bearer('x.y.z') })).toMatchObject({
      status: 401,
      body: { code: 401, message: 'Unauthorized' },
    })
    expect((await call(rio.urls.validationUrl)).status).toBe(401)
    const other = rio.mintKey()
    rio.deleteKey(other)
    expect((await call(rio.urls.validationUrl, { headers: bearer(other) })).status).toBe(401)
    expect((await call(`${rio.urls.apiBaseUrl.replace('/v2', '')}/oauth/token`, form({}))).status).toBe(404)
    expect(reasons(rio.rejections)).toEqual([
      expect.stringMatching(/unknown or deleted/),
      expect.stringMatching(/no Authorization/),
      expect.stringMatching(/unknown or deleted/),
      expect.stringMatching(/no OAuth endpoints/),
    ])
  })
})

// ---------------------------------------------------------------------------------------
describe('Interact replica', () => {
  let ia: InteractReplica
  let agent: Agent
  // The replica serves HTTPS with a test CA: clients must be told to trust it.
  const tfetch = async (
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) => {
    const res = await undiciFetch(url, { ...init, dispatcher: agent })
    const text = await res.text()
    let body: Json
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
    return { status: res.status, body, contentType: res.headers.get('content-type') ?? '' }
  }
  beforeAll(async () => {
    ia = await startInteractReplica()
    agent = new Agent({ connect: { ca: ia.caPem } })
  })
  afterAll(async () => {
    await agent?.close()
    await ia?.close()
  })
  beforeEach(() => {
    ia.rejections.length = 0
  })

  async function discover() {
    const info = await tfetch(`${ia.credentials.intranetUrl}/info`, { headers: { accept: 'application/json' } })
    expect(info.status).toBe(200)
    return info.body as { ApiDomain: string; TenantGuid: string; AuthMode: string; Name: string }
  }
  const tokenCall = (apiDomain: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
    tfetch(`https://${apiDomain}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: new URLSearchParams(params).toString(),
    })

  it('runs discovery, the key/secret exchange with X-Tenant, an API call and rotating refreshes', async () => {
    const info = await discover()
    expect(info).toEqual({
      ApiDomain: ia.urls.apiDomain,
      AuthMode: 'local',
      TenantGuid: ia.tenantGuid,
      Name: 'developer',
    })
    expect(info.ApiDomain).not.toMatch(/^https?:/)
    const tenant = { 'x-tenant': info.TenantGuid }
    const tok = await tokenCall(
      info.ApiDomain,
      {
        grant_type: 'authorization_code',
        code: `${ia.credentials.apiKey}__${ia.credentials.apiSecret}`,
        context: 'KeySecret',
      },
      tenant,
    )
    expect(tok.status).toBe(200)
    expect(tok.body).toMatchObject({ token_type: 'bearer', expires_in: 3600 })
    const people = await tfetch(`https://${info.ApiDomain}/api/people`, {
      headers: { ...bearer(tok.body.access_token), ...tenant, accept: 'application/json' },
    })
    expect(people.status).toBe(200)
    expect(ia.isValid(tok.body.access_token)).toBe(true)

    const ref = await tokenCall(
      info.ApiDomain,
      { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token },
      tenant,
    )
    expect(ref.status).toBe(200)
    expect(ref.body.refresh_token).not.toBe(tok.body.refresh_token)
    expect(ia.refreshCount()).toBe(1)
    expect(ia.rejections).toEqual([])

    const reuse = await tokenCall(
      info.ApiDomain,
      { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token },
      tenant,
    )
    expect(reuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(ia.usedRefreshTokens).toEqual([tok.body.refresh_token])
    expect(reasons(ia.rejections)).toEqual([expect.stringMatching(/already used/)])
  })

  it('answers text/plain without X-Tenant, and refuses JSON bodies, a wrong secret and the wrong host', async () => {
    const info = await discover()
    const params = {
      grant_type: 'authorization_code',
      code: `${ia.credentials.apiKey}__${ia.credentials.apiSecret}`,
      context: 'KeySecret',
    }
    const noTenant = await tokenCall(info.ApiDomain, params)
    expect(noTenant.status).toBe(400)
    expect(noTenant.contentType).toMatch(/^text\/plain/)
    const asJson = await tfetch(`https://${info.ApiDomain}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant': info.TenantGuid },
      body: JSON.stringify(params),
    })
    expect(asJson).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } })
    const wrong = await tokenCall(
      info.ApiDomain,
      { ...params, code: `${ia.credentials.apiKey}__nope` },
      { 'x-tenant': info.TenantGuid },
    )
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const onIntranet = await tfetch(`${ia.credentials.intranetUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-tenant': info.TenantGuid },
      body: new URLSearchParams(params).toString(),
    })
    expect(onIntranet.status).toBe(404)
    const api = await tfetch(`https://${info.ApiDomain}/api/people`, { headers: bearer('nope') })
    expect(api.contentType).toMatch(/^text\/plain/)
    expect(reasons(ia.rejections)).toEqual([
      expect.stringMatching(/X-Tenant header missing/),
      expect.stringMatching(/x-www-form-urlencoded/),
      expect.stringMatching(/wrong API key or secret/),
      expect.stringMatching(/lives on the ApiDomain/),
      expect.stringMatching(/X-Tenant header missing/),
    ])
  })

  it('refuses a wrong X-Tenant, a refresh without X-Tenant, a code without "__" and a missing context', async () => {
    const info = await discover()
    const tenant = { 'x-tenant': info.TenantGuid }
    const code = `${ia.credentials.apiKey}__${ia.credentials.apiSecret}`
    const tok = await tokenCall(
      info.ApiDomain,
      { grant_type: 'authorization_code', code, context: 'KeySecret' },
      tenant,
    )
    expect(tok.status).toBe(200)
    const wrongTenant = await tokenCall(
      info.ApiDomain,
      { grant_type: 'authorization_code', code, context: 'KeySecret' },
      { 'x-tenant': newTenantGuid() },
    )
    expect([wrongTenant.status, wrongTenant.contentType]).toEqual([400, expect.stringMatching(/^text\/plain/)])
    const refreshWithoutTenant = await tokenCall(info.ApiDomain, {
      grant_type: 'refresh_token',
      refresh_token: tok.body.refresh_token,
    })
    expect([refreshWithoutTenant.status, refreshWithoutTenant.contentType]).toEqual([
      400,
      expect.stringMatching(/^text\/plain/),
    ])
    const joined = await tokenCall(
      info.ApiDomain,
      {
        grant_type: 'authorization_code',
        code: `${ia.credentials.apiKey}${ia.credentials.apiSecret}`,
        context: 'KeySecret',
      },
      tenant,
    )
    expect(joined).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const noContext = await tokenCall(info.ApiDomain, { grant_type: 'authorization_code', code }, tenant)
    expect(noContext).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(reasons(ia.rejections)).toEqual([
      expect.stringMatching(/X-Tenant [0-9a-f-]+ is not this intranet's TenantGuid/),
      expect.stringMatching(/X-Tenant header missing/),
      expect.stringMatching(/code must be "\{key\}__\{secret\}"/),
      expect.stringMatching(/context must be "KeySecret"/),
    ])
    // The refused refresh did not spend the refresh token.
    expect(
      (await tokenCall(info.ApiDomain, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token }, tenant))
        .status,
    ).toBe(200)
  })

  it('serves another /info body when told to (a hostile or broken intranet)', async () => {
    const hostile = await startInteractReplica({ info: (real) => ({ ...real, ApiDomain: '169.254.169.254' }) })
    const broken = await startInteractReplica({ info: () => 'Service starting' })
    try {
      const res = await tfetch(`${hostile.urls.intranetUrl}/info`)
      expect(res.body).toMatchObject({ ApiDomain: '169.254.169.254', TenantGuid: hostile.tenantGuid })
      expect(await tfetch(`${broken.urls.intranetUrl}/info`)).toMatchObject({
        status: 200,
        body: 'Service starting',
        contentType: expect.stringMatching(/^text\/plain/),
      })
      expect(hostile.connectionCounts()).toEqual({ intranet: 1, api: 0 })
    } finally {
      await Promise.all([hostile.close(), broken.close()])
    }
  })

  it('is only reachable over TLS with the test CA trusted', async () => {
    await expect(fetch(`${ia.credentials.intranetUrl}/info`)).rejects.toThrow()
  })
})
