// Schemas of the signing-key admin routes (routes/signing-keys.ts).
import { Type } from 'typebox'
import {
  DEFAULT_ACTIVATION_DELAY_SECONDS,
  MAX_ACTIVATION_DELAY_SECONDS,
  MIN_ACTIVATION_DELAY_SECONDS,
  SIGNING_KEY_STATUSES,
} from '../../issuer/signing-keys.js'
import { StringEnum } from '../../validation.js'
import { Timestamp, named } from './common.js'

export const SigningKey = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  status: StringEnum(SIGNING_KEY_STATUSES),
  createdAt: Timestamp,
  activatesAt: Timestamp,
  retiresAt: Type.Union([Timestamp, Type.Null()]),
})

export const RotateRequest = Type.Object(
  {
    activateInSeconds: Type.Integer({
      minimum: MIN_ACTIVATION_DELAY_SECONDS,
      maximum: MAX_ACTIVATION_DELAY_SECONDS,
      default: DEFAULT_ACTIVATION_DELAY_SECONDS,
      description:
        'Delay between publishing the new key in the JWKS and signing with it; at least the JWKS cache ' +
        `lifetime (${MIN_ACTIVATION_DELAY_SECONDS} s), so verifiers see the key before its first token`,
    }),
  },
  { additionalProperties: false },
)

named({ SigningKey, SigningKeyRotation: RotateRequest })
