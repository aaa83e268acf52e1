// Token revocation at the provider: RFC 7009 (POST the token with its type hint and the
// client's authentication) or a provider's own style (LiveChat: DELETE with the token as
// Bearer, which revokes the access/refresh pair). The refresh token goes first: it ends
// the whole grant at most providers. Outcomes are reported, never thrown: local deletion
// proceeds whatever the provider says (docs/security.md, checklist item 17).
import type { OAuth2Provider } from '../providers/schema.js'
import { sendProviderRequest, type ProviderHttpOptions, type ProviderRequest } from './http.js'
import { fillPlaceholders } from '../providers/templates.js'
import { ProviderError } from './provider-error.js'
import { encodeProviderBody } from './token-endpoint.js'

export type RevocationOutcome = 'revoked' | 'failed' | 'not_supported' | 'no_token'

export interface RevocationResult {
  refreshToken: RevocationOutcome
  accessToken: RevocationOutcome
  /** Why a revocation failed (a stable code, never a provider body). */
  errors: string[]
}

type Tokens = { accessToken: string | undefined; refreshToken: string | undefined }

export function notSupported(tokens: Tokens): RevocationResult {
  return {
    refreshToken: tokens.refreshToken ? 'not_supported' : 'no_token',
    accessToken: tokens.accessToken ? 'not_supported' : 'no_token',
    errors: [],
  }
}

/** Does the provider have a revocation endpoint the broker calls? */
export function supportsRevocation(provider: OAuth2Provider): provider is OAuth2Provider & { revocationUrl: string } {
  return provider.revocation !== 'none' && provider.revocationUrl !== undefined
}

export async function revokeAtProvider(
  provider: OAuth2Provider,
  params: Record<string, string>,
  tokens: Tokens,
  http: ProviderHttpOptions,
): Promise<RevocationResult> {
  if (!supportsRevocation(provider)) return notSupported(tokens)
  const url = fillPlaceholders(provider.revocationUrl, params)
  const result: RevocationResult = { refreshToken: 'no_token', accessToken: 'no_token', errors: [] }
  const build = (kind: 'refresh_token' | 'access_token', token: string): ProviderRequest =>
    provider.revocation === 'bearer_delete'
      ? { method: 'DELETE', url, headers: { authorization: `Bearer ${token}` } }
      : encodeProviderBody(provider, url, { token, token_type_hint: kind })
  for (const [kind, token] of [
    ['refresh_token', tokens.refreshToken],
    ['access_token', tokens.accessToken],
  ] as const) {
    if (!token) continue
    const key = kind === 'refresh_token' ? 'refreshToken' : 'accessToken'
    try {
      const res = await sendProviderRequest(build(kind, token), http)
      // RFC 7009 §2.2: 200 whether or not the token was valid; 503 means "try later".
      if (res.status >= 200 && res.status < 300) result[key] = 'revoked'
      else {
        result[key] = 'failed'
        result.errors.push(`${kind}: http_${res.status}`)
      }
    } catch (err) {
      result[key] = 'failed'
      result.errors.push(`${kind}: ${err instanceof ProviderError ? err.code : 'error'}`)
    }
    // A pair revoked through its refresh token takes the access token with it.
    if (provider.revocation === 'bearer_delete' && kind === 'refresh_token' && result.refreshToken === 'revoked') {
      if (tokens.accessToken) result.accessToken = 'revoked'
      break
    }
  }
  return result
}
