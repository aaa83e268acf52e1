// The two auth modes that are not OAuth: an API key the user supplies (checked with a cheap
// authenticated call), and a credential exchange (Interact: discover the tenant from the
// intranet, trade key and secret for refreshable tokens). Both end in a TokenSet like the
// authorization-code grant, plus the non-secret params later calls need.
import { BrokerError } from '../errors.js'
import type { ApiKeyProvider, CredentialExchangeProvider } from '../providers/schema.js'
import { sendProviderRequest, type ProviderHttpOptions, type ProviderRequest, type ProviderResponse } from './http.js'
import { checkUserSuppliedUrl } from './network.js'
import { ProviderError } from './provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from './token-endpoint.js'

/** The user's input is wrong (before or at the provider): shown to the user, not retried. */
export class CredentialsRefused extends BrokerError<'invalid_credentials'> {
  constructor(readonly reason: string) {
    super('invalid_credentials', reason)
  }
}

export interface ObtainedCredentials {
  tokens: TokenSet
  /** Non-secret values kept on the connection (URL and header placeholders). */
  params: Record<string, string>
}

/** Checks each declared field is present, a string, and matches its pattern. */
export function checkCredentialFields(
  provider: ApiKeyProvider | CredentialExchangeProvider,
  credentials: Record<string, unknown>,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of Object.keys(credentials)) {
    if (!provider.credentialFields.some((f) => f.name === name))
      throw new CredentialsRefused(`${name}: not a credential of this provider`)
  }
  for (const field of provider.credentialFields) {
    const value = credentials[field.name]
    if (typeof value !== 'string' || value.length === 0) throw new CredentialsRefused(`${field.name}: required`)
    if (value.length > 4096) throw new CredentialsRefused(`${field.name}: too long`)
    if (field.pattern && !new RegExp(field.pattern).test(value))
      throw new CredentialsRefused(`${field.name}: malformed`)
    out[field.name] = value
  }
  return out
}

export async function obtainApiKey(
  provider: ApiKeyProvider,
  credentials: Record<string, string>,
  http: ProviderHttpOptions,
): Promise<ObtainedCredentials> {
  const apiKey = credentials.apiKey!
  if (provider.validationUrl) {
    const res = await sendProviderRequest(
      { method: 'GET', url: provider.validationUrl, headers: { authorization: `Bearer ${apiKey}` } },
      http,
    )
    if (res.status === 401 || res.status === 403) throw new CredentialsRefused('the provider refused this key')
    if (res.status < 200 || res.status >= 300)
      throw new ProviderError('transient', `http_${res.status}`, 'the provider could not check the key')
  }
  return {
    tokens: {
      accessToken: apiKey,
      tokenType: 'Bearer',
      expiresInSeconds: undefined,
      refreshToken: undefined,
      refreshTokenExpiresInSeconds: undefined,
      scopes: undefined,
      metadata: {},
    },
    params: {},
  }
}

/**
 * Interact (Interact Software intranets): GET {intranetUrl}/info gives ApiDomain (a bare
 * host) and TenantGuid; POST https://{ApiDomain}/token with X-Tenant trades
 * `code={key}__{secret}&context=KeySecret` for access and refresh tokens. Both hosts are
 * user input: everything /info says is checked before it goes into a URL or a header.
 */
export async function exchangeInteract(
  provider: CredentialExchangeProvider,
  credentials: Record<string, string>,
  http: ProviderHttpOptions & { allowPrivate: boolean },
): Promise<ObtainedCredentials> {
  const intranetUrl = credentials.intranetUrl!.replace(/\/+$/, '')
  const why = checkUserSuppliedUrl(intranetUrl, http.allowPrivate)
  if (why) throw new CredentialsRefused(`intranetUrl ${why}`)

  const info = await sendToUserHost({ method: 'GET', url: `${intranetUrl}/info`, headers: {} }, http, 'intranetUrl')
  if (info.status === 404) throw new CredentialsRefused('intranetUrl is not an Interact intranet (no /info)')
  if (info.status !== 200)
    throw new ProviderError('transient', `http_${info.status}`, 'the intranet did not answer /info')
  const params = readInteractInfo(info.body)
  for (const [name, field] of [
    ['apiDomain', 'ApiDomain'],
    ['tenantGuid', 'TenantGuid'],
  ] as const) {
    const spec = provider.params[name]
    if (!spec || !new RegExp(spec.pattern).test(params[name]))
      throw new CredentialsRefused(`the intranet's /info gave an unusable ${field}`)
  }
  const apiWhy = checkUserSuppliedUrl(`https://${params.apiDomain}`, http.allowPrivate)
  if (apiWhy) throw new CredentialsRefused(`the intranet's ApiDomain ${apiWhy}`)

  const res = await sendToUserHost(
    buildTokenRequest(provider, params, {
      grant_type: 'authorization_code',
      code: `${credentials.apiKey}__${credentials.apiSecret}`,
      context: 'KeySecret',
    }),
    http,
    "the intranet's ApiDomain",
  )
  try {
    const tokens = parseTokenResponse(provider, res)
    return { tokens: { ...tokens, metadata: { ...tokens.metadata, intranetUrl } }, params }
  } catch (err) {
    // A refusal (JSON error or Interact's text/plain 400) is about the key and secret.
    if (err instanceof ProviderError && err.failure !== 'transient')
      throw new CredentialsRefused('the intranet refused this key and secret')
    throw err
  }
}

/** The tenant named by an intranet's /info: `{ApiDomain, TenantGuid}`, both strings. */
function readInteractInfo(body: string): { apiDomain: string; tenantGuid: string } {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    throw new CredentialsRefused('intranetUrl is not an Interact intranet (/info is not JSON)')
  }
  const info =
    json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {}
  if (typeof info.ApiDomain !== 'string' || typeof info.TenantGuid !== 'string') {
    throw new CredentialsRefused('intranetUrl is not an Interact intranet (/info names no ApiDomain and TenantGuid)')
  }
  return { apiDomain: info.ApiDomain, tenantGuid: info.TenantGuid }
}

/**
 * A user-supplied host that resolves to an internal address, or to nothing at all (a typo),
 * is the user's input refused, not an outage.
 */
async function sendToUserHost(
  req: ProviderRequest,
  http: ProviderHttpOptions,
  what: string,
): Promise<ProviderResponse> {
  try {
    return await sendProviderRequest(req, http)
  } catch (err) {
    if (err instanceof ProviderError && err.code === 'blocked_address')
      throw new CredentialsRefused(`${what} resolves to an internal address`)
    if (err instanceof ProviderError && err.code === 'host_not_found')
      throw new CredentialsRefused(`${what} names a host that does not exist`)
    throw err
  }
}

type Exchange = (
  provider: CredentialExchangeProvider,
  credentials: Record<string, string>,
  http: ProviderHttpOptions & { allowPrivate: boolean },
) => Promise<ObtainedCredentials>

/** Credential exchanges by kind (a provider's `exchange`): a new kind is a new entry here. */
export const CREDENTIAL_EXCHANGES: Record<CredentialExchangeProvider['exchange'], Exchange> = {
  interact: exchangeInteract,
}

/** Checks the user-supplied credentials, then checks (API key) or exchanges them with the provider. */
export function obtainCredentials(
  provider: ApiKeyProvider | CredentialExchangeProvider,
  credentials: Record<string, unknown>,
  http: ProviderHttpOptions & { allowPrivate: boolean },
): Promise<ObtainedCredentials> {
  const checked = checkCredentialFields(provider, credentials)
  if (provider.mode === 'api_key') return obtainApiKey(provider, checked, http)
  return CREDENTIAL_EXCHANGES[provider.exchange](provider, checked, http)
}
