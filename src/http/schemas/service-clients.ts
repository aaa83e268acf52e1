// Schemas of the service-client admin routes (routes/service-clients.ts).
import { Type } from 'typebox'
import { ALL_NAMESPACES, MAX_NAMESPACES, NAMESPACE_PATTERN } from '../../service-clients/namespaces.js'
import { SCOPES } from '../../service-clients/scopes.js'
import { StringEnum } from '../../validation.js'
import { Timestamp } from './common.js'

export const ServiceClient = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(StringEnum(SCOPES)),
  namespaces: Type.Array(Type.String(), { description: 'The namespaces whose connections it may touch; ["*"]: all' }),
  allowedReturnUrls: Type.Array(Type.String()),
  createdAt: Timestamp,
})

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' })
// Checked against SCOPES by the service, which names the unknown scope in its 400.
const Scopes = Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: SCOPES.length })
const NAMESPACES_DESCRIPTION = `Namespace names, or ["${ALL_NAMESPACES}"] for all; an admin grants only namespaces it holds`
const Namespaces = Type.Array(Type.String({ maxLength: 63, pattern: `^(\\${ALL_NAMESPACES}|${NAMESPACE_PATTERN.slice(1, -1)})$` }), {
  minItems: 1,
  maxItems: MAX_NAMESPACES,
  description: NAMESPACES_DESCRIPTION,
})
const ReturnUrls = Type.Array(Type.String({ maxLength: 2048 }), { maxItems: 50 })

export const NewServiceClient = Type.Object(
  {
    name: Name,
    scopes: Scopes,
    namespaces: Type.Optional({ ...Namespaces, description: `${NAMESPACES_DESCRIPTION}; default ["default"]` }),
    allowedReturnUrls: Type.Array(Type.String({ maxLength: 2048 }), { default: [], maxItems: 50 }),
  },
  { additionalProperties: false },
)

/** PATCH: each field given replaces the stored one (keys, webhooks and confirmation join later as optional fields). */
export const ServiceClientChanges = Type.Object(
  {
    name: Type.Optional(Name),
    scopes: Type.Optional(Scopes),
    namespaces: Type.Optional(Namespaces),
    allowedReturnUrls: Type.Optional(ReturnUrls),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const ClientIdParams = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' }) }, { additionalProperties: false })
