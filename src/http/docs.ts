// OpenAPI: @fastify/swagger builds the document from the route schemas (the one source
// of truth); `npm run openapi` writes it to openapi.yaml, a test fails when they differ,
// and /docs renders it with Swagger UI served from the package (no third-party content).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { SCOPES } from '../service-clients/scopes.js'
import { refineDocument } from './openapi-refine.js'

export const OPENAPI_INFO = {
  title: 'OAuth broker',
  version: '0.1.0',
  description:
    'Owns third-party OAuth client secrets, runs the ' +
    'authorization-code dance for end users, stores and refreshes their ' +
    'provider tokens, and hands fresh tokens to internal services. ' +
    'Errors are application/problem+json (RFC 9457) with a stable `code`.',
  license: { name: 'Apache-2.0' },
}

export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    // Shared schemas (app.addSchema) become components named after their $id.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // Titled schemas become components; request ids and Retry-After are documented (openapi-refine.ts).
    transformObject: (document) =>
      refineDocument((document as { openapiObject: Record<string, unknown> }).openapiObject) as never,
    openapi: {
      openapi: '3.0.3',
      info: OPENAPI_INFO,
      tags: [
        { name: 'connections', description: 'Connect sessions, provider tokens, connections' },
        { name: 'connect', description: "Browser routes of the connect flow (the end user's browser, not services)" },
        { name: 'broker tokens', description: 'The broker as an authorization server for service clients' },
        { name: 'admin', description: 'Service clients, signing keys, audit events (scope clients:admin)' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
      components: {
        securitySchemes: {
          brokerToken: {
            type: 'oauth2',
            description:
              'A broker token (JWT, RFC 9068) from POST /oauth/token, sent as `Authorization: Bearer <token>`.',
            flows: {
              clientCredentials: {
                tokenUrl: '/oauth/token',
                scopes: Object.fromEntries(SCOPES.map((s) => [s, s])),
              },
            },
          },
          clientBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'Service client id and secret (RFC 6749 §2.3.1)',
          },
        },
      },
    },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { deepLinking: true, docExpansion: 'list' },
  })
}
