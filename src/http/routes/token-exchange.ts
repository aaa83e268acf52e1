// RFC 8693 token exchange at POST /oauth/token: an authenticated service client trades a
// broker token of its own (the subject_token) for a connection's provider access token,
// under the rules of POST /v1/connections/:id/access-token (scope tokens:read, the
// client's namespaces, refresh when needed). The target connection is the `resource`
// (RFC 8707 style URI): urn:oauth-broker:connection:<id>.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../../clock.js'
import type { FreshTokens } from '../../connections/fresh-tokens.js'
import { ProblemError } from '../../errors.js'
import { InvalidBrokerToken, type BrokerTokens } from '../../issuer/broker-tokens.js'
import { SECURITY_EVENTS } from '../../security-events.js'
import type { ServiceClient } from '../../service-clients/service-clients.js'
import { sendOAuthError } from '../oauth-reply.js'

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
export const CONNECTION_RESOURCE_PREFIX = 'urn:oauth-broker:connection:'
/** The same shape as the API's connection id (schemas/connections.ts). */
const CONNECTION_ID = /^[A-Za-z0-9_-]{1,64}$/
/** Refusals that wait on the connection's user, whatever their HTTP status: invalid_grant. */
const NEEDS_THE_USER: readonly string[] = ['reauthorization_required', 'confirmation_pending']
/** As POST /v1/connections/:id/access-token's default. */
const MIN_VALIDITY_SECONDS = 60

export interface ExchangeRequest {
  subject_token?: string
  subject_token_type?: string
  requested_token_type?: string
  resource?: string
}

export interface ExchangeDeps {
  tokens: BrokerTokens
  freshTokens: FreshTokens
  clock: Clock
}

/** The connection id a `resource` names, or undefined when it names none. */
export function connectionOfResource(resource: string): string | undefined {
  if (!resource.startsWith(CONNECTION_RESOURCE_PREFIX)) return undefined
  const id = resource.slice(CONNECTION_RESOURCE_PREFIX.length)
  return CONNECTION_ID.test(id) ? id : undefined
}

/** The request's refusal before any token is looked at, or undefined when well formed. */
function malformed(body: ExchangeRequest): string | undefined {
  if (!body.subject_token) return 'subject_token is required'
  if (body.subject_token_type !== ACCESS_TOKEN_TYPE) return `subject_token_type must be ${ACCESS_TOKEN_TYPE}`
  if (body.requested_token_type !== undefined && body.requested_token_type !== ACCESS_TOKEN_TYPE)
    return `requested_token_type can only be ${ACCESS_TOKEN_TYPE}`
  if (body.resource === undefined) return `resource is required: ${CONNECTION_RESOURCE_PREFIX}<id>`
  return undefined
}

/** The subject token's usable scopes, or the reason it is refused (RFC 8693 §2.2.2: invalid_request). */
async function subjectScopes(
  deps: ExchangeDeps,
  subjectToken: string,
  client: ServiceClient,
): Promise<string[] | { refused: string }> {
  try {
    const claims = await deps.tokens.verify(subjectToken)
    if (claims.sub !== client.clientId) return { refused: 'the subject_token belongs to another client' }
    const current = client.scopes as readonly string[]
    return claims.scope.split(' ').filter((s) => current.includes(s))
  } catch (err) {
    if (err instanceof InvalidBrokerToken) return { refused: `invalid subject_token: ${err.reason}` }
    throw err
  }
}

export async function exchangeToken(
  request: FastifyRequest,
  reply: FastifyReply,
  client: ServiceClient,
  body: ExchangeRequest,
  deps: ExchangeDeps,
): Promise<FastifyReply> {
  const invalid = malformed(body)
  if (invalid) return sendOAuthError(reply, 400, 'invalid_request', invalid)
  const id = connectionOfResource(body.resource!)
  if (!id) return sendOAuthError(reply, 400, 'invalid_target', `resource must be ${CONNECTION_RESOURCE_PREFIX}<id>`)
  const scopes = await subjectScopes(deps, body.subject_token!, client)
  if (!Array.isArray(scopes)) {
    request.log.warn(
      { event: SECURITY_EVENTS.brokerTokenRefused, clientId: client.clientId, reason: scopes.refused },
      'subject token refused',
    )
    return sendOAuthError(reply, 400, 'invalid_request', scopes.refused)
  }
  if (!scopes.includes('tokens:read'))
    return sendOAuthError(reply, 400, 'invalid_scope', 'the subject_token lacks scope tokens:read')
  try {
    const vended = await deps.freshTokens.accessToken(
      id,
      { minValiditySeconds: MIN_VALIDITY_SECONDS, forceRefresh: false },
      client.clientId,
      client.namespaces,
    )
    const expiresIn =
      vended.expiresAt === null ? undefined : (Date.parse(vended.expiresAt) - deps.clock.now().getTime()) / 1000
    return reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send({
        access_token: vended.accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        ...(expiresIn === undefined ? {} : { expires_in: Math.max(0, Math.floor(expiresIn)) }),
        scope: vended.scopes.join(' '),
        headers: vended.headers,
      })
  } catch (err) {
    // A refusal worth an alert (a connection of another namespace) keeps its security event.
    if (err instanceof ProblemError && err.event)
      request.log.warn({ event: err.event, code: err.code, clientId: client.clientId }, 'token exchange refused')
    return refusal(reply, err)
  }
}

/**
 * RFC 6749 / 8693 answers for the access-token refusals: a connection the caller cannot
 * see is invalid_target; one that needs its user (any 409 code, e.g. reauthorization_required)
 * is invalid_grant with the broker's code first in error_description. Others (provider
 * outage → 503 temporarily_unavailable) go to the route's error handler.
 */
function refusal(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof ProblemError)) throw err
  if (err.code === 'connection_not_found')
    return sendOAuthError(reply, 400, 'invalid_target', 'no such connection for this client')
  if (err.status === 409 || NEEDS_THE_USER.includes(err.code))
    return sendOAuthError(reply, 400, 'invalid_grant', `${err.code}: ${err.message}`)
  throw err
}
