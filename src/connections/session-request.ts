// The checks on a service client's request for a connect session (POST /v1/connect-sessions):
// a configured provider, an allowed return URL, the provider's params and scopes, and, for a
// re-authorization, a live connection of the same provider, owner and namespace that the
// caller may see; then the namespace the session (and its connection) belongs to.
import { hiddenConnection, problem } from '../errors.js'
import type { Provider } from '../providers/schema.js'
import { checkParams } from '../providers/templates.js'
import { holds, resolveNamespace } from '../service-clients/namespaces.js'
import { isReturnUrlAllowed } from '../service-clients/return-urls.js'
import type { ServiceClient } from '../service-clients/service-clients.js'
import type { ConnectionStore } from './connection-store.js'

export interface NewConnectSession {
  provider: string
  ownerId: string
  returnUrl?: string
  params?: Record<string, string>
  scopes?: string[]
  connectionId?: string
  namespace?: string
  /** Hold the grant for the service's confirmation; default: the client's requireConfirmation with a returnUrl. */
  confirm?: boolean
}

const MISSING_CONNECTION = 'connectionId does not name a connection'

/** The provider and namespace of the session, once every check passed; a 4xx problem otherwise. */
export async function checkSessionRequest(
  caller: ServiceClient,
  input: NewConnectSession,
  providers: Map<string, Provider>,
  store: ConnectionStore,
): Promise<{ provider: Provider; namespace: string }> {
  // A namespace the caller does not hold is refused before anything else is looked at.
  if (input.namespace !== undefined) resolveNamespace(caller.namespaces, input.namespace)
  const provider = providers.get(input.provider)
  if (!provider) throw problem('unknown_provider', `no provider "${input.provider}" is configured`)
  if (input.returnUrl !== undefined && !isReturnUrlAllowed(input.returnUrl, caller.allowedReturnUrls)) {
    throw problem(
      'invalid_return_url',
      'returnUrl must start with one of the allowed return URLs of this service client',
    )
  }
  // The confirmation code travels to the returnUrl: without one, nobody could confirm.
  if (input.confirm && input.returnUrl === undefined)
    throw problem('invalid_request', 'confirm: true needs a returnUrl (the confirmation code is sent there)')
  checkParamsAndScopes(provider, input.params ?? {}, input.scopes)
  if (input.connectionId === undefined)
    return { provider, namespace: resolveNamespace(caller.namespaces, input.namespace) }
  const existing = await store.get(input.connectionId)
  if (!existing || existing.status === 'revoked') throw problem('invalid_connection', MISSING_CONNECTION)
  if (!holds(caller.namespaces, existing.namespace)) throw hiddenConnection('invalid_connection', MISSING_CONNECTION)
  // Re-authorization stays in the connection's namespace; naming another one is a mistake.
  if (
    existing.provider !== provider.key ||
    existing.ownerId !== input.ownerId ||
    (input.namespace ?? existing.namespace) !== existing.namespace
  ) {
    throw problem('invalid_connection', 'connectionId names a connection of another provider, owner or namespace')
  }
  return { provider, namespace: existing.namespace }
}

function checkParamsAndScopes(provider: Provider, params: Record<string, string>, scopes: string[] | undefined): void {
  if (provider.mode !== 'oauth2') {
    // The user supplies everything on the connect form; placeholders come from discovery.
    if (Object.keys(params).length) throw problem('invalid_params', `${provider.key} takes no params`)
    if (scopes?.length) throw problem('invalid_scope', `${provider.key} has no scopes`)
    return
  }
  const paramProblems = checkParams(provider.params, params)
  if (paramProblems.length) throw problem('invalid_params', paramProblems.join('; '))
  // Silently dropping them would hand the caller a grant without the scopes it asked for.
  if (!provider.sendScopes && scopes?.length) {
    throw problem(
      'invalid_scope',
      `${provider.key} takes its scopes from the app's configuration ` +
        'at the provider, not from the request; omit scopes',
    )
  }
  if (scopes?.some((s) => s.includes(provider.scopeSeparator))) {
    throw problem('invalid_scope', `a scope must not contain the provider's separator "${provider.scopeSeparator}"`)
  }
}
