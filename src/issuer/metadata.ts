// RFC 8414 authorization server metadata for the broker's own token endpoint.
import { ASSERTION_ALGORITHMS } from '../service-clients/client-keys.js'
import { SCOPES } from '../service-clients/scopes.js'
import { SIGNING_ALG } from './signing-keys.js'

export function authorizationServerMetadata(issuer: string) {
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    // RFC 8693 token exchange: a connection's provider token for a broker token.
    grant_types_supported: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    response_types_supported: [] as string[],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    // RFC 7523 client assertions: asymmetric algorithms only.
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    scopes_supported: [...SCOPES],
    // RFC 9068 access tokens; advertised for verifiers that read metadata.
    access_token_signing_alg_values_supported: [SIGNING_ALG],
    service_documentation: `${issuer}/docs`,
  }
}
