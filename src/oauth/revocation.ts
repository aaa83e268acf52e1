// Token revocation at the provider (RFC 7009): the refresh token first, which ends the
// whole grant at most providers, then the access token. Outcomes are reported, never
// thrown: local deletion proceeds whatever the provider says (SECURITY.md item 17).
import type { OAuth2Provider } from '../providers/schema.js'
import { sendProviderRequest, type ProviderHttpOptions } from './http.js'
import { fillPlaceholders } from './placeholders.js'
import { ProviderError } from './provider-error.js'
import { encodeProviderBody } from './token-endpoint.js'

export type RevocationOutcome = 'revoked' | 'failed' | 'not_supported' | 'no_token'

export interface RevocationResult {
  refreshToken: RevocationOutcome
  accessToken: RevocationOutcome
  /** Why a revocation failed (a stable code, never a provider body). */
  errors: string[]
}

export async function revokeAtProvider(
  provider: OAuth2Provider,
  params: Record<string, string>,
  tokens: { accessToken: string | undefined; refreshToken: string | undefined },
  http: ProviderHttpOptions,
): Promise<RevocationResult> {
  const result: RevocationResult = { refreshToken: 'no_token', accessToken: 'no_token', errors: [] }
  if (!provider.revocationUrl) {
    return { refreshToken: tokens.refreshToken ? 'not_supported' : 'no_token', accessToken: tokens.accessToken ? 'not_supported' : 'no_token', errors: [] }
  }
  const url = fillPlaceholders(provider.revocationUrl, params)
  for (const [kind, token] of [['refresh_token', tokens.refreshToken], ['access_token', tokens.accessToken]] as const) {
    if (!token) continue
    const key = kind === 'refresh_token' ? 'refreshToken' : 'accessToken'
    try {
      const res = await sendProviderRequest(encodeProviderBody(provider, url, { token, token_type_hint: kind }), http)
      // RFC 7009 §2.2: 200 whether or not the token was valid; 503 means "try later".
      if (res.status === 200) result[key] = 'revoked'
      else {
        result[key] = 'failed'
        result.errors.push(`${kind}: http_${res.status}`)
      }
    } catch (err) {
      result[key] = 'failed'
      result.errors.push(`${kind}: ${err instanceof ProviderError ? err.code : 'error'}`)
    }
  }
  return result
}
