// Schemas of the webhook-endpoint routes (routes/webhook-endpoints.ts).
import { Type } from 'typebox'
import { ALL_NAMESPACES, MAX_NAMESPACES, NAMESPACE_PATTERN } from '../../service-clients/namespaces.js'
import { StringEnum } from '../../validation.js'
import { EVENT_TYPES } from '../../webhooks/lifecycle-events.js'
import { Limit, named, Timestamp } from './common.js'

const EventTypes = Type.Array(StringEnum(['*', ...EVENT_TYPES] as const), {
  minItems: 1,
  maxItems: EVENT_TYPES.length,
  description: `The event types to receive, or ["*"] for all`,
})

const Namespaces = Type.Array(
  Type.String({ maxLength: 63, pattern: `^(\\${ALL_NAMESPACES}|${NAMESPACE_PATTERN.slice(1, -1)})$` }),
  {
    minItems: 1,
    maxItems: MAX_NAMESPACES,
    description: "Whose events it receives; default: the caller's namespaces, never beyond them",
  },
)

export const WebhookEndpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  namespaces: Type.Array(Type.String()),
  enabled: Type.Boolean({ description: 'False when disabled by PATCH, or after 5 days of failed deliveries' }),
  createdAt: Timestamp,
})

export const NewWebhookEndpoint = Type.Object(
  {
    url: Type.String({
      maxLength: 2048,
      description: "Under one of the service client's allowedWebhookUrls (origin and path prefix)",
    }),
    events: EventTypes,
    namespaces: Type.Optional(Namespaces),
  },
  { additionalProperties: false },
)

export const WebhookEndpointChanges = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false })

export const EndpointIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
})

export const Secret = Type.String({
  description: 'whsec_ + base64 of 32 random bytes: the Standard Webhooks signing secret, shown once',
})

export const RotatedWebhookSecret = Type.Object({
  secret: Secret,
  previousSecretExpiresAt: { ...Timestamp, description: 'Until then the previous secret signs beside the new one' },
})

export const DeliveriesQuery = Type.Object({ limit: Type.Optional(Limit) })

export const DeliveryAttempts = Type.Object({
  items: Type.Array(
    Type.Object({
      eventId: Type.String({ description: 'The webhook-id header' }),
      type: Type.String(),
      attempt: Type.Integer(),
      responseStatus: Type.Union([Type.Integer(), Type.Null()]),
      error: Type.Union([Type.String(), Type.Null()], {
        description:
          'timeout, connection_refused, connection_reset, dns_failure, blocked_address, ' +
          'namespace_not_held, url_not_allowed (not sent), ...',
      }),
      attemptedAt: Timestamp,
    }),
  ),
})

named({ WebhookEndpoint, NewWebhookEndpoint, WebhookEndpointChanges, RotatedWebhookSecret, DeliveryAttempts })
