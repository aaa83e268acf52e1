// POST /v1/connections: a connection straight from credentials, with no browser: an API key,
// a credential exchange (both checked with the provider first), or OAuth tokens imported
// from another system (taken as they are).
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { problem } from '../errors.js'
import { CredentialsRefused, obtainCredentials, type ObtainedCredentials } from '../oauth/credentials.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { ProviderError } from '../oauth/provider-error.js'
import type { TokenSet } from '../oauth/token-endpoint.js'
import type { ApiKeyProvider, CredentialExchangeProvider, Provider } from '../providers/schema.js'
import { checkParams } from '../providers/templates.js'
import { resolveNamespace } from '../service-clients/namespaces.js'
import type { ServiceClient } from '../service-clients/service-clients.js'
import type { Confirmations } from './confirmation.js'
import { connectionView, type ConnectionStore, type ConnectionView } from './connection-store.js'

export interface NewConnection {
  provider: string
  ownerId: string
  credentials: Record<string, unknown>
  params?: Record<string, string>
  namespace?: string
}

export interface CredentialConnectionsOptions {
  store: ConnectionStore
  /** Where a connection becomes usable (no confirmation here: the service itself supplied the credentials). */
  confirmations: Pick<Confirmations, 'usable'>
  providers: Map<string, Provider>
  network: ProviderNetwork
  clock: Clock
  log: Logger
}

/** Checks or exchanges user-supplied credentials with the provider (the form and the API share it). */
export function obtain(
  network: ProviderNetwork,
  provider: ApiKeyProvider | CredentialExchangeProvider,
  credentials: Record<string, unknown>,
) {
  return obtainCredentials(provider, credentials, {
    ...network.http(provider, 'credentials'),
    allowPrivate: network.allowPrivate,
  })
}

export class CredentialConnections {
  constructor(private readonly deps: CredentialConnectionsOptions) {}

  async create(caller: ServiceClient, input: NewConnection): Promise<ConnectionView> {
    const provider = this.deps.providers.get(input.provider)
    if (!provider) throw problem('unknown_provider', `no provider "${input.provider}" is configured`)
    const namespace = resolveNamespace(caller.namespaces, input.namespace)
    const obtained =
      provider.mode === 'oauth2' ? this.imported(provider.params, input) : await this.checked(provider, input)
    const scopes = provider.mode === 'oauth2' ? provider.scopes : []
    const row = await this.deps.store.create({
      provider,
      ownerId: input.ownerId,
      namespace,
      clientId: caller.clientId,
      params: obtained.params,
      scopes,
      tokens: obtained.tokens,
    })
    this.deps.log.info(
      { connectionId: row.id, provider: provider.key, namespace, clientId: caller.clientId },
      'connection created from credentials',
    )
    this.deps.confirmations.usable(row, 'created')
    return connectionView(row)
  }

  /** OAuth tokens from another system, with the provider's params. */
  private imported(specs: Parameters<typeof checkParams>[0], input: NewConnection): ObtainedCredentials {
    const params = input.params ?? {}
    const paramProblems = checkParams(specs, params)
    if (paramProblems.length) throw problem('invalid_params', paramProblems.join('; '))
    return { tokens: importedTokens(input.credentials, this.deps.clock.now()), params }
  }

  /** An API key or a credential exchange, checked with the provider; its params come from the exchange. */
  private async checked(
    provider: ApiKeyProvider | CredentialExchangeProvider,
    input: NewConnection,
  ): Promise<ObtainedCredentials> {
    if (input.params && Object.keys(input.params).length)
      throw problem('invalid_params', `${provider.key} takes no params`)
    try {
      return await obtain(this.deps.network, provider, input.credentials)
    } catch (err) {
      if (err instanceof CredentialsRefused) throw problem('invalid_credentials', err.reason)
      if (err instanceof ProviderError)
        throw problem('provider_unavailable', `the provider could not check the credentials (${err.code})`)
      throw err
    }
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i

/** OAuth tokens imported from another system: `{accessToken, refreshToken?, expiresAt?, scopes?}`. */
function importedTokens(credentials: Record<string, unknown>, now: Date): TokenSet {
  const { accessToken, refreshToken, expiresAt, scopes, ...rest } = credentials
  if (Object.keys(rest).length)
    throw problem('invalid_credentials', `unknown credential fields: ${Object.keys(rest).join(', ')}`)
  if (typeof accessToken !== 'string' || !accessToken) throw problem('invalid_credentials', 'accessToken: required')
  if (refreshToken !== undefined && (typeof refreshToken !== 'string' || !refreshToken))
    throw problem('invalid_credentials', 'refreshToken: must be a string')
  let expiresInSeconds: number | undefined
  if (expiresAt !== undefined) {
    // RFC 3339 with a four-digit year: every such instant fits a JS Date and PostgreSQL.
    const at = typeof expiresAt === 'string' && RFC3339.test(expiresAt) ? new Date(expiresAt) : undefined
    if (!at || Number.isNaN(at.getTime()))
      throw problem('invalid_credentials', 'expiresAt: must be an RFC 3339 date-time (e.g. 2027-01-31T12:00:00Z)')
    expiresInSeconds = Math.max(0, Math.floor((at.getTime() - now.getTime()) / 1000))
  }
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')))
    throw problem('invalid_credentials', 'scopes: must be an array of strings')
  return {
    accessToken,
    tokenType: 'Bearer',
    expiresInSeconds,
    refreshToken: refreshToken as string | undefined,
    refreshTokenExpiresInSeconds: undefined,
    scopes: scopes as string[] | undefined,
    metadata: {},
  }
}
