// The one authentication hook of the internal API: every /v1 route needs a broker token
// (RFC 6750 Bearer), and the scope its schema's `security` names. No token or a bad one
// → 401 with WWW-Authenticate; a good token without the scope → 403 insufficient_scope.
// A fastify-plugin plugin, so its hook and `request.caller` apply to the scope that
// registers it (the /v1 scope in app.ts), and to no other route.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { decodeProtectedHeader } from 'jose'
import { problem } from '../errors.js'
import { InvalidBrokerToken, type BrokerTokenClaims, type BrokerTokens } from '../issuer/broker-tokens.js'
import type { Metrics } from '../metrics.js'
import type { ServiceClient, ServiceClients } from '../service-clients/service-clients.js'
import { sendProblem } from './problem.js'
import { SECURITY_EVENTS } from '../security-events.js'

/** The authenticated service client of a /v1 request. */
export interface Caller {
  clientId: string
  /** The token's `scope` claim intersected with the client's current scopes. */
  scopes: string[]
  /** The client's current namespaces (a token carries none): ["*"] for all. */
  namespaces: readonly string[]
  claims: BrokerTokenClaims
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the broker-token hook before any /v1 handler runs; null elsewhere. Read it with callerOf(). */
    caller: Caller | null
  }
}

/**
 * The caller of a /v1 route. The hook refuses a request before its handler runs unless it
 * set the caller, so a missing one means the route sits outside the /v1 scope: refused.
 */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw problem('unauthorized')
  return request.caller
}

const REALM = 'oauth-broker'
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i

/** The `kid` of a refused token, for the log: public, but attacker-chosen, so only a plain short one. */
function keyIdOf(token: string | undefined): string | undefined {
  if (!token) return undefined
  try {
    const { kid } = decodeProtectedHeader(token)
    if (kid === undefined) return undefined
    return typeof kid === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(kid) ? kid : '(malformed)'
  } catch {
    return undefined
  }
}

export function requiredScope(request: FastifyRequest): string | undefined {
  const security = request.routeOptions.schema?.security as Array<Record<string, string[]>> | undefined
  return security?.[0]?.brokerToken?.[0]
}

interface AuthDeps {
  tokens: BrokerTokens
  clients: ServiceClients
  metrics: Metrics
}

export const brokerTokenAuth = fp(registerBrokerTokenAuth, { name: 'broker-token-auth', fastify: '5.x' })

async function registerBrokerTokenAuth(app: FastifyInstance, deps: AuthDeps): Promise<void> {
  app.decorateRequest('caller', null)
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const scope = requiredScope(request)
    // A /v1 route without a declared scope is a programming error; refuse rather than open it.
    if (!scope) return sendProblem(reply, 'internal_error')

    const header = request.headers.authorization
    if (!header) {
      request.log.warn(
        { event: SECURITY_EVENTS.brokerTokenRefused, reason: 'no Authorization header' },
        'broker token refused',
      )
      reply.header('www-authenticate', `Bearer realm="${REALM}"`)
      return sendProblem(
        reply,
        'unauthorized',
        'send a broker token: Authorization: Bearer <token> (get one at POST /oauth/token)',
      )
    }
    const match = BEARER.exec(header)
    let claims: BrokerTokenClaims
    let client: ServiceClient | undefined
    try {
      if (!match) throw new InvalidBrokerToken('malformed Authorization header')
      claims = await deps.tokens.verify(match[1]!)
      // The client's current record decides (from memory, kept current on every replica by
      // change notifications): a deleted client's tokens stop, narrowed scopes and namespaces apply.
      client = deps.clients.cached(claims.client_id)
      if (!client) throw new InvalidBrokerToken('the service client no longer exists')
    } catch (err) {
      if (!(err instanceof InvalidBrokerToken)) throw err
      deps.metrics.brokerTokens.inc({ outcome: 'invalid_token' })
      // The reason and the key id, never the token.
      request.log.warn(
        { event: SECURITY_EVENTS.brokerTokenRefused, reason: err.reason, kid: keyIdOf(match?.[1]) },
        'broker token refused',
      )
      reply.header(
        'www-authenticate',
        `Bearer realm="${REALM}", error="invalid_token", error_description="${err.reason.replace(/"/g, "'")}"`,
      )
      return sendProblem(reply, 'unauthorized', `invalid broker token: ${err.reason}`)
    }
    const current = client.scopes as readonly string[]
    const scopes = claims.scope.split(' ').filter((s) => current.includes(s))
    if (!scopes.includes(scope)) {
      deps.metrics.brokerTokens.inc({ outcome: 'insufficient_scope' })
      request.log.warn(
        { event: SECURITY_EVENTS.brokerTokenInsufficientScope, clientId: claims.client_id, scope },
        'broker token lacks scope',
      )
      reply.header('www-authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`)
      return sendProblem(reply, 'insufficient_scope', `this route needs scope ${scope}`)
    }
    request.caller = { clientId: claims.client_id, scopes, namespaces: client.namespaces, claims }
  })
}
