// Schemas of the operations routes (routes/operations.ts) and the public discovery
// documents (routes/well-known.ts).
import { Type } from 'typebox'
import { StringEnum } from '../../validation.js'
import { named } from './common.js'

export const Health = Type.Object({ status: StringEnum(['ok']) })

export const DATABASE_CHECKS = ['ok', 'unreachable'] as const
export const MIGRATION_CHECKS = ['ok', 'pending', 'unknown'] as const
export const Readiness = Type.Object({
  status: StringEnum(['ready', 'unavailable']),
  checks: Type.Object({
    database: StringEnum(DATABASE_CHECKS),
    migrations: StringEnum(MIGRATION_CHECKS),
  }),
})

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
export const Jwks = Type.Object({ keys: Type.Array(Jwk) })

export const Metadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  token_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  access_token_signing_alg_values_supported: Type.Array(Type.String()),
  service_documentation: Type.String(),
})

named({ Health, Readiness, Jwk, JwkSet: Jwks, AuthorizationServerMetadata: Metadata })
