// Admin API for the audit trail (scope clients:admin), newest first, by connection or type.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Services } from '../../services.js'
import { canManage } from '../../service-clients/client-changes.js'
import { listableNamespaces } from '../../service-clients/namespaces.js'
import { callerOf } from '../auth.js'
import { perMinute } from '../rate-limits.js'
import { AuditEventPage, AuditQuery } from '../schemas/audit-events.js'
import { AUTHENTICATED, RATE_LIMITED, json, problems, requiresScope } from '../schemas/common.js'

export const auditEventRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { audit, clients, config }) => {
  const rateLimit = perMinute(config.rateLimits.admin)
  app.get(
    '/v1/audit-events',
    {
      schema: {
        operationId: 'listAuditEvents',
        summary: 'List audit events',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        querystring: AuditQuery,
        response: {
          200: json('A page of events, newest first', AuditEventPage),
          ...problems(400, ...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async (request) => {
      const q = request.query
      // An admin sees the events of its own namespaces' connections only, and of the other
      // events those caused by itself or by clients it manages (not another namespace's).
      const held = callerOf(request).namespaces
      const namespaces = listableNamespaces(held, q.namespace)
      const actors = namespaces && (await clients.list()).filter((c) => canManage(held, c.namespaces))
      return audit.list({
        connectionId: q.connectionId,
        type: q.type,
        namespaces,
        actors: actors?.map((c) => c.clientId),
        namespace: q.namespace,
        cursor: q.cursor,
        limit: q.limit ?? 50,
      })
    },
  )
}
