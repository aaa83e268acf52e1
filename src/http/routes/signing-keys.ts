// Admin API for the broker's signing keys (scope clients:admin): list and rotate.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from 'typebox'
import { DEFAULT_ACTIVATION_DELAY_SECONDS, MAX_ACTIVATION_DELAY_SECONDS, MIN_ACTIVATION_DELAY_SECONDS } from '../../issuer/signing-keys.js'
import type { Services } from '../../services.js'
import { perMinute } from '../rate-limits.js'
import { StringEnum } from '../../validation.js'
import { AUTHENTICATED, RATE_LIMITED, WITH_BODY, json, problems, requiresScope, Timestamp } from '../schemas.js'

const SigningKey = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  status: StringEnum(['pending', 'active', 'retiring', 'retired']),
  createdAt: Timestamp,
  activatesAt: Timestamp,
  retiresAt: Type.Union([Timestamp, Type.Null()]),
})

const RotateRequest = Type.Object(
  {
    activateInSeconds: Type.Integer({
      minimum: MIN_ACTIVATION_DELAY_SECONDS,
      maximum: MAX_ACTIVATION_DELAY_SECONDS,
      default: DEFAULT_ACTIVATION_DELAY_SECONDS,
      description: `Delay between publishing the new key in the JWKS and signing with it; at least the JWKS cache lifetime (${MIN_ACTIVATION_DELAY_SECONDS} s), so verifiers see the key before its first token`,
    }),
  },
  { additionalProperties: false },
)

export async function signingKeyRoutes(app: FastifyInstance, { keys, config }: Services) {
  const rateLimit = perMinute(config.rateLimits.admin)
  app.get(
    '/v1/signing-keys',
    {
      schema: {
        summary: 'List signing keys',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        response: { 200: json('Published keys (no key material)', Type.Object({ items: Type.Array(SigningKey) })), ...problems(...AUTHENTICATED, ...RATE_LIMITED) },
      },
      config: { rateLimit },
    },
    async () => ({ items: keys.list() }),
  )

  app.post(
    '/v1/signing-keys/rotate',
    {
      schema: {
        summary: 'Rotate the signing key',
        description:
          'Publishes a new key now and signs with it after activateInSeconds; older keys stay published for one broker-token lifetime after that.',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        body: RotateRequest,
        response: { 201: json('The new key', SigningKey), ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 503) },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const { activateInSeconds } = request.body as Static<typeof RotateRequest>
      return reply.code(201).send(await keys.rotate(activateInSeconds, request.caller!.clientId))
    },
  )
}
