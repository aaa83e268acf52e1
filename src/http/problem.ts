// Every error leaves as application/problem+json with a stable `code` (RFC 9457), or,
// on browser routes, as a small fixed HTML page. Internals (stack, SQL, provider bodies)
// only reach the log, never the response. (docs/security.md, checklist item 23)
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PROBLEMS, ProblemError, securityEventOf, type ProblemCode } from '../errors.js'
import { isDatabaseUnavailable } from '../store/db.js'
import { DecryptionError } from '../store/encryption.js'

/**
 * Retry-After on a provider that is down or busy (its bulkhead full): a slot comes free, or
 * a failing provider is asked again, within a few seconds.
 */
export const PROVIDER_RETRY_AFTER_SECONDS = 5

export function sendProblem(
  reply: FastifyReply,
  code: ProblemCode,
  detail?: string,
  extra?: Record<string, unknown>,
): FastifyReply {
  const { status, title } = PROBLEMS[code]
  if (code === 'provider_unavailable') reply.header('retry-after', String(PROVIDER_RETRY_AFTER_SECONDS))
  return reply
    .code(status)
    .type('application/problem+json')
    .header('cache-control', 'no-store')
    .send({ type: 'about:blank', title, status, code, ...(detail !== undefined ? { detail } : {}), ...extra })
}

/** Maps anything thrown by a route or by Fastify itself to a problem code and detail. */
export function classifyError(err: FastifyError | Error): {
  code: ProblemCode
  detail?: string
  extra?: Record<string, unknown>
} {
  if (err instanceof ProblemError) return { code: err.code, detail: err.detail, extra: err.extra }
  // Tampered or misplaced ciphertext: fail closed, the value is never used or sent anywhere.
  if (err instanceof DecryptionError) return { code: 'secret_unreadable' }
  const fe = err as FastifyError
  if (fe.validation) {
    const first = fe.validation[0]
    const where = fe.validationContext ?? 'request'
    const path = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where
    const extraKey =
      first?.params && 'additionalProperty' in first.params ? ` (${String(first.params.additionalProperty)})` : ''
    return { code: 'invalid_request', detail: `${path} ${first?.message ?? 'is invalid'}${extraKey}`.slice(0, 300) }
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'payload_too_large' }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fe.statusCode === 415
        ? { code: 'unsupported_media_type' }
        : { code: 'invalid_request', detail: 'invalid Content-Length' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'invalid_request', detail: 'the body is empty but Content-Type says JSON' }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'invalid_request', detail: 'the body is not valid JSON' }
  }
  if (fe.statusCode === 429) return { code: 'rate_limited' }
  if (fe.statusCode === 413) return { code: 'payload_too_large' }
  if (fe.statusCode === 415) return { code: 'unsupported_media_type' }
  if (fe.statusCode === 404) return { code: 'not_found' }
  if (fe.statusCode === 405) return { code: 'method_not_allowed' }
  if (fe instanceof SyntaxError || (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500)) {
    return { code: 'invalid_request', detail: 'the request could not be parsed' }
  }
  if (isDatabaseUnavailable(err)) return { code: 'database_unavailable' }
  return { code: 'internal_error' }
}

export type BrowserErrorPage = (reply: FastifyReply, code: ProblemCode) => FastifyReply

/** Path prefixes of the browser routes: their refusals are pages, even before routing. */
const BROWSER_PATHS = ['/connect/', '/oauth/callback/']

/**
 * Fastify's `frameworkErrors`: the router refuses a URL (malformed percent-encoding, a path
 * parameter over `maxParamLength`) before any route, hook or error handler runs, so the
 * refusal is rendered here, in the same shape as every other error.
 */
export function routerRefusal(browserErrorPage: BrowserErrorPage) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const code: ProblemCode =
      err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'invalid_request' : 'internal_error'
    request.log.info({ code, reason: err.code }, 'request refused by the router')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('x-request-id', request.id)
    if (BROWSER_PATHS.some((prefix) => request.url.startsWith(prefix))) return browserErrorPage(reply, code)
    const detail =
      err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'a path parameter is too long'
        : code === 'invalid_request'
          ? 'the path is not a valid URL component'
          : undefined
    return sendProblem(reply, code, detail)
  }
}

export function registerProblemHandling(app: FastifyInstance, browserErrorPage: BrowserErrorPage): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { code, detail, extra } = classifyError(err)
    const status = PROBLEMS[code].status
    // A refusal while shutting down is expected, not a failure.
    if (status >= 500 && code !== 'shutting_down') {
      request.log.error({ err, code, event: securityEventOf(code, 'problem') }, 'request failed')
    } else if (err instanceof ProblemError && err.event) {
      // A refusal worth an alert (namespaces): one line with its stable event.
      request.log.warn({ event: err.event, code, status, clientId: request.caller?.clientId }, 'request refused')
    } else {
      request.log.info({ code, status }, 'request refused')
    }
    if (request.routeOptions.config?.browser) return browserErrorPage(reply, code)
    return sendProblem(reply, code, status >= 500 ? undefined : detail, extra)
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`),
  )
}
