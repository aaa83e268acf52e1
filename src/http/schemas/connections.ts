// Schemas of the connection routes (routes/connections.ts), built from the domain's
// constants: provider keys, modes, revocation methods, param names and scopes come from
// the provider schema, so the API refuses exactly what a providers file would.
import { Type } from 'typebox'
import type { ConnectionStatus } from '../../connections/connection-store.js'
import {
  AUTH_MODES,
  CREDENTIAL_FIELD_KINDS,
  PARAM_NAME_PATTERN,
  PROVIDER_KEY_PATTERN,
  ProviderScope,
  REVOCATION_METHODS,
} from '../../providers/schema.js'
import { StringEnum } from '../../validation.js'
import { Limit, Namespace, Timestamp, named } from './common.js'

/** The statuses a caller sees: a revoked connection is gone (404). */
const VISIBLE_STATUSES = [
  'active',
  'pending_confirmation',
  'reauthorization_required',
] as const satisfies readonly ConnectionStatus[]

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })
const OwnerId = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description: "The caller's identifier for whose connection it is",
})
const ProviderKey = Type.String({ minLength: 1, maxLength: 63, pattern: PROVIDER_KEY_PATTERN })
const ConnectParams = Type.Record(Type.String({ pattern: PARAM_NAME_PATTERN }), Type.String({ maxLength: 256 }), {
  additionalProperties: false,
  maxProperties: 20,
})

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

export const NewConnectSession = Type.Object(
  {
    provider: ProviderKey,
    ownerId: OwnerId,
    returnUrl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'Must be under one of the allowed return URLs of the calling service client',
      }),
    ),
    params: Type.Optional(ConnectParams),
    scopes: Type.Optional(Type.Array(ProviderScope, { maxItems: 100 })),
    connectionId: Type.Optional(Id),
    namespace: Type.Optional({
      ...Namespace,
      description: "Optional when the caller holds exactly one namespace; with connectionId, that connection's",
    }),
    confirm: Type.Optional(
      Type.Boolean({
        description:
          'Hold the grant until the service confirms its end user with the code sent to returnUrl ' +
          "(POST /v1/connections/{id}/confirm); needs a returnUrl. Default: the client's " +
          'requireConfirmation when returnUrl is given, else false',
      }),
    ),
  },
  { additionalProperties: false },
)

export const ConnectSession = Type.Object({
  id: Type.String(),
  connectUrl: Type.String({ description: "Send the end user's browser here" }),
  expiresAt: Timestamp,
})

export const Connection = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  ownerId: Type.String(),
  namespace: Type.String(),
  status: StringEnum(VISIBLE_STATUSES),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.Union([Timestamp, Type.Null()], {
    description: 'Expiry of the current access token; null when the provider gave none',
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastRefreshedAt: Type.Union([Timestamp, Type.Null()]),
  lastErrorCode: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Object(
    {},
    { additionalProperties: true, description: 'Non-secret fields of the provider token response (account ids, ...)' },
  ),
  params: Type.Object({}, { additionalProperties: true, description: 'Connect parameters (e.g. subdomain)' }),
  pendingConfirmation: Type.Boolean({
    description:
      'A grant waits for POST /v1/connections/{id}/confirm: a new connection (status pending_confirmation), ' +
      'or a re-authorization (the old grant stays in use until then)',
  }),
})

export const ConnectionPage = Type.Object({
  items: Type.Array(Connection),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
})

export const ListQuery = Type.Object(
  {
    provider: Type.Optional(ProviderKey),
    ownerId: Type.Optional(OwnerId),
    status: Type.Optional(StringEnum(VISIBLE_STATUSES)),
    namespace: Type.Optional({
      ...Namespace,
      description: "Only this namespace (one the caller holds); default: all the caller's",
    }),
    cursor: Type.Optional(Id),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
)

export const AccessTokenRequest = Type.Object(
  {
    minValiditySeconds: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      default: 60,
      description: 'The token must stay valid at least this long; the broker refreshes first if not',
    }),
    forceRefresh: Type.Boolean({
      default: false,
      description: 'Refresh even if the token is fresh (concurrent calls still share one refresh)',
    }),
  },
  { additionalProperties: false },
)

export const NewConnection = Type.Object(
  {
    provider: ProviderKey,
    ownerId: OwnerId,
    credentials: Type.Record(
      Type.String({ pattern: PARAM_NAME_PATTERN }),
      Type.Union([Type.String({ maxLength: 16_384 }), Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })]),
      {
        additionalProperties: false,
        maxProperties: 12,
        description:
          "The provider's own credential fields (respond.io {apiKey}; Interact " +
          '{intranetUrl, apiKey, apiSecret}), or for OAuth 2.0 providers tokens imported ' +
          'from another system {accessToken, refreshToken?, expiresAt?, scopes?}',
      },
    ),
    params: Type.Optional(ConnectParams),
    namespace: Type.Optional({ ...Namespace, description: 'Optional when the caller holds exactly one namespace' }),
  },
  { additionalProperties: false },
)

export const ProviderView = Type.Object({
  key: Type.String(),
  displayName: Type.String(),
  mode: StringEnum(AUTH_MODES),
  docsUrl: Type.Union([Type.String(), Type.Null()]),
  redirectUri: Type.Union([Type.String(), Type.Null()], {
    description: 'The redirect URI to register at the provider (OAuth 2.0 providers)',
  }),
  scopes: Type.Array(Type.String(), { description: 'Scopes requested by default (OAuth 2.0 providers)' }),
  pkce: Type.Boolean(),
  issuer: Type.Union([Type.String(), Type.Null()]),
  revocation: StringEnum(REVOCATION_METHODS),
  params: Type.Array(
    Type.Object({ name: Type.String(), pattern: Type.String(), description: Type.Union([Type.String(), Type.Null()]) }),
    {
      description: 'Connect-session params the provider needs (URL placeholders)',
    },
  ),
  credentialFields: Type.Array(
    Type.Object({ name: Type.String(), label: Type.String(), kind: StringEnum(CREDENTIAL_FIELD_KINDS) }),
    {
      description: 'What a user supplies (API-key and credential-exchange providers)',
    },
  ),
  apiHeaders: Type.Array(Type.String(), { description: 'Headers handed out with tokens besides Authorization' }),
})

export const AccessToken = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.String(),
  expiresAt: Type.Union([Timestamp, Type.Null()], {
    description: 'True expiry; may be sooner than asked when the provider issues short lifetimes',
  }),
  scopes: Type.Array(Type.String()),
  provider: Type.String(),
  connectionId: Type.String(),
  headers: Type.Record(Type.String(), Type.String(), {
    description:
      "Headers the provider's API needs besides `Authorization: <tokenType> " +
      '<accessToken>` (Interact: X-Tenant); empty for most providers',
  }),
})

named({
  NewConnectSession,
  ConnectSession,
  Connection,
  ConnectionPage,
  AccessTokenRequest,
  NewConnection,
  Provider: ProviderView,
  AccessToken,
})
