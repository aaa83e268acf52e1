// Token endpoint requests (RFC 6749 §4.1.3 code exchange, §6 refresh) as three pieces:
// build the request (pure), send it (oauth/http.ts), check the response (pure). Provider
// quirks are data on the provider definition: client authentication, body encoding,
// `expires_in` as number or string or missing, scope separators, extra fields.
import type { TokenEndpoint } from '../providers/schema.js'
import type { ProviderRequest, ProviderResponse } from './http.js'
import { fillHeaders, fillPlaceholders } from '../providers/templates.js'
import { failureOf, oauthErrorCode, ProviderError } from './provider-error.js'

export type Grant =
  | { grant_type: 'authorization_code'; code: string; redirect_uri: string; code_verifier?: string }
  | { grant_type: 'refresh_token'; refresh_token: string }

/** RFC 6749 §2.3.1: client_secret_basic form-encodes id and secret before base64. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

export function clientSecretBasic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`
}

/** Client authentication and encoding of a request to one of the provider's endpoints. */
export function encodeProviderBody(
  provider: TokenEndpoint,
  url: string,
  fields: Record<string, string>,
  extraHeaders: Record<string, string> = {},
): ProviderRequest {
  const method = 'POST'
  const headers: Record<string, string> = { ...extraHeaders }
  const body: Record<string, string> = { ...fields }
  if (provider.tokenEndpointAuthMethod === 'client_secret_basic') {
    headers.authorization = clientSecretBasic(provider.clientId, provider.clientSecret)
  } else if (provider.tokenEndpointAuthMethod === 'client_secret_post') {
    body.client_id = provider.clientId
    body.client_secret = provider.clientSecret
  }
  if (provider.tokenRequestEncoding === 'json') {
    headers['content-type'] = 'application/json'
    return { method, url, headers, body: JSON.stringify(body) }
  }
  headers['content-type'] = 'application/x-www-form-urlencoded'
  return { method, url, headers, body: new URLSearchParams(body).toString() }
}

export function buildTokenRequest(
  provider: TokenEndpoint,
  params: Record<string, string>,
  grant: Grant | Record<string, string>,
): ProviderRequest {
  const fields: Record<string, string> = {}
  for (const [k, v] of Object.entries(grant)) if (v !== undefined) fields[k] = v
  return encodeProviderBody(
    provider,
    fillPlaceholders(provider.tokenUrl, params),
    fields,
    fillHeaders(provider.tokenRequestHeaders, params),
  )
}

/** What the broker keeps from a successful token response. */
export interface TokenSet {
  accessToken: string
  tokenType: string
  /** undefined: the provider did not say (no expiry known). */
  expiresInSeconds: number | undefined
  refreshToken: string | undefined
  refreshTokenExpiresInSeconds: number | undefined
  /** undefined: the response named no scopes (the requested ones stand). */
  scopes: string[] | undefined
  /** Other non-secret scalar fields (account ids, ...). */
  metadata: Record<string, string | number | boolean>
}

const KNOWN_FIELDS = new Set([
  'access_token',
  'token_type',
  'expires_in',
  'refresh_token',
  'refresh_token_expires_in',
  'scope',
])
/** Extra fields never kept as metadata: anything that may be a credential. */
const SECRET_FIELD = /token|secret|password|code|key|credential|assertion/i

/** RFC 6749 §5.1 / §5.2, leniently where providers differ and strictly where it matters. */
export function parseTokenResponse(provider: TokenEndpoint, res: ProviderResponse): TokenSet {
  if (res.status >= 500)
    throw new ProviderError('transient', `http_${res.status}`, `the provider answered ${res.status}`)
  const body = jsonBody(res)
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProviderError('transient', 'malformed_response', 'the provider answered with JSON that is not an object')
  }
  const json = body as Record<string, unknown>
  if (res.status !== 200 || json.error !== undefined) {
    if (res.status >= 300 && res.status < 400)
      throw new ProviderError('transient', `http_${res.status}`, 'the provider answered with a redirect')
    const code = oauthErrorCode(json.error, res.status)
    throw new ProviderError(failureOf(code), code, `the provider refused the request (${code})`)
  }
  const accessToken = json.access_token
  if (typeof accessToken !== 'string' || accessToken.length === 0 || accessToken.length > 16_384) {
    throw new ProviderError('transient', 'malformed_response', 'the token response has no usable access_token')
  }
  const refreshToken = json.refresh_token
  if (
    refreshToken !== undefined &&
    refreshToken !== null &&
    (typeof refreshToken !== 'string' || refreshToken.length === 0 || refreshToken.length > 16_384)
  ) {
    throw new ProviderError('transient', 'malformed_response', 'the token response has a malformed refresh_token')
  }
  const tokenType = json.token_type === undefined ? 'Bearer' : json.token_type
  if (typeof tokenType !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(tokenType)) {
    throw new ProviderError('transient', 'malformed_response', 'the token response has a malformed token_type')
  }
  const scope = json.scope
  if (scope !== undefined && scope !== null && typeof scope !== 'string') {
    throw new ProviderError('transient', 'malformed_response', 'the token response has a malformed scope')
  }
  const metadata = metadataOf(provider, json)
  return {
    accessToken,
    // Bearer tokens are case-insensitive in type (RFC 6750); normalize the common one.
    tokenType: tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType,
    expiresInSeconds: seconds(json.expires_in, 'expires_in') ?? provider.defaultExpiresInSeconds,
    refreshToken: typeof refreshToken === 'string' ? refreshToken : undefined,
    refreshTokenExpiresInSeconds: seconds(json.refresh_token_expires_in, 'refresh_token_expires_in'),
    scopes:
      typeof scope === 'string'
        ? scope
            .split(provider.responseScopeSeparator)
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    metadata,
  }
}

/** The body as JSON; a 4xx in plain text (Interact answers some errors so) is a refusal, not an outage. */
function jsonBody(res: ProviderResponse): unknown {
  try {
    return JSON.parse(res.body)
  } catch {
    if ((res.status === 400 || res.status === 401) && res.contentType.startsWith('text/plain'))
      throw new ProviderError(
        'configuration',
        `http_${res.status}`,
        `the provider refused the request (${res.status}, not JSON)`,
      )
    throw new ProviderError(
      'transient',
      'malformed_response',
      `the provider answered ${res.status} with a body that is not JSON (${res.contentType || 'no content type'})`,
    )
  }
}

/** Extra response fields kept as connection metadata: short scalars, never a secret-named one. */
function metadataOf(provider: TokenEndpoint, json: Record<string, unknown>): TokenSet['metadata'] {
  const metadata: TokenSet['metadata'] = {}
  for (const [k, v] of Object.entries(json)) {
    if (KNOWN_FIELDS.has(k) || SECRET_FIELD.test(k)) continue
    if (provider.metadataFields && !provider.metadataFields.includes(k)) continue
    if ((typeof v === 'string' && v.length <= 512) || typeof v === 'number' || typeof v === 'boolean') metadata[k] = v
  }
  return metadata
}

/** A lifetime in seconds, as a JSON number or a numeric string (Chatwork quotes it). */
function seconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const n = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 10 * 365 * 86_400) {
    throw new ProviderError('transient', 'malformed_response', `the token response has a malformed ${field}`)
  }
  return Math.floor(n)
}
