// The built-in provider catalog is data validated by the providers-file schema: this test
// fails on a malformed entry, and pins the facts each launch provider depends on.
import { describe, expect, it } from 'vitest'
import { buildAuthorizationUrl } from '../../src/oauth/authorization-request.js'
import { buildTokenRequest } from '../../src/oauth/token-endpoint.js'
import { CATALOG } from '../../src/providers/catalog.js'
import { resolveProviders } from '../../src/providers/providers-file.js'
import {
  resolveEntry,
  validateEntry,
  type CredentialExchangeProvider,
  type OAuth2Provider,
  type ProviderEntry,
} from '../../src/providers/schema.js'
import { formatSchemaErrors } from '../../src/validation.js'

/** Problems of a catalog: schema errors and resolution errors, each with its path. */
function checkCatalog(catalog: Record<string, ProviderEntry>): string[] {
  const problems: string[] = []
  for (const [key, entry] of Object.entries(catalog)) {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(key)) problems.push(`${key}: not a valid provider key`)
    if (!validateEntry(entry)) {
      problems.push(...formatSchemaErrors(validateEntry.errors, `catalog.${key}`))
      continue
    }
    // Catalog entries hold no credentials; OAuth ones get them from the providers file.
    const withCredentials = entry.mode === 'oauth2' ? { ...entry, clientId: 'id', clientSecret: 'secret' } : entry
    resolveEntry(key, withCredentials, `catalog.${key}`, problems)
    if (!entry.displayName) problems.push(`catalog.${key}.displayName: required in the catalog`)
    if (!entry.docsUrl) problems.push(`catalog.${key}.docsUrl: required in the catalog`)
    if ('clientId' in entry || 'clientSecret' in entry) problems.push(`catalog.${key}: holds credentials`)
  }
  return problems
}

describe('provider catalog', () => {
  it('has the five launch providers, every entry valid', () => {
    expect(Object.keys(CATALOG).sort()).toEqual(['chatwork', 'interact', 'livechat', 'respondio', 'zendesk-chat'])
    expect(checkCatalog(CATALOG)).toEqual([])
  })

  it('fails on a malformed entry, naming the path', () => {
    const broken: Record<string, ProviderEntry> = {
      ...CATALOG,
      chatwork: { ...CATALOG.chatwork, tokenUrl: 'http://oauth.chatwork.com/token' },
      livechat: { ...CATALOG.livechat, revocation: 'delete-ish' } as unknown as ProviderEntry,
      'zendesk-chat': { ...CATALOG['zendesk-chat'], params: { subdomain: { pattern: '[a-z]+' } } },
      respondio: { ...CATALOG.respondio, credentialFields: undefined },
      interact: { ...CATALOG.interact, tokenURL: 'https://x/token' } as unknown as ProviderEntry,
    }
    expect(checkCatalog(broken)).toEqual(
      expect.arrayContaining([
        'catalog.chatwork.tokenUrl: must use https (plain http is accepted for loopback hosts only)',
        'catalog.livechat.revocation: must be one of rfc7009, bearer_delete, none',
        'catalog.zendesk-chat.params.subdomain.pattern: must be anchored (^...$)',
        'catalog.respondio.credentialFields: required',
        'catalog.interact: unknown key "tokenURL"',
      ]),
    )
  })

  it('keeps the literal URLs and quirks of each provider', () => {
    expect(CATALOG.chatwork).toMatchObject({
      authorizationUrl: 'https://www.chatwork.com/packages/oauth2/login.php',
      tokenUrl: 'https://oauth.chatwork.com/token',
      tokenEndpointAuthMethod: 'client_secret_basic',
      pkce: true,
      revocation: 'none',
    })
    expect(CATALOG.chatwork?.scopes).toContain('offline_access')
    expect(CATALOG.livechat).toMatchObject({
      authorizationUrl: 'https://accounts.livechat.com/',
      tokenUrl: 'https://accounts.livechat.com/v2/token',
      revocation: 'bearer_delete',
      sendScopes: false,
      responseScopeSeparator: ',',
      tokenEndpointAuthMethod: 'client_secret_post',
    })
    expect(CATALOG['zendesk-chat']).toMatchObject({
      authorizationUrl: 'https://{subdomain}.zendesk.com/oauth2/chat/authorizations/new',
      tokenUrl: 'https://{subdomain}.zendesk.com/oauth2/chat/token',
      pkce: false,
      scopes: ['read', 'write', 'chat'],
    })
    expect(CATALOG.respondio).toMatchObject({
      mode: 'api_key',
      validationUrl: 'https://api.respond.io/v2/space/user?limit=1',
    })
    expect(CATALOG.interact).toMatchObject({
      mode: 'credential_exchange',
      tokenUrl: 'https://{apiDomain}/token',
      tokenRequestHeaders: { 'X-Tenant': '{tenantGuid}' },
      userSuppliedHosts: true,
    })
  })

  it('lets a providers-file entry with a catalog key give only credentials, and override any field', () => {
    const providers = resolveProviders(
      {
        providers: {
          chatwork: { clientId: 'cw-id', clientSecret: 'cw-secret', scopes: ['rooms.all:read', 'offline_access'] },
          livechat: { clientId: 'lc-id', clientSecret: 'lc-secret' },
          'zendesk-chat': { clientId: 'z-id', clientSecret: 'z-secret' },
          respondio: {},
          interact: {},
        },
      },
      {},
    )
    expect(providers.get('chatwork')).toMatchObject({
      mode: 'oauth2',
      clientId: 'cw-id',
      scopes: ['rooms.all:read', 'offline_access'],
      tokenUrl: 'https://oauth.chatwork.com/token',
    })
    expect(providers.get('zendesk-chat')).toMatchObject({
      params: { subdomain: { pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } },
    })
    expect(providers.get('respondio')?.mode).toBe('api_key')
    expect(() => resolveProviders({ providers: { chatwork: {} } }, {})).toThrow(/providers.chatwork.clientId: required/)
    expect(() => resolveProviders({ providers: { respondio: { clientSecret: 'x' } } }, {})).toThrow(
      /take no clientId\/clientSecret/,
    )
  })

  describe('the URLs the real catalog entries produce', () => {
    const providers = resolveProviders(
      {
        providers: {
          chatwork: { clientId: 'cw-id', clientSecret: 'cw-secret' },
          livechat: { clientId: 'lc-id', clientSecret: 'lc-secret' },
          'zendesk-chat': { clientId: 'z-id', clientSecret: 'z-secret' },
          interact: {},
        },
      },
      {},
    )
    const oauth2 = (key: string) => providers.get(key) as OAuth2Provider
    const authorize = (key: string, params: Record<string, string> = {}) =>
      new URL(
        buildAuthorizationUrl(oauth2(key), {
          redirectUri: `https://broker.example.com/oauth/callback/${key}`,
          state: 'st',
          codeChallenge: 'cc',
          scopes: oauth2(key).scopes,
          params,
        }),
      )
    const refresh = (key: string, params: Record<string, string> = {}) =>
      buildTokenRequest(oauth2(key), params, { grant_type: 'refresh_token', refresh_token: 'rt' })

    it('Zendesk Chat with subdomain acme: Chat OAuth on acme.zendesk.com, secret in the form body, no PKCE', () => {
      const url = authorize('zendesk-chat', { subdomain: 'acme' })
      expect(`${url.origin}${url.pathname}`).toBe('https://acme.zendesk.com/oauth2/chat/authorizations/new')
      expect(Object.fromEntries(url.searchParams)).toEqual({
        response_type: 'code',
        client_id: 'z-id',
        redirect_uri: 'https://broker.example.com/oauth/callback/zendesk-chat',
        scope: 'read write chat',
        state: 'st',
      })
      const token = refresh('zendesk-chat', { subdomain: 'acme' })
      expect(token.url).toBe('https://acme.zendesk.com/oauth2/chat/token')
      expect(token.headers).toEqual({ 'content-type': 'application/x-www-form-urlencoded' })
      expect(Object.fromEntries(new URLSearchParams(token.body))).toEqual({
        grant_type: 'refresh_token',
        refresh_token: 'rt',
        client_id: 'z-id',
        client_secret: 'z-secret',
      })
    })

    it('Chatwork: login.php with S256, token at oauth.chatwork.com with HTTP Basic', () => {
      const url = authorize('chatwork')
      expect(`${url.origin}${url.pathname}`).toBe('https://www.chatwork.com/packages/oauth2/login.php')
      expect(url.searchParams.get('scope')).toBe('users.profile.me:read rooms.all:read_write offline_access')
      expect([url.searchParams.get('code_challenge'), url.searchParams.get('code_challenge_method')]).toEqual([
        'cc',
        'S256',
      ])
      const token = refresh('chatwork')
      expect(token.url).toBe('https://oauth.chatwork.com/token')
      expect(token.headers.authorization).toBe(`Basic ${Buffer.from('cw-id:cw-secret').toString('base64')}`)
      expect(token.body).toBe('grant_type=refresh_token&refresh_token=rt')
    })

    it('LiveChat: the root path with S256 and no scope, token and revocation at /v2/token', () => {
      const url = authorize('livechat')
      expect(url.href.split('?')[0]).toBe('https://accounts.livechat.com/')
      expect(url.searchParams.has('scope')).toBe(false)
      expect(url.searchParams.get('code_challenge_method')).toBe('S256')
      expect(refresh('livechat').url).toBe('https://accounts.livechat.com/v2/token')
      expect(oauth2('livechat').revocationUrl).toBe('https://accounts.livechat.com/v2/token')
    })

    it('Interact: https://{ApiDomain}/token with the X-Tenant header', () => {
      const interact = providers.get('interact') as CredentialExchangeProvider
      const token = buildTokenRequest(
        interact,
        { apiDomain: 'us-trials-lb-api-01.interactgo.com', tenantGuid: 'e822a190-a116-4779-ad0a-87631b51898a' },
        { grant_type: 'refresh_token', refresh_token: 'rt' },
      )
      expect(token.url).toBe('https://us-trials-lb-api-01.interactgo.com/token')
      expect(token.headers).toEqual({
        'X-Tenant': 'e822a190-a116-4779-ad0a-87631b51898a',
        'content-type': 'application/x-www-form-urlencoded',
      })
    })
  })
})
