// Admin API for the audit trail (scope clients:admin), newest first, by connection or type.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from 'typebox'
import { AUDIT_EVENT_TYPES } from '../../audit/audit-log.js'
import type { Services } from '../../services.js'
import { perMinute } from '../rate-limits.js'
import { StringEnum } from '../../validation.js'
import { AUTHENTICATED, RATE_LIMITED, json, Limit, problems, requiresScope, Timestamp } from '../schemas.js'

const AuditEvent = Type.Object({
  id: Type.String(),
  occurredAt: Timestamp,
  type: Type.String(),
  actor: Type.String({ description: 'Service client id, or bootstrap, cli, system' }),
  connectionId: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Object({}, { additionalProperties: true }),
})

const AuditQuery = Type.Object(
  {
    connectionId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
    type: Type.Optional(StringEnum(AUDIT_EVENT_TYPES)),
    // At most 18 digits: always inside PostgreSQL's bigint.
    cursor: Type.Optional(Type.String({ maxLength: 18, pattern: '^[0-9]+$', description: 'nextCursor of the previous page' })),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
)

export async function auditEventRoutes(app: FastifyInstance, { audit, config }: Services) {
  const rateLimit = perMinute(config.rateLimits.admin)
  app.get(
    '/v1/audit-events',
    {
      schema: {
        summary: 'List audit events',
        tags: ['admin'],
        ...requiresScope('clients:admin'),
        querystring: AuditQuery,
        response: {
          200: json('A page of events, newest first', Type.Object({ items: Type.Array(AuditEvent), nextCursor: Type.Union([Type.String(), Type.Null()]) })),
          ...problems(400, ...AUTHENTICATED, ...RATE_LIMITED, 503),
        },
      },
      config: { rateLimit },
    },
    async (request) => {
      const q = request.query as Static<typeof AuditQuery>
      return audit.list({ connectionId: q.connectionId, type: q.type, cursor: q.cursor, limit: q.limit ?? 50 })
    },
  )
}
