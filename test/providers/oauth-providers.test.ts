// The three OAuth 2.0 launch providers, each through its whole life cycle against a local
// replica of its documented behaviour (test/replicas/): connect in the browser flow →
// access token the provider's API accepts → refresh (rotation respected where the
// provider rotates) → delete (revocation where the provider has it). The replicas refuse
// anything their provider would refuse; every test ends with no refusal recorded.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CATALOG } from '../../src/providers/catalog.js'
import { startChatworkReplica, type ChatworkReplica } from '../replicas/chatwork.js'
import { startLiveChatReplica, type LiveChatReplica } from '../replicas/livechat.js'
import { startZendeskChatReplica, type ZendeskChatReplica } from '../replicas/zendesk-chat.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, type Api } from '../support/connect.js'

let broker: TestBroker
let api: Api
let chatwork: ChatworkReplica
let livechat: LiveChatReplica
let zendesk: ZendeskChatReplica
/** A second Chatwork whose refresh tokens rotate (undocumented either way: both must work). */
let rotatingChatwork: ChatworkReplica

beforeAll(async () => {
  const port = await freePort()
  const callback = (key: string) => `http://127.0.0.1:${port}/oauth/callback/${key}`
  chatwork = await startChatworkReplica({ redirectUris: [callback('chatwork')] })
  rotatingChatwork = await startChatworkReplica({
    redirectUris: [callback('chatwork-rotating')],
    rotateRefreshTokens: true,
  })
  livechat = await startLiveChatReplica({ redirectUris: [callback('livechat')] })
  zendesk = await startZendeskChatReplica({ redirectUris: [callback('zendesk-chat')], subdomains: ['acme'] })
  // Catalog keys: only credentials, plus the replicas' URLs in place of the real hosts.
  broker = await startBroker({
    port,
    // Every forced refresh reaches the provider: the tests count them.
    env: { FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
    providers: {
      chatwork: {
        clientId: chatwork.clientId,
        clientSecret: chatwork.clientSecret,
        authorizationUrl: chatwork.urls.authorizationUrl,
        tokenUrl: chatwork.urls.tokenUrl,
      },
      livechat: {
        clientId: livechat.clientId,
        clientSecret: livechat.clientSecret,
        authorizationUrl: livechat.urls.authorizationUrl,
        tokenUrl: livechat.urls.tokenUrl,
        revocationUrl: livechat.urls.revocationUrl,
      },
      'zendesk-chat': {
        clientId: zendesk.clientId,
        clientSecret: zendesk.clientSecret,
        authorizationUrl: zendesk.urls.authorizationUrl,
        tokenUrl: zendesk.urls.tokenUrl,
      },
      // Not a catalog key: the catalog's Chatwork entry in full, as ops could declare it.
      'chatwork-rotating': {
        ...CATALOG.chatwork,
        clientId: rotatingChatwork.clientId,
        clientSecret: rotatingChatwork.clientSecret,
        authorizationUrl: rotatingChatwork.urls.authorizationUrl,
        tokenUrl: rotatingChatwork.urls.tokenUrl,
      },
    },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await Promise.all([chatwork?.close(), rotatingChatwork?.close(), livechat?.close(), zendesk?.close()])
})
afterEach(() => {
  for (const replica of [chatwork, rotatingChatwork, livechat, zendesk])
    expect(
      replica.rejections.map((r) => r.reason),
      replica.server.name,
    ).toEqual([])
})

async function connect(
  provider: string,
  replica: { authorize(url: string): Promise<URL> },
  params?: Record<string, string>,
) {
  const session = await api('POST', '/v1/connect-sessions', {
    provider,
    ownerId: `${provider}-user`,
    returnUrl: 'https://app.example.com/connected',
    params,
  })
  expect(session.status).toBe(201)
  const browser = new Browser()
  const start = await browser.get(session.body.connectUrl)
  expect(start.status).toBe(302)
  const authorization = new URL(start.headers.get('location')!)
  const done = await browser.get(await replica.authorize(authorization.href))
  const back = new URL(done.headers.get('location')!)
  expect(back.searchParams.get('status')).toBe('connected')
  return { id: back.searchParams.get('connection_id')!, authorization }
}

const vend = (id: string, body: Record<string, unknown> = {}) => api('POST', `/v1/connections/${id}/access-token`, body)

describe('Chatwork', () => {
  it(
    'connects (login.php, PKCE S256, space-separated scopes ' +
      'with offline_access), vends, refreshes, deletes locally',
    async () => {
      const { id, authorization } = await connect('chatwork', chatwork)
      expect(authorization.pathname).toBe('/packages/oauth2/login.php')
      expect(authorization.searchParams.get('scope')).toBe('users.profile.me:read rooms.all:read_write offline_access')
      expect(authorization.searchParams.get('code_challenge_method')).toBe('S256')
      const exchange = chatwork.requests.find(
        (r) => r.path === '/token' && r.body?.grant_type === 'authorization_code',
      )!
      expect(exchange.headers.authorization).toMatch(/^Basic /)
      expect(exchange.encoding).toBe('form')
      expect(exchange.body).not.toHaveProperty('client_secret')

      const first = await vend(id)
      expect(first.status).toBe(200)
      expect(chatwork.isValid(first.body.accessToken)).toBe(true)
      const me = await fetch(chatwork.urls.meUrl, { headers: { authorization: `Bearer ${first.body.accessToken}` } })
      expect(me.status).toBe(200)
      // expires_in arrives as the string "1800": parsed as a number.
      const expiresIn = (new Date(first.body.expiresAt).getTime() - Date.now()) / 1000
      expect(expiresIn).toBeGreaterThan(1700)
      expect(expiresIn).toBeLessThanOrEqual(1800)

      const refreshed = await vend(id, { forceRefresh: true })
      expect(refreshed.status).toBe(200)
      expect(chatwork.refreshCount()).toBe(1)
      expect(refreshed.body.accessToken).not.toBe(first.body.accessToken)
      expect(chatwork.isValid(refreshed.body.accessToken)).toBe(true)

      const before = chatwork.requests.length
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      expect(chatwork.requests.length).toBe(before) // no revocation endpoint: deleted locally
      expect((await vend(id)).status).toBe(404)
      const events = await api('GET', `/v1/audit-events?connectionId=${id}&type=connection.revoked`)
      expect(events.body.items[0].detail).toMatchObject({ refreshToken: 'not_supported', accessToken: 'not_supported' })
    },
  )

  it('with rotating refresh tokens, each refresh presents the one the previous refresh returned', async () => {
    const { id } = await connect('chatwork-rotating', rotatingChatwork)
    for (let i = 0; i < 2; i++) expect((await vend(id, { forceRefresh: true })).status).toBe(200)
    expect(rotatingChatwork.refreshCount()).toBe(2)
    // A spent (rotated-away) token would have been refused and recorded as a rejection.
    expect(new Set(rotatingChatwork.usedRefreshTokens).size).toBe(2)
    const token = await vend(id)
    expect(rotatingChatwork.isValid(token.body.accessToken)).toBe(true)
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
  })
})

describe('LiveChat', () => {
  it(
    'connects (root authorize, S256 explicit, no scopes sent, secret in the body), keeps ' +
      'region-prefixed tokens and account ids, refreshes, revokes by DELETE with Bearer',
    async () => {
      const { id, authorization } = await connect('livechat', livechat)
      expect(authorization.pathname).toBe('/')
      expect(authorization.searchParams.get('code_challenge_method')).toBe('S256')
      expect(authorization.searchParams.has('scope')).toBe(false)
      const exchange = livechat.requests.find(
        (r) => r.path === '/v2/token' && r.body?.grant_type === 'authorization_code',
      )!
      expect(exchange.body).toMatchObject({ client_id: livechat.clientId, client_secret: livechat.clientSecret })
      expect(exchange.headers.authorization).toBeUndefined()

      const first = await vend(id)
      expect(first.body.accessToken).toMatch(/^[a-z]{3}:/)
      expect(livechat.isValid(first.body.accessToken)).toBe(true)
      const info = await fetch(livechat.urls.infoUrl, {
        headers: { authorization: `Bearer ${first.body.accessToken}` },
      })
      expect(info.status).toBe(200)
      const meta = await api('GET', `/v1/connections/${id}`)
      expect(meta.body.metadata).toEqual({ account_id: livechat.accountId, organization_id: livechat.organizationId })
      expect(meta.body.scopes.length).toBeGreaterThan(1) // the comma-separated response scope, split

      const refreshed = await vend(id, { forceRefresh: true })
      expect(livechat.refreshCount()).toBe(1)
      expect(livechat.isValid(refreshed.body.accessToken)).toBe(true)

      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      const revocations = livechat.requests.filter((r) => r.method === 'DELETE' && r.path === '/v2/token')
      expect(revocations).toHaveLength(1) // the refresh token revokes the pair
      expect(revocations[0]!.headers.authorization).toMatch(/^Bearer [a-z]{3}:/)
      expect(livechat.isValid(refreshed.body.accessToken)).toBe(false)
      const events = await api('GET', `/v1/audit-events?connectionId=${id}&type=connection.revoked`)
      expect(events.body.items[0].detail).toMatchObject({ refreshToken: 'revoked', accessToken: 'revoked' })
      expect((await api('GET', `/v1/connections/${id}`)).status).toBe(404)
    },
  )

  it(
    'refuses a connect session that passes scopes (they ' + 'are configured in the LiveChat console, never sent)',
    async () => {
      const before = livechat.requests.length
      const res = await api('POST', '/v1/connect-sessions', {
        provider: 'livechat',
        ownerId: 'u',
        scopes: ['chats--all:ro'],
      })
      expect([res.status, res.body.code]).toEqual([400, 'invalid_scope'])
      expect(res.body.detail).toMatch(/configuration at the provider/)
      expect(
        (await api('POST', '/v1/connect-sessions', { provider: 'livechat', ownerId: 'u', scopes: [] })).status,
      ).toBe(201)
      expect(livechat.requests.length).toBe(before)
    },
  )
})

describe('Zendesk Chat', () => {
  it(
    'connects with a validated subdomain (no PKCE, secret in the form body, ' +
      'scopes read write chat), respects rotating refresh tokens, deletes locally',
    async () => {
      const { id, authorization } = await connect('zendesk-chat', zendesk, { subdomain: 'acme' })
      expect(authorization.pathname).toBe('/acme/oauth2/chat/authorizations/new')
      expect(authorization.searchParams.get('scope')).toBe('read write chat')
      expect(authorization.searchParams.has('code_challenge')).toBe(false)
      const exchange = zendesk.requests.find((r) => r.path === '/acme/oauth2/chat/token')!
      expect(exchange.body).toMatchObject({
        client_id: zendesk.clientId,
        client_secret: zendesk.clientSecret,
        grant_type: 'authorization_code',
      })

      const first = await vend(id)
      expect(zendesk.isValid(first.body.accessToken)).toBe(true)
      const account = await fetch(zendesk.urlsFor('acme').accountUrl, {
        headers: { authorization: `Bearer ${first.body.accessToken}` },
      })
      expect(account.status).toBe(200)
      for (let i = 0; i < 3; i++) expect((await vend(id, { forceRefresh: true })).status).toBe(200)
      // Single-use refresh tokens: each refresh presented the one the previous refresh returned.
      expect(zendesk.refreshCount()).toBe(3)
      expect(new Set(zendesk.usedRefreshTokens).size).toBe(3)
      const last = await vend(id)
      expect(zendesk.isValid(last.body.accessToken)).toBe(true)
      expect((await api('GET', `/v1/connections/${id}`)).body.params).toEqual({ subdomain: 'acme' })
      // No revocation endpoint: delete is local, and the connection is gone.
      const before = zendesk.requests.length
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
      expect(zendesk.requests.length).toBe(before)
      expect((await vend(id)).status).toBe(404)
      expect(zendesk.isValid(last.body.accessToken)).toBe(true) // nothing was revoked at Zendesk
    },
  )

  it('refuses hostile subdomains at session creation with 400, before any request leaves', async () => {
    const before = zendesk.requests.length
    for (const subdomain of [
      'evil.com/x',
      'a@b',
      '..',
      'x\r\nHost: evil',
      'evil.com',
      '',
      'A'.repeat(64),
      '-lead',
      'a b',
      '%2e%2e',
    ]) {
      const res = await api('POST', '/v1/connect-sessions', {
        provider: 'zendesk-chat',
        ownerId: 'u',
        params: { subdomain },
      })
      expect([res.status, res.body.code], JSON.stringify(subdomain)).toEqual([
        400,
        subdomain.length > 256 ? 'invalid_request' : 'invalid_params',
      ])
    }
    const missing = await api('POST', '/v1/connect-sessions', { provider: 'zendesk-chat', ownerId: 'u' })
    expect([missing.status, missing.body.code]).toEqual([400, 'invalid_params'])
    const extra = await api('POST', '/v1/connect-sessions', {
      provider: 'zendesk-chat',
      ownerId: 'u',
      params: { subdomain: 'acme', host: 'evil.com' },
    })
    expect([extra.status, extra.body.code]).toEqual([400, 'invalid_params'])
    expect(zendesk.requests.length).toBe(before)
  })
})

describe('GET /v1/providers', () => {
  it('gives each OAuth provider its redirect URI under PUBLIC_URL, and Zendesk its subdomain param', async () => {
    const res = await api('GET', '/v1/providers')
    expect(res.status).toBe(200)
    const byKey = Object.fromEntries(res.body.items.map((p: { key: string }) => [p.key, p]))
    for (const key of ['chatwork', 'livechat', 'zendesk-chat', 'chatwork-rotating']) {
      expect(byKey[key], key).toMatchObject({
        mode: 'oauth2',
        redirectUri: `${broker.config.publicUrl}/oauth/callback/${key}`,
      })
    }
    expect(broker.config.publicUrl).toBe(broker.url)
    expect(byKey['zendesk-chat'].params).toEqual([
      {
        name: 'subdomain',
        pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
        description: 'the Zendesk subdomain: acme for acme.zendesk.com',
      },
    ])
    expect(byKey.chatwork.params).toEqual([])
    expect(byKey.livechat).toMatchObject({ scopes: [], pkce: true, revocation: 'bearer_delete' })
    expect(JSON.stringify(res.body)).not.toContain(chatwork.clientSecret)
  })
})
