// POST /oauth/token: the broker as an OAuth 2.0 authorization server for its service
// clients: the client_credentials grant (RFC 6749 §4.4) and token exchange (RFC 8693,
// token-exchange.ts) for a connection's provider token. A client authenticates with its
// secret (HTTP Basic or the form) or with a client assertion (RFC 7523 private_key_jwt),
// one method per request. Errors use RFC 6749 §5.2 bodies, not problem+json: OAuth client
// libraries parse them.
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAUTH_ERRORS, oauthErrorOf } from '../../errors.js'
import type { Services } from '../../services.js'
import { sendOAuthError } from '../oauth-reply.js'
import { classifyError } from '../problem.js'
import { perMinute } from '../rate-limits.js'
import { exchangeToken, TOKEN_EXCHANGE_GRANT } from './token-exchange.js'
import { json, problems } from '../schemas/common.js'
import { oauthError, TokenRequest, TokenResponse } from '../schemas/token.js'
import { SECURITY_EVENTS } from '../../security-events.js'
import { JWT_BEARER_ASSERTION } from '../../service-clients/client-assertions.js'
import type { ServiceClient } from '../../service-clients/service-clients.js'
import type { Static } from 'typebox'

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

/**
 * RATE_LIMIT_TOKEN bounds client_credentials requests only: exchanges are limited like
 * access-token calls. Counted once the form is parsed, before it is validated.
 */
function tokenRateLimit(max: number) {
  const limit = perMinute(max)
  if (!limit) return false
  const isExchange = (request: FastifyRequest) =>
    (request.body as { grant_type?: unknown } | undefined)?.grant_type === TOKEN_EXCHANGE_GRANT
  return { ...limit, hook: 'preValidation' as const, allowList: isExchange }
}

export const tokenRoutes: FastifyPluginAsyncTypebox<Services> = async (
  app,
  { clients, assertions, tokens, audit, metrics, config, freshTokens, clock },
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
        summary: "Get a broker token (client_credentials), or exchange one for a connection's token (RFC 8693)",
        description:
          'Authenticate a service client with HTTP Basic (RFC 6749 §2.3.1), ' +
          'client_id/client_secret in the form, or a client ' +
          'assertion signed with one of its registered keys ' +
          '(RFC 7523 private_key_jwt: client_assertion_type=' +
          `${JWT_BEARER_ASSERTION}, iss = sub = client id, aud = the issuer identifier only, ` +
          'exp at most 5 minutes ahead, a jti used once), one method per request, ' +
          'and receive a short-lived JWT access token (RFC 9068) for the /v1 API. ' +
          `With grant_type=${TOKEN_EXCHANGE_GRANT} (RFC 8693), subject_token = a broker token of the same client ` +
          '(subject_token_type=urn:ietf:params:oauth:token-type:access_token, scope tokens:read) and ' +
          "resource=urn:oauth-broker:connection:<id>, receive the connection's provider access token under the " +
          'rules of POST /v1/connections/{id}/access-token, with `headers` the provider API needs. Exchanges are ' +
          'not counted against RATE_LIMIT_TOKEN.',
        tags: ['broker tokens'],
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenRequest,
        security: [{ clientBasic: [] }, {}],
        response: {
          200: json("A broker token, or (token exchange) the connection's provider token", TokenResponse),
          400: oauthError(
            'invalid_request, unsupported_grant_type or invalid_scope (RFC 6749 §5.2); for a token exchange also ' +
              'invalid_target (no such connection for this client, or a resource of another form) and ' +
              "invalid_grant (the connection needs its user: the broker's code, e.g. reauthorization_required, " +
              'starts error_description)',
          ),
          401: oauthError('invalid_client, with WWW-Authenticate'),
          ...problems(429),
          500: oauthError('server_error'),
          503: oauthError(
            'temporarily_unavailable: the database or (token exchange) the provider is unreachable, or the broker ' +
              'is shutting down; error_description names the cause',
          ),
        },
      },
      config: { rateLimit: tokenRateLimit(config.rateLimits.token) },
      errorHandler: (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
        const { code } = classifyError(err)
        // The registry names each code's RFC 6749 §5.2 error; without one, the problem document stays.
        const error = oauthErrorOf(code)
        if (!error) return reply.send(err)
        if (error === 'server_error') request.log.error({ err, code }, 'token request failed')
        // A retryable refusal names its cause (provider_unavailable, database_unavailable, ...).
        const cause = error === 'temporarily_unavailable' ? code : undefined
        if (error !== 'invalid_request') return sendOAuthError(reply, OAUTH_ERRORS[error], error, cause)
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
      if (body.grant_type !== 'client_credentials' && body.grant_type !== TOKEN_EXCHANGE_GRANT) {
        return sendOAuthError(reply, 400, 'unsupported_grant_type', `use client_credentials or ${TOKEN_EXCHANGE_GRANT}`)
      }
      if (!credentials) {
        metrics.brokerTokens.inc({ outcome: 'invalid_client' })
        return sendOAuthError(reply, 401, 'invalid_client', 'client authentication required')
      }
      const client = await authenticate(request, credentials)
      if (!client) {
        metrics.brokerTokens.inc({ outcome: 'invalid_client' })
        return sendOAuthError(reply, 401, 'invalid_client', 'client authentication failed')
      }
      if (body.grant_type === TOKEN_EXCHANGE_GRANT)
        return exchangeToken(request, reply, client, body, { tokens, freshTokens, clock })
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
      metrics.brokerTokens.inc({ outcome: 'issued' })
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
