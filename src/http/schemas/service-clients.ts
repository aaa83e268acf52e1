// Schemas of the service-client admin routes (routes/service-clients.ts).
import { Type } from 'typebox'
import { SCOPES } from '../../service-clients/scopes.js'
import { StringEnum } from '../../validation.js'
import { Timestamp } from './common.js'

export const ServiceClient = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(StringEnum(SCOPES)),
  allowedReturnUrls: Type.Array(Type.String()),
  createdAt: Timestamp,
})

export const NewServiceClient = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    // Checked against SCOPES by the service, which names the unknown scope in its 400.
    scopes: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: SCOPES.length }),
    allowedReturnUrls: Type.Array(Type.String({ maxLength: 2048 }), { default: [], maxItems: 50 }),
  },
  { additionalProperties: false },
)

export const ClientIdParams = Type.Object(
  { clientId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' }) },
  { additionalProperties: false },
)
