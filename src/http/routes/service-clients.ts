// Admin API for service clients (scope clients:admin). The secret is returned once, at creation.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from 'typebox'
import type { Services } from '../../services.js'
import { perMinute } from '../rate-limits.js'
import { SCOPES } from '../../service-clients/scopes.js'
import { StringEnum } from '../../validation.js'
import { AUTHENTICATED, RATE_LIMITED, WITH_BODY, json, noContent, problems, requiresScope, Timestamp } from '../schemas.js'

const ServiceClient = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(StringEnum(SCOPES)),
  allowedReturnUrls: Type.Array(Type.String()),
  createdAt: Timestamp,
})

const NewServiceClient = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    scopes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: SCOPES.length }),
    allowedReturnUrls: Type.Array(Type.String({ maxLength: 2048 }), { default: [], maxItems: 50 }),
  },
  { additionalProperties: false },
)

const ClientIdParams = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' }) }, { additionalProperties: false })

export async function serviceClientRoutes(app: FastifyInstance, { clients, config }: Services) {
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
          201: json('The new client with its secret', Type.Intersect([ServiceClient, Type.Object({ clientSecret: Type.String() })])),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof NewServiceClient>
      const { client, clientSecret } = await clients.create(body, request.caller!.clientId)
      return reply.code(201).header('cache-control', 'no-store').send({ ...client, clientSecret })
    },
  )

  app.get(
    '/v1/service-clients',
    {
      schema: {
        summary: 'List service clients',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        response: { 200: json('Every client, without secrets', Type.Object({ items: Type.Array(ServiceClient) })), ...problems(...AUTHENTICATED, ...RATE_LIMITED, 503) },
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
      const { clientId } = request.params as Static<typeof ClientIdParams>
      await clients.delete(clientId, request.caller!.clientId)
      return reply.code(204).send()
    },
  )
}
