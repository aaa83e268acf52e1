// POST /oauth/token: the broker as an OAuth 2.0 authorization server for its service
// clients, client_credentials grant only (RFC 6749 §4.4). A client authenticates with its
// secret (HTTP Basic or the form) or with a client assertion (RFC 7523 private_key_jwt),
// one method per request. Errors use RFC 6749 §5.2 bodies, not problem+json: OAuth client
// libraries parse them.
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAUTH_ERRORS, oauthErrorOf, type OAuthErrorCode } from '../../errors.js'
import type { Services } from '../../services.js'
import { classifyError } from '../problem.js'
import { perMinute } from '../rate-limits.js'
import { json, problems } from '../schemas/common.js'
import { oauthError, TokenRequest, TokenResponse } from '../schemas/token.js'
import { SECURITY_EVENTS } from '../../security-events.js'
import { JWT_BEARER_ASSERTION } from '../../service-clients/client-assertions.js'
import type { ServiceClient } from '../../service-clients/service-clients.js'
import type { Static } from 'typebox'

function sendOAuthError(
  reply: FastifyReply,
  status: number,
  error: OAuthErrorCode,
  description?: string,
): FastifyReply {
  if (error === 'invalid_client') reply.header('www-authenticate', 'Basic realm="oauth-broker", charset="UTF-8"')
  return reply
    .code(status)
    .type('application/json')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send({ error, ...(description ? { error_description: description } : {}) })
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function parseBasic(header: string): { clientId: string; secret: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim())
  if (!m) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
    return { clientId: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) }
  } catch {
    return undefined
  }
}

type Presented =
  | { method: 'client_secret'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; assertionType: string; assertion: string; clientId: string | undefined }

/**
 * The client authentication a request presents: one method only (RFC 6749 §2.3), so
 * Basic, a form secret and an assertion never combine. `undefined`: none or unreadable.
 */
function presented(
  basic: string | undefined,
  body: Static<typeof TokenRequest>,
): Presented | { invalid: string } | undefined {
  const assertion = body.client_assertion !== undefined || body.client_assertion_type !== undefined
  const several = basic
    ? body.client_id !== undefined || body.client_secret !== undefined || assertion
    : assertion && body.client_secret !== undefined
  if (several) return { invalid: 'use one client authentication method, not several' }
  if (assertion) {
    if (body.client_assertion === undefined || body.client_assertion_type === undefined)
      return { invalid: 'client_assertion and client_assertion_type go together' }
    return {
      method: 'private_key_jwt',
      assertionType: body.client_assertion_type,
      assertion: body.client_assertion,
      clientId: body.client_id,
    }
  }
  if (basic) {
    const credentials = parseBasic(basic)
    return credentials && { method: 'client_secret', ...credentials }
  }
  return body.client_id && body.client_secret
    ? { method: 'client_secret', clientId: body.client_id, secret: body.client_secret }
    : undefined
}

export const tokenRoutes: FastifyPluginAsyncTypebox<Services> = async (
  app,
  { clients, assertions, tokens, audit, metrics, config },
) => {
  /** The authenticated client, or undefined after logging the refusal's security event. */
  async function authenticate(request: FastifyRequest, credentials: Presented): Promise<ServiceClient | undefined> {
    // An unknown id is not logged: it may be a secret pasted into the wrong field.
    const who = (id: string | undefined) =>
      id !== undefined && clients.cached(id) ? { clientId: id } : { clientIdKnown: false }
    if (credentials.method === 'client_secret') {
      const client = await clients.authenticate(credentials.clientId, credentials.secret)
      if (!client)
        request.log.warn(
          { event: SECURITY_EVENTS.clientAuthenticationFailed, ...who(credentials.clientId) },
          'client authentication failed',
        )
      return client
    }
    if (credentials.assertionType !== JWT_BEARER_ASSERTION) {
      request.log.warn(
        {
          event: SECURITY_EVENTS.clientAssertionRefused,
          reason: 'unsupported client_assertion_type',
          ...who(credentials.clientId),
        },
        'client assertion refused',
      )
      return undefined
    }
    const result = await assertions.authenticate(credentials.assertion, credentials.clientId)
    if ('client' in result) return result.client
    const event = result.replay ? SECURITY_EVENTS.clientAssertionReplayed : SECURITY_EVENTS.clientAssertionRefused
    request.log.warn(
      { event, reason: result.refused, ...who(result.claimedClientId) },
      result.replay ? 'client assertion replayed' : 'client assertion refused',
    )
    return undefined
  }

  // RFC 6749 §4.4.2: form-encoded only, in this route's plugin scope.
  app.removeContentTypeParser('application/json')
  await app.register(formbody, { bodyLimit: 8 * 1024 })

  app.post(
    '/oauth/token',
    {
      schema: {
        operationId: 'requestBrokerToken',
        summary: 'Get a broker token (client_credentials)',
        description:
          'Authenticate a service client with HTTP Basic (RFC 6749 §2.3.1), ' +
          'client_id/client_secret in the form, or a client ' +
          'assertion signed with one of its registered keys ' +
          '(RFC 7523 private_key_jwt: client_assertion_type=' +
          `${JWT_BEARER_ASSERTION}, iss = sub = client id, aud = the issuer identifier only, ` +
          'exp at most 5 minutes ahead, a jti ' +
          'used once), one method per request, and receive a short-lived JWT access token (RFC 9068) for the /v1 API.',
        tags: ['broker tokens'],
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenRequest,
        security: [{ clientBasic: [] }, {}],
        response: {
          200: json('A broker token', TokenResponse),
          400: oauthError('invalid_request, unsupported_grant_type or invalid_scope (RFC 6749 §5.2)'),
          401: oauthError('invalid_client, with WWW-Authenticate'),
          ...problems(429),
          500: oauthError('server_error'),
          503: oauthError('temporarily_unavailable: the database is unreachable, or the broker is shutting down'),
        },
      },
      config: { rateLimit: perMinute(config.rateLimits.token) },
      errorHandler: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
        const { code } = classifyError(err)
        // The registry names each code's RFC 6749 §5.2 error; without one, the problem document stays.
        const error = oauthErrorOf(code)
        if (!error) return reply.send(err)
        if (error === 'server_error') request.log.error({ err, code }, 'token request failed')
        if (error !== 'invalid_request') return sendOAuthError(reply, OAUTH_ERRORS[error], error)
        const description =
          code === 'unsupported_media_type'
            ? 'use application/x-www-form-urlencoded'
            : 'malformed or repeated parameter'
        return sendOAuthError(reply, 400, 'invalid_request', description)
      },
    },
    async (request, reply) => {
      const body = request.body
      const credentials = presented(request.headers.authorization, body)
      if (credentials && 'invalid' in credentials)
        return sendOAuthError(reply, 400, 'invalid_request', credentials.invalid)
      if (body.grant_type !== 'client_credentials') {
        return sendOAuthError(reply, 400, 'unsupported_grant_type', 'only client_credentials is supported')
      }
      if (!credentials) {
        metrics.brokerTokenFailures.inc({ reason: 'invalid_client' })
        return sendOAuthError(reply, 401, 'invalid_client', 'client authentication required')
      }
      const client = await authenticate(request, credentials)
      if (!client) {
        metrics.brokerTokenFailures.inc({ reason: 'invalid_client' })
        return sendOAuthError(reply, 401, 'invalid_client', 'client authentication failed')
      }
      let scopes: string[] = client.scopes
      if (body.scope !== undefined) {
        const requested = [...new Set(body.scope.split(' ').filter(Boolean))]
        const refused = requested.filter((s) => !(client.scopes as string[]).includes(s))
        if (requested.length === 0 || refused.length) {
          return sendOAuthError(
            reply,
            400,
            'invalid_scope',
            `not granted to this client: ${refused.join(' ') || '(empty)'}`,
          )
        }
        scopes = requested
      }
      const { token, claims } = await tokens.issue(client.clientId, scopes)
      metrics.brokerTokens.inc()
      audit.record({
        type: 'broker_token.issued',
        actor: client.clientId,
        detail: { jti: claims.jti, scope: claims.scope, exp: claims.exp },
      })
      request.log.info({ clientId: client.clientId, jti: claims.jti, scope: claims.scope }, 'broker token issued')
      return reply
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .send({ access_token: token, token_type: 'Bearer', expires_in: claims.exp - claims.iat, scope: claims.scope })
    },
  )
}
