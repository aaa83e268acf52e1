// The internal API for connections: connect sessions (connect:write), token vending
// (tokens:read), metadata (connections:read), revocation (connections:revoke).
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from 'typebox'
import { problem } from '../../errors.js'
import { connectionView } from '../../connections/connection-store.js'
import { redirectUriFor } from '../../oauth/authorization-request.js'
import type { Provider } from '../../providers/schema.js'
import type { Services } from '../../services.js'
import { StringEnum } from '../../validation.js'
import { AUTHENTICATED, json, Limit, noContent, problems, requiresScope, Timestamp, WITH_BODY } from '../schemas.js'

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })
const OwnerId = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: "The caller's identifier for whose connection it is" })
const ProviderKey = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]*$' })
const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

const NewConnectSession = Type.Object(
  {
    provider: ProviderKey,
    ownerId: OwnerId,
    returnUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'Must be under one of the allowed return URLs of the calling service client' })),
    params: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), Type.String({ maxLength: 256 }), { additionalProperties: false, maxProperties: 20 })),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' }), { maxItems: 100 })),
    connectionId: Type.Optional(Id),
  },
  { additionalProperties: false },
)

const ConnectSession = Type.Object({
  id: Type.String(),
  connectUrl: Type.String({ description: "Send the end user's browser here" }),
  expiresAt: Timestamp,
})

const Connection = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  ownerId: Type.String(),
  status: StringEnum(['active', 'reauthorization_required']),
  scopes: Type.Array(Type.String()),
  expiresAt: Type.Union([Timestamp, Type.Null()], { description: 'Expiry of the current access token; null when the provider gave none' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastRefreshedAt: Type.Union([Timestamp, Type.Null()]),
  lastErrorCode: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Object({}, { additionalProperties: true, description: 'Non-secret fields of the provider token response (account ids, ...)' }),
  params: Type.Object({}, { additionalProperties: true, description: 'Connect parameters (e.g. subdomain)' }),
})

const ListQuery = Type.Object(
  {
    provider: Type.Optional(ProviderKey),
    ownerId: Type.Optional(OwnerId),
    status: Type.Optional(StringEnum(['active', 'reauthorization_required'])),
    cursor: Type.Optional(Id),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
)

const AccessTokenRequest = Type.Object(
  {
    minValiditySeconds: Type.Integer({ minimum: 0, maximum: 86_400, default: 60, description: 'The token must stay valid at least this long; the broker refreshes first if not' }),
    forceRefresh: Type.Boolean({ default: false, description: 'Refresh even if the token is fresh (concurrent calls still share one refresh)' }),
  },
  { additionalProperties: false },
)

const NewConnection = Type.Object(
  {
    provider: ProviderKey,
    ownerId: OwnerId,
    credentials: Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), Type.Union([Type.String({ maxLength: 16_384 }), Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100 })]), {
      additionalProperties: false,
      maxProperties: 12,
      description:
        "The provider's own credential fields (respond.io {apiKey}; Interact {intranetUrl, apiKey, apiSecret}), or for OAuth 2.0 providers tokens imported from another system {accessToken, refreshToken?, expiresAt?, scopes?}",
    }),
    params: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), Type.String({ maxLength: 256 }), { additionalProperties: false, maxProperties: 20 })),
  },
  { additionalProperties: false },
)

const ProviderView = Type.Object({
  key: Type.String(),
  displayName: Type.String(),
  mode: StringEnum(['oauth2', 'api_key', 'credential_exchange']),
  docsUrl: Type.Union([Type.String(), Type.Null()]),
  redirectUri: Type.Union([Type.String(), Type.Null()], { description: 'The redirect URI to register at the provider (OAuth 2.0 providers)' }),
  scopes: Type.Array(Type.String(), { description: 'Scopes requested by default (OAuth 2.0 providers)' }),
  pkce: Type.Boolean(),
  issuer: Type.Union([Type.String(), Type.Null()]),
  revocation: StringEnum(['rfc7009', 'bearer_delete', 'none']),
  params: Type.Array(Type.Object({ name: Type.String(), pattern: Type.String(), description: Type.Union([Type.String(), Type.Null()]) }), {
    description: 'Connect-session params the provider needs (URL placeholders)',
  }),
  credentialFields: Type.Array(Type.Object({ name: Type.String(), label: Type.String(), kind: Type.String() }), {
    description: 'What a user supplies (API-key and credential-exchange providers)',
  }),
  apiHeaders: Type.Array(Type.String(), { description: 'Headers handed out with tokens besides Authorization' }),
})

const AccessToken = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.String(),
  expiresAt: Type.Union([Timestamp, Type.Null()], { description: 'True expiry; may be sooner than asked when the provider issues short lifetimes' }),
  scopes: Type.Array(Type.String()),
  provider: Type.String(),
  connectionId: Type.String(),
  headers: Type.Record(Type.String(), Type.String(), {
    description: "Headers the provider's API needs besides `Authorization: <tokenType> <accessToken>` (Interact: X-Tenant); empty for most providers",
  }),
})

export async function connectionRoutes(app: FastifyInstance, { connect, connections, freshTokens, revocations, clients, config }: Services) {
  const providers = [...config.providers.values()].map((p) => providerView(p, config.publicUrl))

  app.get(
    '/v1/providers',
    {
      schema: {
        summary: 'List the configured providers',
        description: 'What the broker can connect to, and what each needs. Never a secret.',
        tags: ['connections'],
        ...requiresScope('connections:read'),
        response: { 200: json('Configured providers', Type.Object({ items: Type.Array(ProviderView) })), ...problems(...AUTHENTICATED) },
      },
    },
    async () => ({ items: providers }),
  )

  app.post(
    '/v1/connections',
    {
      schema: {
        summary: 'Create a connection from credentials',
        description:
          'For API-key and credential-exchange providers the credentials are checked with the provider first. For OAuth 2.0 providers, existing tokens are imported as they are.',
        tags: ['connections'],
        ...requiresScope('connections:write'),
        body: NewConnection,
        response: { 201: json('The connection (metadata only)', Connection), ...problems(...WITH_BODY, ...AUTHENTICATED, 503) },
      },
    },
    async (request, reply) => {
      const caller = clients.cached(request.caller!.clientId)
      if (!caller) throw problem('unauthorized')
      return reply.code(201).send(await connect.createFromCredentials(caller, request.body as Static<typeof NewConnection>))
    },
  )

  app.post(
    '/v1/connect-sessions',
    {
      schema: {
        summary: 'Create a connect session',
        description:
          "Returns a connect URL to send the end user's browser to. The session expires on its own. `connectionId` re-authorizes that connection in place.",
        tags: ['connections'],
        ...requiresScope('connect:write'),
        body: NewConnectSession,
        response: { 201: json('The session', ConnectSession), ...problems(...WITH_BODY, ...AUTHENTICATED, 503) },
      },
    },
    async (request, reply) => {
      const caller = clients.cached(request.caller!.clientId)
      if (!caller) throw problem('unauthorized')
      const session = await connect.createSession(caller, request.body as Static<typeof NewConnectSession>)
      return reply.code(201).header('cache-control', 'no-store').send(session)
    },
  )

  app.get(
    '/v1/connections',
    {
      schema: {
        summary: 'List connections',
        description: 'Metadata only, never tokens. Ordered by id; pass nextCursor as cursor for the next page.',
        tags: ['connections'],
        ...requiresScope('connections:read'),
        querystring: ListQuery,
        response: {
          200: json('A page of connections', Type.Object({ items: Type.Array(Connection), nextCursor: Type.Union([Type.String(), Type.Null()]) })),
          ...problems(400, ...AUTHENTICATED, 503),
        },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof ListQuery>
      const page = await connections.list({ ...q, limit: q.limit ?? 50 })
      return { items: page.items.map(connectionView), nextCursor: page.nextCursor }
    },
  )

  app.get(
    '/v1/connections/:id',
    {
      schema: {
        summary: 'Get a connection',
        tags: ['connections'],
        ...requiresScope('connections:read'),
        params: IdParams,
        response: { 200: json('The connection (metadata only)', Connection), ...problems(400, ...AUTHENTICATED, 404, 503) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParams>
      const row = await connections.get(id)
      if (!row || row.status === 'revoked') throw problem('connection_not_found')
      return connectionView(row)
    },
  )

  app.delete(
    '/v1/connections/:id',
    {
      schema: {
        summary: 'Delete a connection, revoking it at the provider',
        description:
          'Revokes at the provider where it can (the refresh token first, then the access token), deletes the tokens, and answers 204; ' +
          'the connection answers 404 from then on. The outcome at the provider is recorded in the audit event connection.revoked.',
        tags: ['connections'],
        ...requiresScope('connections:revoke'),
        params: IdParams,
        // No body is expected, but Fastify parses one when sent: 413/415 can answer.
        response: { 204: noContent('Revoked and deleted'), ...problems(...WITH_BODY, ...AUTHENTICATED, 404, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>
      await revocations.revoke(id, request.caller!.clientId)
      return reply.code(204).send()
    },
  )

  app.post(
    '/v1/connections/:id/access-token',
    {
      schema: {
        summary: "Get the connection's access token, fresh",
        description:
          'The token returned is valid for at least minValiditySeconds (default 60), refreshed first when needed; concurrent callers share one refresh. ' +
          'If even a fresh token cannot last that long, it is returned with its true expiresAt.',
        tags: ['connections'],
        ...requiresScope('tokens:read'),
        params: IdParams,
        body: AccessTokenRequest,
        response: {
          200: json("The provider's access token", AccessToken),
          ...problems(...WITH_BODY, ...AUTHENTICATED, 404, 409, 502, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Static<typeof IdParams>
      const body = request.body as Static<typeof AccessTokenRequest>
      const token = await freshTokens.accessToken(id, { minValiditySeconds: body.minValiditySeconds, forceRefresh: body.forceRefresh }, request.caller!.clientId)
      return reply.header('cache-control', 'no-store').send(token)
    },
  )
}

function providerView(p: Provider, publicUrl: string): Static<typeof ProviderView> {
  const oauth2 = p.mode === 'oauth2' ? p : undefined
  return {
    key: p.key,
    displayName: p.displayName,
    mode: p.mode,
    docsUrl: p.docsUrl ?? null,
    redirectUri: oauth2 ? redirectUriFor(publicUrl, p.key) : null,
    scopes: oauth2?.scopes ?? [],
    pkce: oauth2?.pkce ?? false,
    issuer: oauth2?.issuer ?? null,
    revocation: oauth2?.revocation ?? 'none',
    params: oauth2 ? Object.entries(p.params).map(([name, spec]) => ({ name, pattern: spec.pattern, description: spec.description ?? null })) : [],
    credentialFields: p.mode === 'oauth2' ? [] : p.credentialFields.map((f) => ({ name: f.name, label: f.label, kind: f.kind })),
    apiHeaders: Object.keys(p.apiHeaders),
  }
}
