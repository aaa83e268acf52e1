// Admin API for service clients (scope clients:admin). A secret is returned once, at
// creation or rotation; a client registered with `jwks` has keys instead and no secret.
// An admin grants only namespaces it holds, and manages only clients within them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { canManage } from '../../service-clients/client-changes.js'
import type { Admin } from '../../service-clients/service-clients.js'
import type { Services } from '../../services.js'
import { callerOf } from '../auth.js'
import { perMinute } from '../rate-limits.js'
import { AUTHENTICATED, RATE_LIMITED, WITH_BODY, json, noContent, problems, requiresScope } from '../schemas/common.js'
import {
  ClientIdParams,
  NewServiceClient,
  RotatedSecret,
  RotateSecretRequest,
  ServiceClient,
  ServiceClientChanges,
} from '../schemas/service-clients.js'

function adminOf(request: FastifyRequest): Admin {
  const caller = callerOf(request)
  return { actor: caller.clientId, namespaces: caller.namespaces }
}

export const serviceClientRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { clients, config }) => {
  const rateLimit = perMinute(config.rateLimits.admin)
  app.post(
    '/v1/service-clients',
    {
      schema: {
        operationId: 'createServiceClient',
        summary: 'Register a service client',
        description:
          'Returns the client secret once; only its hash is stored. ' +
          'With `jwks` the client authenticates with its keys ' +
          '(RFC 7523 private_key_jwt) and has no secret.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        body: NewServiceClient,
        response: {
          201: json(
            'The new client, with its secret unless it has keys',
            Type.Intersect([ServiceClient, Type.Object({ clientSecret: Type.Optional(Type.String()) })]),
          ),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const { client, clientSecret } = await clients.create(request.body, adminOf(request))
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...client, ...(clientSecret ? { clientSecret } : {}) })
    },
  )

  app.get(
    '/v1/service-clients',
    {
      schema: {
        operationId: 'listServiceClients',
        summary: 'List service clients',
        description:
          'Every client the caller could manage: an admin holding only some namespaces ' +
          'sees only the clients within them.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        response: {
          200: json('The clients, without secrets', Type.Object({ items: Type.Array(ServiceClient) })),
          ...problems(...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    // Only the clients this admin could manage: a namespaced admin sees nothing of other namespaces.
    async (request) => {
      const admin = adminOf(request)
      return { items: (await clients.list()).filter((c) => canManage(admin.namespaces, c.namespaces)) }
    },
  )

  app.delete(
    '/v1/service-clients/:clientId',
    {
      schema: {
        operationId: 'deleteServiceClient',
        summary: 'Delete a service client',
        description: 'Its broker tokens stop working at once on every replica.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        params: ClientIdParams,
        // No body is expected, but Fastify parses one when sent: 413/415 can answer.
        response: { 204: noContent('Deleted'), ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 404, 503) },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      await clients.delete(request.params.clientId, adminOf(request))
      return reply.code(204).send()
    },
  )

  app.patch(
    '/v1/service-clients/:clientId',
    {
      schema: {
        operationId: 'updateServiceClient',
        summary: 'Change a service client',
        description:
          'Each field given replaces the stored one; new keys (jwks) replace any secret. ' +
          'The change holds on every replica within a second, for broker tokens already issued too: ' +
          "a token's scopes are its own intersected with the client's current ones, " +
          "and its namespaces are the client's current ones.",
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        params: ClientIdParams,
        body: ServiceClientChanges,
        response: {
          200: json('The changed client', ServiceClient),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 404, 503),
        },
      },
      config: { rateLimit },
    },
    async (request) => clients.update(request.params.clientId, request.body, adminOf(request)),
  )

  app.post(
    '/v1/service-clients/:clientId/rotate-secret',
    {
      schema: {
        operationId: 'rotateServiceClientSecret',
        summary: "Rotate a service client's secret",
        description:
          'Returns a new secret once. The previous one keeps working for overlapSeconds, ' +
          'so the service can roll out the new one without downtime; an older previous secret stops at once. ' +
          'A client with keys (jwks) has no secret: 400.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        params: ClientIdParams,
        body: RotateSecretRequest,
        response: {
          200: json('The new secret', RotatedSecret),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 404, 503),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const { clientId } = request.params
      const rotated = await clients.rotateSecret(clientId, request.body.overlapSeconds, adminOf(request))
      return reply.header('cache-control', 'no-store').send({ clientId, ...rotated })
    },
  )
}
