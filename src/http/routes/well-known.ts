// Public discovery documents: the JWKS (public members only) and RFC 8414 metadata.
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { authorizationServerMetadata } from '../../issuer/metadata.js'
import { JWKS_MAX_AGE_SECONDS } from '../../issuer/signing-keys.js'
import type { Services } from '../../services.js'
import { json, problems, shuttingDown } from '../schemas.js'

const Jwk = Type.Object(
  {
    kty: Type.String(),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
    kid: Type.String(),
    alg: Type.String(),
    use: Type.String(),
  },
  { additionalProperties: false },
)

const Metadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  access_token_signing_alg_values_supported: Type.Array(Type.String()),
  service_documentation: Type.String(),
})

export async function wellKnownRoutes(app: FastifyInstance, { keys, config }: Services) {
  const metadata = authorizationServerMetadata(config.publicUrl)

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        summary: 'The public keys that verify broker tokens (RFC 7517)',
        tags: ['broker tokens'],
        response: { 200: json('JSON Web Key Set', Type.Object({ keys: Type.Array(Jwk) })), ...problems(500), ...shuttingDown() },
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
