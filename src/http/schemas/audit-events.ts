// Schemas of the audit-trail admin route (routes/audit-events.ts).
import { Type } from 'typebox'
import { AUDIT_EVENT_TYPES } from '../../audit/audit-log.js'
import { StringEnum } from '../../validation.js'
import { Limit, Namespace, Timestamp, named } from './common.js'

const AuditEvent = Type.Object({
  id: Type.String(),
  occurredAt: Timestamp,
  type: Type.String(),
  actor: Type.String({ description: 'Service client id, or bootstrap, cli, system' }),
  connectionId: Type.Union([Type.String(), Type.Null()]),
  namespace: Type.Union([Type.String(), Type.Null()], {
    description: "The connection's namespace; null for events about no connection",
  }),
  detail: Type.Object({}, { additionalProperties: true }),
})

export const AuditEventPage = Type.Object({
  items: Type.Array(AuditEvent),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
})

export const AuditQuery = Type.Object(
  {
    connectionId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })),
    type: Type.Optional(StringEnum(AUDIT_EVENT_TYPES)),
    namespace: Type.Optional({ ...Namespace, description: "Only this namespace's events (one the caller holds)" }),
    // At most 18 digits: always inside PostgreSQL's bigint.
    cursor: Type.Optional(
      Type.String({ maxLength: 18, pattern: '^[0-9]+$', description: 'nextCursor of the previous page' }),
    ),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
)

named({ AuditEvent, AuditEventPage })
