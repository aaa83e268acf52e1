// Admin API for the broker's signing keys (scope clients:admin): list and rotate.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../services.js'
import { callerOf } from '../auth.js'
import { perMinute } from '../rate-limits.js'
import { AUTHENTICATED, RATE_LIMITED, WITH_BODY, json, problems, requiresScope } from '../schemas/common.js'
import { RotateRequest, SigningKey } from '../schemas/signing-keys.js'

export const signingKeyRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { keys, config }) => {
  const rateLimit = perMinute(config.rateLimits.admin)
  app.get(
    '/v1/signing-keys',
    {
      schema: {
        operationId: 'listSigningKeys',
        summary: 'List signing keys',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        response: {
          200: json('Published keys (no key material)', Type.Object({ items: Type.Array(SigningKey) })),
          ...problems(...AUTHENTICATED, ...RATE_LIMITED),
        },
      },
      config: { rateLimit },
    },
    async () => ({ items: keys.list() }),
  )

  app.post(
    '/v1/signing-keys/rotate',
    {
      schema: {
        operationId: 'rotateSigningKey',
        summary: 'Rotate the signing key',
        description:
          'Publishes a new key now and signs with it after activateInSeconds; ' +
          'older keys stay published for one broker-token lifetime after that.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        body: RotateRequest,
        response: {
          201: json('The new key', SigningKey),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      return reply.code(201).send(await keys.rotate(request.body.activateInSeconds, callerOf(request).clientId))
    },
  )
}
