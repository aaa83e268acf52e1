// Public discovery documents: the JWKS (public members only) and RFC 8414 metadata.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { authorizationServerMetadata } from '../../issuer/metadata.js'
import { JWKS_MAX_AGE_SECONDS } from '../../issuer/signing-keys.js'
import type { Services } from '../../services.js'
import { json, problems, shuttingDown } from '../schemas/common.js'
import { Jwks, Metadata } from '../schemas/operations.js'

export const wellKnownRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { keys, config }) => {
  const metadata = authorizationServerMetadata(config.publicUrl)

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        operationId: 'getJwks',
        summary: 'The public keys that verify broker tokens (RFC 7517)',
        tags: ['broker tokens'],
        response: { 200: json('JSON Web Key Set', Jwks), ...problems(500), ...shuttingDown() },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
      return keys.jwks()
    },
  )

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        operationId: 'getAuthorizationServerMetadata',
        summary: 'Authorization server metadata (RFC 8414)',
        tags: ['broker tokens'],
        response: { 200: json('Metadata', Metadata), ...problems(500), ...shuttingDown() },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600')
      return metadata
    },
  )
}
