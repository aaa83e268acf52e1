// Schemas of the service-client admin routes (routes/service-clients.ts).
import { Type } from 'typebox'
import { ALL_NAMESPACES, MAX_NAMESPACES, NAMESPACE_PATTERN } from '../../service-clients/namespaces.js'
import { ASSERTION_ALGORITHMS, MAX_CLIENT_KEYS } from '../../service-clients/client-keys.js'
import { SCOPES } from '../../service-clients/scopes.js'
import { DEFAULT_SECRET_OVERLAP_SECONDS, MAX_SECRET_OVERLAP_SECONDS } from '../../service-clients/secrets.js'
import { StringEnum } from '../../validation.js'
import { Timestamp, named } from './common.js'

/** A public key as stored: only its public members. */
const ClientJwk = Type.Object({
  kty: StringEnum(['RSA', 'EC', 'OKP'] as const),
  kid: Type.String(),
  use: Type.Optional(Type.Literal('sig')),
  alg: Type.Optional(StringEnum(ASSERTION_ALGORITHMS)),
  key_ops: Type.Optional(Type.Array(Type.Literal('verify'))),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String()),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
})

const REQUIRE_CONFIRMATION =
  'Whether its connect sessions with a returnUrl confirm the end user by default ' +
  '(the grant waits for POST /v1/connections/{id}/confirm)'

export const ServiceClient = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(StringEnum(SCOPES)),
  namespaces: Type.Array(Type.String(), { description: 'The namespaces whose connections it may touch; ["*"]: all' }),
  allowedReturnUrls: Type.Array(Type.String()),
  allowedWebhookUrls: Type.Array(Type.String(), {
    description: 'Where its webhook endpoints may point (origin and path prefix)',
  }),
  jwks: Type.Optional(
    Type.Object(
      { keys: Type.Array(ClientJwk) },
      { description: 'The public keys of a client that authenticates with private_key_jwt' },
    ),
  ),
  createdAt: Timestamp,
  requireConfirmation: Type.Boolean({ description: REQUIRE_CONFIRMATION }),
})

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' })
// Checked against SCOPES by the service, which names the unknown scope in its 400.
const Scopes = Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: SCOPES.length })
const NAMESPACES_DESCRIPTION =
  // biome-ignore lint/style/useTemplate: split to keep the line short
  `Namespace names, or ["${ALL_NAMESPACES}"] for all; ` + 'an admin grants only namespaces it holds'
const Namespaces = Type.Array(
  Type.String({ maxLength: 63, pattern: `^(\\${ALL_NAMESPACES}|${NAMESPACE_PATTERN.slice(1, -1)})$` }),
  {
    minItems: 1,
    maxItems: MAX_NAMESPACES,
    description: NAMESPACES_DESCRIPTION,
  },
)
const ReturnUrls = Type.Array(Type.String({ maxLength: 2048 }), { maxItems: 50 })
const WebhookUrls = Type.Array(Type.String({ maxLength: 2048 }), {
  maxItems: 50,
  description: 'http(s) URLs (origin and path prefix); link-local, multicast and unspecified addresses refused',
})
/**
 * A JWK Set as sent. Its content is checked by the service, which names the key and the
 * member at fault in a 400 invalid_jwks; the schema only bounds its size.
 */
export const JwksInput = Type.Object(
  { keys: Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 100 }) },
  {
    title: 'ClientJwkSet', // set here: Type.Optional copies it
    additionalProperties: true,
    description:
      'Public keys instead of a secret (RFC 7523 private_key_jwt): {"keys": [...]}, ' +
      `at most ${MAX_CLIENT_KEYS} asymmetric ` +
      'public keys (RSA of 2048 bits or more, EC P-256/384/521, OKP Ed25519), ' +
      'each with a kid unique in the set; no private ' +
      'members, no symmetric (oct) keys; use "sig" and an alg fitting the key where given',
  },
)

export const NewServiceClient = Type.Object(
  {
    name: Name,
    scopes: Scopes,
    namespaces: Type.Optional({ ...Namespaces, description: `${NAMESPACES_DESCRIPTION}; default ["default"]` }),
    allowedReturnUrls: Type.Array(Type.String({ maxLength: 2048 }), { default: [], maxItems: 50 }),
    allowedWebhookUrls: Type.Optional({
      ...WebhookUrls,
      description: 'Where its webhook endpoints may point; default []',
    }),
    jwks: Type.Optional(JwksInput),
    requireConfirmation: Type.Optional(Type.Boolean({ description: `${REQUIRE_CONFIRMATION}; default true` })),
  },
  { additionalProperties: false },
)

/** PATCH: each field given replaces the stored one (webhooks and confirmation join later as optional fields). */
export const ServiceClientChanges = Type.Object(
  {
    name: Type.Optional(Name),
    scopes: Type.Optional(Scopes),
    namespaces: Type.Optional(Namespaces),
    allowedReturnUrls: Type.Optional(ReturnUrls),
    allowedWebhookUrls: Type.Optional(WebhookUrls),
    jwks: Type.Optional(JwksInput),
    requireConfirmation: Type.Optional(Type.Boolean({ description: REQUIRE_CONFIRMATION })),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const RotateSecretRequest = Type.Object(
  {
    overlapSeconds: Type.Integer({
      minimum: 0,
      maximum: MAX_SECRET_OVERLAP_SECONDS,
      default: DEFAULT_SECRET_OVERLAP_SECONDS,
      description: 'How long the previous secret keeps working beside the new one (0: it stops at once)',
    }),
  },
  { additionalProperties: false },
)

export const RotatedSecret = Type.Object({
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'The new secret, shown once' }),
  previousSecretExpiresAt: Type.Union([Timestamp, Type.Null()], {
    description: 'Until when the previous secret works; null when it stopped at once',
  }),
})

export const ClientIdParams = Type.Object(
  { clientId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' }) },
  { additionalProperties: false },
)

named({
  ClientJwk,
  ServiceClient,
  NewServiceClient,
  ServiceClientChanges,
  RotateSecretRequest,
  RotatedSecret,
})
