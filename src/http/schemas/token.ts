// Schemas of POST /oauth/token (routes/token.ts): RFC 6749 §4.4 and RFC 8693 §2.1 requests,
// §5.1/§5.2 answers.
import { Type } from 'typebox'
import { OAUTH_ERRORS, type OAuthErrorCode } from '../../errors.js'
import { StringEnum } from '../../validation.js'
import { named } from './common.js'

export const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ maxLength: 100 }),
    scope: Type.Optional(Type.String({ maxLength: 1000 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    // RFC 7523 §2.2 private_key_jwt: a JWT signed with one of the client's registered keys.
    client_assertion_type: Type.Optional(
      Type.String({ maxLength: 100, description: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' }),
    ),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
    // RFC 8693 §2.1 token exchange: a broker token of the calling client for a connection's token.
    subject_token: Type.Optional(Type.String({ maxLength: 8192, description: 'A broker token of the calling client' })),
    subject_token_type: Type.Optional(
      Type.String({ maxLength: 100, description: 'urn:ietf:params:oauth:token-type:access_token' }),
    ),
    requested_token_type: Type.Optional(
      Type.String({ maxLength: 100, description: 'urn:ietf:params:oauth:token-type:access_token (the only one)' }),
    ),
    resource: Type.Optional(Type.String({ maxLength: 200, description: 'urn:oauth-broker:connection:<id>' })),
  },
  // RFC 6749 §3.2: unrecognized parameters are ignored. A repeated parameter arrives as an
  // array and fails its string type: invalid_request.
  { additionalProperties: true },
)

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: "A broker token, or (token exchange) the connection's provider token" }),
  issued_token_type: Type.Optional(
    Type.Literal('urn:ietf:params:oauth:token-type:access_token', { description: 'Token exchange only' }),
  ),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Optional(
    Type.Integer({ description: 'Always for a broker token; absent when the provider gave no expiry' }),
  ),
  scope: Type.String(),
  headers: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: "Token exchange only: headers the provider's API needs besides Authorization (e.g. X-Tenant)",
    }),
  ),
})

/** The RFC 6749 §5.2 error codes this endpoint answers (the registry in errors.ts). */
const OAUTH_ERROR_CODES = Object.keys(OAUTH_ERRORS) as OAuthErrorCode[]

const OAuthError = Type.Object({
  error: StringEnum(OAUTH_ERROR_CODES),
  error_description: Type.Optional(Type.String()),
})

export const oauthError = (description: string) => ({
  description,
  content: { 'application/json': { schema: OAuthError } },
})

named({ TokenRequest, TokenResponse, OAuthError })
