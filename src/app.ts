// buildApp(config, deps): the Fastify instance with its plugins and routes. It does no
// I/O: `app.services.start()` loads state from the database, and main.ts listens. Tests
// build it in-process.
import cookie from '@fastify/cookie'
import rateLimit from '@fastify/rate-limit'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Config } from './config.js'
import { problem } from './errors.js'
import { brokerTokenAuth } from './http/auth.js'
import { registerDocs } from './http/docs.js'
import { renderErrorPage } from './http/pages.js'
import { registerProblemHandling, routerRefusal } from './http/problem.js'
import { rateLimitKey } from './http/rate-limits.js'
import { requestIdGenerator } from './http/request-id.js'
import { Problem } from './http/schemas/common.js'
import { auditEventRoutes } from './http/routes/audit-events.js'
import { connectRoutes } from './http/routes/connect.js'
import { confirmationRoutes } from './http/routes/confirmation.js'
import { connectionRoutes } from './http/routes/connections.js'
import { operationRoutes } from './http/routes/operations.js'
import { serviceClientRoutes } from './http/routes/service-clients.js'
import { signingKeyRoutes } from './http/routes/signing-keys.js'
import { tokenRoutes } from './http/routes/token.js'
import { webhookEndpointRoutes } from './http/routes/webhook-endpoints.js'
import { wellKnownRoutes } from './http/routes/well-known.js'
import { createServices, type Deps, type Services } from './services.js'
import { createAjv, withWellFormedInput } from './validation.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Browser route: errors render as an HTML page, not problem+json. */
    browser?: boolean
    /** Health probes: not logged per request. */
    quietLog?: boolean
  }
  interface FastifyInstance {
    services: Services
    /** Every route registered, for the OpenAPI consistency test. */
    routeTable: Array<{ method: string; url: string }>
  }
}

export const BODY_LIMIT_BYTES = 64 * 1024
/** Retry-After of a 503 that names none: long enough for a drain or a provider hiccup. */
export const RETRY_AFTER_SECONDS = 2

export async function buildApp(config: Config, deps: Deps): Promise<FastifyInstance> {
  const services = createServices(config, deps)
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // One log line per request, written by the onResponse hook (registerRequestHooks).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A hop count is supported at run time; Fastify's types omit it.
    trustProxy: config.trustProxy as boolean | string[],
    genReqId: requestIdGenerator(config.trustProxy),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 500, ignoreDuplicateSlashes: false },
    // Requests arriving while closing are refused by our own onRequest hook (registerRequestHooks),
    // in each route's error format (Fastify's built-in answer is neither problem+json nor RFC 6749).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    frameworkErrors: routerRefusal(renderErrorPage),
  })
  app.decorate('services', services)
  app.decorate('routeTable', [] as Array<{ method: string; url: string }>)
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) app.routeTable.push({ method, url: route.url })
  })
  setValidation(app)
  app.addSchema(Problem)
  registerProblemHandling(app, renderErrorPage)
  await registerInfrastructure(app)
  registerRequestHooks(app, services)
  await registerRoutes(app, services)
  app.addHook('onClose', async () => {
    await services.stop()
  })
  return app
}

/**
 * Strict bodies (unknown properties are errors, no type coercion); query strings and path
 * parameters are strings on the wire, so they may be coerced to their types. Every part
 * must also be storable text with finite numbers (validation.ts).
 */
function setValidation(app: FastifyInstance): void {
  const bodyAjv = createAjv()
  const paramAjv = createAjv({ coerceTypes: true })
  app.setValidatorCompiler(({ schema, httpPart }) =>
    withWellFormedInput((httpPart === 'body' ? bodyAjv : paramAjv).compile(schema)),
  )
  // Only JSON bodies by default; form bodies only where a route registers the parser.
  app.removeContentTypeParser(['text/plain'])
}

async function registerInfrastructure(app: FastifyInstance): Promise<void> {
  await app.register(cookie)
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (request) => rateLimitKey(request.ip),
    errorResponseBuilder: (_request, context) => {
      const err = new Error(`rate limit exceeded, retry in ${Math.ceil(context.ttl / 1000)} s`) as Error & {
        statusCode: number
      }
      err.statusCode = 429
      return err
    },
  })
  await registerDocs(app)
}

/**
 * Graceful shutdown: requests in flight when closing starts finish, and their keep-alive
 * connections close after the response, so the server can stop without cutting anyone off.
 * A request that still arrives (pipelined, or racing on a busy keep-alive connection) is
 * refused with 503 shutting_down, rendered by the route's error handler: problem+json,
 * an HTML page on browser routes, RFC 6749 temporarily_unavailable at /oauth/token.
 * Also: nosniff on every answer, empty POST bodies, and one log line per request.
 */
function registerRequestHooks(app: FastifyInstance, services: Services): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('x-request-id', request.id)
    if (closing) throw problem('shutting_down')
  })
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
    // Every 503 and 429 says when to retry (the rate limiter sets its own).
    if ((reply.statusCode === 503 || reply.statusCode === 429) && !reply.hasHeader('retry-after')) {
      reply.header('retry-after', String(RETRY_AFTER_SECONDS))
    }
  })
  // A POST without a body is an empty object, so optional fields get their defaults.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {}
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const seconds = reply.elapsedTime / 1000
    services.metrics.httpRequests.inc({ method: request.method, route, status_code: reply.statusCode })
    services.metrics.httpDuration.observe({ method: request.method, route }, seconds)
    if (request.routeOptions.config?.quietLog && reply.statusCode < 400) return
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        clientId: request.caller?.clientId,
      },
      'request completed',
    )
  })
}

async function registerRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(operationRoutes, services)
  await app.register(wellKnownRoutes, services)
  await app.register(tokenRoutes, services)
  await app.register(connectRoutes, services)
  // The internal API: one broker-token hook for every route registered in this scope.
  await app.register(async (v1) => {
    await v1.register(brokerTokenAuth, services)
    await v1.register(connectionRoutes, services)
    await v1.register(confirmationRoutes, services)
    await v1.register(serviceClientRoutes, services)
    await v1.register(signingKeyRoutes, services)
    await v1.register(auditEventRoutes, services)
    await v1.register(webhookEndpointRoutes, services)
  })
}
