// The internal API for connections: connect sessions (connect:write), token vending
// (tokens:read), metadata (connections:read), revocation (connections:revoke). Each sees
// only the connections of the caller's namespaces (service-clients/namespaces.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { problem } from '../../errors.js'
import { connectionView, visibleRow } from '../../connections/connection-store.js'
import { redirectUriFor } from '../../oauth/authorization-request.js'
import type { Provider } from '../../providers/schema.js'
import { listableNamespaces } from '../../service-clients/namespaces.js'
import type { Services } from '../../services.js'
import { callerOf } from '../auth.js'
import { AUTHENTICATED, json, noContent, problems, requiresScope, WITH_BODY } from '../schemas/common.js'
import {
  AccessToken,
  AccessTokenRequest,
  Connection,
  ConnectionPage,
  ConnectSession,
  IdParams,
  ListQuery,
  NewConnectSession,
  NewConnection,
  ProviderView,
} from '../schemas/connections.js'

export const connectionRoutes: FastifyPluginAsyncTypebox<Services> = async (
  app,
  { connect, connections, freshTokens, revocations, clients, config, pending },
) => {
  const providers = [...config.providers.values()].map((p) => providerView(p, config.publicUrl))

  app.get(
    '/v1/providers',
    {
      schema: {
        operationId: 'listProviders',
        summary: 'List the configured providers',
        description: 'What the broker can connect to, and what each needs. Never a secret.',
        tags: ['connections'],
        ...requiresScope('connections:read'),
        response: {
          200: json('Configured providers', Type.Object({ items: Type.Array(ProviderView) })),
          ...problems(...AUTHENTICATED),
        },
      },
    },
    async () => ({ items: providers }),
  )

  app.post(
    '/v1/connections',
    {
      schema: {
        operationId: 'createConnection',
        summary: 'Create a connection from credentials',
        description:
          'For API-key and credential-exchange providers the credentials are checked with the ' +
          'provider first. For OAuth 2.0 providers, existing tokens are imported as they are.',
        tags: ['connections'],
        ...requiresScope('connections:write'),
        body: NewConnection,
        response: {
          201: json('The connection (metadata only)', Connection),
          ...problems(...WITH_BODY, ...AUTHENTICATED, 503),
        },
      },
    },
    async (request, reply) => {
      const caller = clients.cached(callerOf(request).clientId)
      if (!caller) throw problem('unauthorized')
      return reply.code(201).send(await connect.createFromCredentials(caller, request.body))
    },
  )

  app.post(
    '/v1/connect-sessions',
    {
      schema: {
        operationId: 'createConnectSession',
        summary: 'Create a connect session',
        description:
          "Returns a connect URL to send the end user's browser to. The session " +
          'expires on its own. `connectionId` re-authorizes that connection in place.',
        tags: ['connections'],
        ...requiresScope('connect:write'),
        body: NewConnectSession,
        response: { 201: json('The session', ConnectSession), ...problems(...WITH_BODY, ...AUTHENTICATED, 503) },
      },
    },
    async (request, reply) => {
      const caller = clients.cached(callerOf(request).clientId)
      if (!caller) throw problem('unauthorized')
      const session = await connect.createSession(caller, request.body)
      return reply.code(201).header('cache-control', 'no-store').send(session)
    },
  )

  app.get(
    '/v1/connections',
    {
      schema: {
        operationId: 'listConnections',
        summary: 'List connections',
        description: 'Metadata only, never tokens. Ordered by id; pass nextCursor as cursor for the next page.',
        tags: ['connections'],
        ...requiresScope('connections:read'),
        querystring: ListQuery,
        response: {
          200: json('A page of connections', ConnectionPage),
          ...problems(400, ...AUTHENTICATED, 503),
        },
      },
    },
    async (request) => {
      const { namespace, ...q } = request.query
      const namespaces = listableNamespaces(callerOf(request).namespaces, namespace)
      const page = await connections.list({ ...q, namespaces, limit: q.limit ?? 50 })
      const waiting = await pending.pendingAmong(page.items.map((row) => row.id))
      return { items: page.items.map((row) => connectionView(row, waiting.has(row.id))), nextCursor: page.nextCursor }
    },
  )

  app.get(
    '/v1/connections/:id',
    {
      schema: {
        operationId: 'getConnection',
        summary: 'Get a connection',
        tags: ['connections'],
        ...requiresScope('connections:read'),
        params: IdParams,
        response: {
          200: json('The connection (metadata only)', Connection),
          ...problems(400, ...AUTHENTICATED, 404, 503),
        },
      },
    },
    async (request) => {
      const row = visibleRow(await connections.get(request.params.id), callerOf(request).namespaces)
      return connectionView(row, (await pending.pendingAmong([row.id])).has(row.id))
    },
  )

  app.delete(
    '/v1/connections/:id',
    {
      schema: {
        operationId: 'deleteConnection',
        summary: 'Delete a connection, revoking it at the provider',
        description:
          'Revokes at the provider where it can (the refresh token first, ' +
          'then the access token), deletes the tokens, and answers 204; ' +
          'the connection answers 404 from then on. The outcome at the ' +
          'provider is recorded in the audit event connection.revoked.',
        tags: ['connections'],
        ...requiresScope('connections:revoke'),
        params: IdParams,
        // No body is expected, but Fastify parses one when sent: 413/415 can answer.
        response: { 204: noContent('Revoked and deleted'), ...problems(...WITH_BODY, ...AUTHENTICATED, 404, 503) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request)
      await revocations.revoke(request.params.id, caller.clientId, caller.namespaces)
      return reply.code(204).send()
    },
  )

  app.post(
    '/v1/connections/:id/access-token',
    {
      schema: {
        operationId: 'getAccessToken',
        summary: "Get the connection's access token, fresh",
        description:
          'The token returned is valid for at least minValiditySeconds (default ' +
          '60), refreshed first when needed; concurrent callers share one refresh. ' +
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
      const { minValiditySeconds, forceRefresh } = request.body
      const caller = callerOf(request)
      const token = await freshTokens.accessToken(
        request.params.id,
        { minValiditySeconds, forceRefresh },
        caller.clientId,
        caller.namespaces,
      )
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
    params: oauth2
      ? Object.entries(p.params).map(([name, spec]) => ({
          name,
          pattern: spec.pattern,
          description: spec.description ?? null,
        }))
      : [],
    credentialFields:
      p.mode === 'oauth2' ? [] : p.credentialFields.map((f) => ({ name: f.name, label: f.label, kind: f.kind })),
    apiHeaders: Object.keys(p.apiHeaders),
  }
}
