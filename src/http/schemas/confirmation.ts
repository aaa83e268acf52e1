// Schemas of the confirmation routes (routes/confirmation.ts).
import { Type } from 'typebox'
import { StringEnum } from '../../validation.js'
import { named, Timestamp } from './common.js'

export const ConfirmRequest = Type.Object(
  {
    confirmationCode: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'The confirmation_code the browser brought to returnUrl',
    }),
    accept: Type.Boolean({
      default: true,
      description: 'false: the end user is not the intended owner; the grant is discarded and revoked',
    }),
  },
  { additionalProperties: false },
)

export const SessionIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
)

export const ConnectSessionStatus = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  ownerId: Type.String(),
  namespace: Type.String(),
  status: StringEnum(['pending', 'completed', 'pending_confirmation', 'failed', 'expired'] as const),
  connectionId: Type.Optional(Type.String({ description: 'The connection made (or re-authorized)' })),
  error: Type.Optional(
    Type.String({
      description:
        'Why it failed: a connect error code, or confirmation_rejected, confirmation_failed ' +
        '(5 wrong codes), confirmation_superseded (a later re-authorization)',
    }),
  ),
  expiresAt: Timestamp,
})

named({ ConfirmRequest, ConnectSessionStatus })
