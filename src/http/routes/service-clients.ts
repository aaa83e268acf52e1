// Admin API for service clients (scope clients:admin). The secret is returned once, at creation.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../services.js'
import { callerOf } from '../auth.js'
import { perMinute } from '../rate-limits.js'
import { AUTHENTICATED, RATE_LIMITED, WITH_BODY, json, noContent, problems, requiresScope } from '../schemas/common.js'
import { ClientIdParams, NewServiceClient, ServiceClient } from '../schemas/service-clients.js'

export const serviceClientRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { clients, config }) => {
  const rateLimit = perMinute(config.rateLimits.admin)
  app.post(
    '/v1/service-clients',
    {
      schema: {
        summary: 'Register a service client',
        description: 'Returns the client secret once; only its hash is stored.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        body: NewServiceClient,
        response: {
          201: json(
            'The new client with its secret',
            Type.Intersect([ServiceClient, Type.Object({ clientSecret: Type.String() })]),
          ),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const { client, clientSecret } = await clients.create(request.body, callerOf(request).clientId)
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...client, clientSecret })
    },
  )

  app.get(
    '/v1/service-clients',
    {
      schema: {
        summary: 'List service clients',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        response: {
          200: json('Every client, without secrets', Type.Object({ items: Type.Array(ServiceClient) })),
          ...problems(...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async () => ({ items: await clients.list() }),
  )

  app.delete(
    '/v1/service-clients/:clientId',
    {
      schema: {
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
      await clients.delete(request.params.clientId, callerOf(request).clientId)
      return reply.code(204).send()
    },
  )
}
