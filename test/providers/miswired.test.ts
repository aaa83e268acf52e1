// The replicas catch broker bugs: a broker whose providers file overrides each catalog
// entry wrongly (the very mistakes the catalog exists to prevent) fails to connect, or
// connects only because the provider tolerates it, and the replica names what it refused.
// If a replica accepted these, the life-cycle tests would prove nothing.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChatworkReplica, type ChatworkReplica } from '../replicas/chatwork.js'
import { startInteractReplica, type InteractReplica } from '../replicas/interact.js'
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
let interact: InteractReplica

beforeAll(async () => {
  const port = await freePort()
  const callback = (key: string) => `http://127.0.0.1:${port}/oauth/callback/${key}`
  chatwork = await startChatworkReplica({ redirectUris: [callback('chatwork')] })
  livechat = await startLiveChatReplica({ redirectUris: [callback('livechat')] })
  zendesk = await startZendeskChatReplica({ redirectUris: [callback('zendesk-chat')], subdomains: ['acme'] })
  interact = await startInteractReplica()
  const caFile = join(mkdtempSync(join(tmpdir(), 'broker-ca-')), 'ca.pem')
  writeFileSync(caFile, interact.caPem)
  broker = await startBroker({
    port,
    env: { PROVIDER_CA_FILE: caFile, ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true' },
    providers: {
      // Chatwork authenticates confidential clients with HTTP Basic only.
      chatwork: {
        clientId: chatwork.clientId,
        clientSecret: chatwork.clientSecret,
        authorizationUrl: chatwork.urls.authorizationUrl,
        tokenUrl: chatwork.urls.tokenUrl,
        tokenEndpointAuthMethod: 'client_secret_post',
      },
      // LiveChat tolerates no PKCE from a server-side app; the broker must not rely on it.
      livechat: {
        clientId: livechat.clientId,
        clientSecret: livechat.clientSecret,
        authorizationUrl: livechat.urls.authorizationUrl,
        tokenUrl: livechat.urls.tokenUrl,
        revocationUrl: livechat.urls.revocationUrl,
        pkce: false,
      },
      // Zendesk Chat reads form bodies only.
      'zendesk-chat': {
        clientId: zendesk.clientId,
        clientSecret: zendesk.clientSecret,
        authorizationUrl: zendesk.urls.authorizationUrl,
        tokenUrl: zendesk.urls.tokenUrl,
        tokenRequestEncoding: 'json',
      },
      // Interact resolves the tenant from X-Tenant on every call.
      interact: { tokenRequestHeaders: {} },
    },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await Promise.all([chatwork?.close(), livechat?.close(), zendesk?.close(), interact?.close()])
})

/**
 * Runs the browser flow and returns where the broker sent the browser back to, and the provider's authorization URL.
 */
async function attempt(
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
  return { back: Object.fromEntries(new URL(done.headers.get('location')!).searchParams), authorization }
}

const reasons = (replica: { rejections: Array<{ reason: string }> }) => replica.rejections.map((r) => r.reason)
const stored = (provider: string) => broker.db.prisma.connection.count({ where: { provider } })

describe('a broker that contradicts the catalog is caught by the replicas', () => {
  it(
    'Chatwork with the secret in the body: the code ' + 'exchange is refused (invalid_client), nothing is stored',
    async () => {
      const { back } = await attempt('chatwork', chatwork)
      expect(back).toEqual({ status: 'error', error: 'provider_rejected' })
      expect(reasons(chatwork)).toEqual([expect.stringMatching(/^client_secret sent in the body/)])
      expect(await stored('chatwork')).toBe(0)
    },
  )

  it('Zendesk Chat with a JSON token request: refused, nothing is stored', async () => {
    const { back } = await attempt('zendesk-chat', zendesk, { subdomain: 'acme' })
    expect(back).toEqual({ status: 'error', error: 'provider_rejected' })
    expect(reasons(zendesk)).toEqual([
      expect.stringMatching(/must be application\/x-www-form-urlencoded, got application\/json/),
    ])
    expect(await stored('zendesk-chat')).toBe(0)
  })

  it('LiveChat without PKCE: LiveChat lets it through, the replica records it', async () => {
    const { back, authorization } = await attempt('livechat', livechat)
    expect(back.status).toBe('connected')
    expect(authorization.searchParams.has('code_challenge')).toBe(false)
    expect(reasons(livechat)).toEqual([expect.stringMatching(/^no PKCE/)])
  })

  it(
    'Interact without X-Tenant: the exchange is refused ' + '(text/plain 400), the user is told, nothing is stored',
    async () => {
      const res = await api('POST', '/v1/connections', {
        provider: 'interact',
        ownerId: 'tenant-1',
        credentials: interact.credentials,
      })
      expect([res.status, res.body.code]).toEqual([400, 'invalid_credentials'])
      expect(reasons(interact)).toEqual(['X-Tenant header missing'])
      expect(await stored('interact')).toBe(0)
    },
  )
})
