// RFC 6749 §5.2 error answers of POST /oauth/token: JSON bodies, not problem+json, since
// OAuth client libraries parse them.
import type { FastifyReply } from 'fastify'
import type { OAuthErrorCode } from '../errors.js'

export function sendOAuthError(
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
