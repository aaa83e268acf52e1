// The authorization request the broker sends the user's browser to (RFC 6749 §4.1.1,
// PKCE per RFC 7636). Built from configuration only: the redirect URI comes from
// PUBLIC_URL, never from the Host header (docs/security.md, checklist item 4).
import type { OAuth2Provider } from '../providers/schema.js'
import { fillPlaceholders } from '../providers/templates.js'

export function redirectUriFor(publicUrl: string, providerKey: string): string {
  return `${publicUrl}/oauth/callback/${providerKey}`
}

export function buildAuthorizationUrl(
  provider: OAuth2Provider,
  request: {
    redirectUri: string
    state: string
    codeChallenge: string | undefined
    scopes: string[]
    params: Record<string, string>
  },
): string {
  const url = new URL(fillPlaceholders(provider.authorizationUrl, request.params))
  const query = url.searchParams
  for (const [k, v] of Object.entries(provider.authorizationParams)) query.set(k, v)
  query.set('response_type', 'code')
  query.set('client_id', provider.clientId)
  query.set('redirect_uri', request.redirectUri)
  if (provider.sendScopes && request.scopes.length) query.set('scope', request.scopes.join(provider.scopeSeparator))
  query.set('state', request.state)
  if (provider.pkce && request.codeChallenge) {
    query.set('code_challenge', request.codeChallenge)
    // Always explicit: some providers default to `plain` (LiveChat).
    query.set('code_challenge_method', 'S256')
  }
  return url.href
}
