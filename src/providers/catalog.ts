// The built-in provider catalog: each launch provider's real behaviour as data (facts and
// sources: docs/providers.md). A providers-file entry whose key is a catalog key inherits
// the entry and needs only credentials; any field may be overridden. URLs are literal
// (never a base with paths appended); `{placeholders}` are filled from validated values.
// test/providers/catalog.test.ts validates every entry against the entry schema.
import type { ProviderEntry } from './schema.js'

/** A DNS label: the `acme` of acme.zendesk.com. */
const SUBDOMAIN = '^[a-z0-9][a-z0-9-]{0,62}$'

/** A DNS host name (letters, digits, inner hyphens per label; at most 253 characters), optionally with a port. */
const HOST_AND_PORT =
  '^(?=[^:]{1,253}(:|$))' + // at most 253 characters before the port
  '([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*' + // labels and their dots
  '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?' + // the last label
  '(:[0-9]{1,5})?$'

export const CATALOG: Record<string, ProviderEntry> = {
  chatwork: {
    mode: 'oauth2',
    displayName: 'Chatwork',
    docsUrl: 'https://developer.chatwork.com/docs/oauth',
    // The consent page; Chatwork has no /oauth2/authorize.
    authorizationUrl: 'https://www.chatwork.com/packages/oauth2/login.php',
    tokenUrl: 'https://oauth.chatwork.com/token',
    revocation: 'none',
    tokenEndpointAuthMethod: 'client_secret_basic',
    tokenRequestEncoding: 'form',
    pkce: true,
    // offline_access (confidential clients only) makes the refresh token long-lived.
    scopes: ['users.profile.me:read', 'rooms.all:read_write', 'offline_access'],
    scopeSeparator: ' ',
  },

  livechat: {
    mode: 'oauth2',
    displayName: 'LiveChat',
    docsUrl: 'https://platform.text.com/docs/authorization/agent-authorization',
    // The root path is the authorization endpoint.
    authorizationUrl: 'https://accounts.livechat.com/',
    tokenUrl: 'https://accounts.livechat.com/v2/token',
    // DELETE /v2/token with the token as Bearer revokes the access/refresh pair.
    revocationUrl: 'https://accounts.livechat.com/v2/token',
    revocation: 'bearer_delete',
    tokenEndpointAuthMethod: 'client_secret_post',
    tokenRequestEncoding: 'form',
    // LiveChat's default method is `plain`; the broker always sends S256 explicitly.
    pkce: true,
    // Scopes are configured per app in LiveChat's console, not sent.
    sendScopes: false,
    scopes: [],
    responseScopeSeparator: ',',
    // Tokens carry a region prefix (dal:, fra:) and are kept byte for byte.
    metadataFields: ['account_id', 'organization_id'],
  },

  'zendesk-chat': {
    mode: 'oauth2',
    displayName: 'Zendesk Chat',
    docsUrl: 'https://developer.zendesk.com/documentation/live-chat/getting-started/auth/',
    // Chat OAuth, not Zendesk Support OAuth: Support tokens cannot call the Chat API.
    authorizationUrl: 'https://{subdomain}.zendesk.com/oauth2/chat/authorizations/new',
    tokenUrl: 'https://{subdomain}.zendesk.com/oauth2/chat/token',
    revocation: 'none',
    tokenEndpointAuthMethod: 'client_secret_post',
    tokenRequestEncoding: 'form',
    pkce: false,
    scopes: ['read', 'write', 'chat'],
    scopeSeparator: ' ',
    params: { subdomain: { pattern: SUBDOMAIN, description: 'the Zendesk subdomain: acme for acme.zendesk.com' } },
  },

  respondio: {
    mode: 'api_key',
    displayName: 'respond.io',
    docsUrl: 'https://docs.respond.io/',
    // Workspace API access tokens (Settings → Integrations → Developer API): no expiry,
    // no refresh, no revocation API.
    credentialFields: [
      {
        name: 'apiKey',
        label: 'Workspace API access token',
        kind: 'secret',
        pattern: '^[\\x21-\\x7e]{16,4096}$',
        help: 'respond.io → Settings → Integrations → Developer API',
      },
    ],
    // The cheapest authenticated call (respond.io's own SDK uses it as a health check).
    validationUrl: 'https://api.respond.io/v2/space/user?limit=1',
  },

  interact: {
    mode: 'credential_exchange',
    displayName: 'Interact',
    docsUrl: 'https://developer.interactsoftware.com/reference/key-and-secret-authentication',
    exchange: 'interact',
    credentialFields: [
      { name: 'intranetUrl', label: 'Intranet address', kind: 'url', help: 'https://yourcompany.interactgo.com' },
      { name: 'apiKey', label: 'API key', kind: 'text', pattern: '^[\\x21-\\x7e]{1,512}$' },
      { name: 'apiSecret', label: 'API secret', kind: 'secret', pattern: '^[\\x21-\\x7e]{1,1024}$' },
    ],
    // ApiDomain and TenantGuid come from {intranetUrl}/info.
    tokenUrl: 'https://{apiDomain}/token',
    tokenEndpointAuthMethod: 'none',
    tokenRequestEncoding: 'form',
    tokenRequestHeaders: { 'X-Tenant': '{tenantGuid}' },
    apiHeaders: { 'X-Tenant': '{tenantGuid}' },
    params: {
      // A bare host, checked again as a user-supplied URL (https, no internal address).
      apiDomain: { pattern: HOST_AND_PORT, description: 'ApiDomain from the intranet /info' },
      tenantGuid: {
        pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
        description: 'TenantGuid from the intranet /info',
      },
    },
    userSuppliedHosts: true,
  },
}
