// Webhook endpoints of the calling service client (scope webhooks:write, which also reads
// them). A secret is returned once, at creation or rotation. Another client's endpoint is
// answered as a missing one.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Services } from '../../services.js'
import type { EndpointOwner } from '../../webhooks/webhook-endpoints.js'
import { callerOf } from '../auth.js'
import { perMinute } from '../rate-limits.js'
import { AUTHENTICATED, RATE_LIMITED, WITH_BODY, json, noContent, problems, requiresScope } from '../schemas/common.js'
import {
  DeliveriesQuery,
  DeliveryAttempts,
  EndpointIdParams,
  NewWebhookEndpoint,
  RotatedWebhookSecret,
  Secret,
  WebhookEndpoint,
  WebhookEndpointChanges,
} from '../schemas/webhook-endpoints.js'

const common = { tags: ['webhooks'], ...requiresScope('webhooks:write') }

export const webhookEndpointRoutes: FastifyPluginAsyncTypebox<Services> = async (app, services) => {
  const { webhooks, deliveries, clients, config } = services
  const rateLimit = perMinute(config.rateLimits.admin)
  const ownerOf = (request: FastifyRequest): EndpointOwner => {
    const caller = callerOf(request)
    const allowedWebhookUrls = clients.cached(caller.clientId)?.allowedWebhookUrls ?? []
    return { clientId: caller.clientId, namespaces: caller.namespaces, allowedWebhookUrls }
  }

  app.post(
    '/v1/webhook-endpoints',
    {
      schema: {
        operationId: 'createWebhookEndpoint',
        summary: 'Register a webhook endpoint',
        description:
          'Lifecycle events of the connections in its namespaces are sent to `url`, signed per the ' +
          'Standard Webhooks specification with the returned secret (shown once). See docs/webhooks.md.',
        ...common,
        body: NewWebhookEndpoint,
        response: {
          201: json('The endpoint and its secret', Type.Intersect([WebhookEndpoint, Type.Object({ secret: Secret })])),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const created = await webhooks.create(ownerOf(request), request.body)
      return reply.code(201).header('cache-control', 'no-store').send(created)
    },
  )

  app.get(
    '/v1/webhook-endpoints',
    {
      schema: {
        operationId: 'listWebhookEndpoints',
        summary: "List the caller's webhook endpoints",
        ...common,
        response: {
          200: json('Every endpoint of the caller', Type.Object({ items: Type.Array(WebhookEndpoint) })),
          ...problems(...AUTHENTICATED, ...RATE_LIMITED),
        },
      },
      config: { rateLimit },
    },
    async (request) => ({ items: await webhooks.list(ownerOf(request)) }),
  )

  app.get(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        operationId: 'getWebhookEndpoint',
        summary: 'Get a webhook endpoint',
        ...common,
        params: EndpointIdParams,
        response: {
          200: json('The endpoint', WebhookEndpoint),
          ...problems(400, ...AUTHENTICATED, ...RATE_LIMITED, 404),
        },
      },
      config: { rateLimit },
    },
    async (request) => webhooks.get(ownerOf(request), request.params.id),
  )

  app.patch(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        operationId: 'updateWebhookEndpoint',
        summary: 'Disable or re-enable a webhook endpoint',
        description: 'A disabled endpoint receives nothing; events that happen meanwhile are not kept for it.',
        ...common,
        params: EndpointIdParams,
        body: WebhookEndpointChanges,
        response: {
          200: json('The changed endpoint', WebhookEndpoint),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 404),
        },
      },
      config: { rateLimit },
    },
    async (request) => webhooks.setEnabled(ownerOf(request), request.params.id, request.body.enabled),
  )

  app.delete(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete a webhook endpoint',
        ...common,
        params: EndpointIdParams,
        response: {
          204: noContent('Deleted, with its pending deliveries'),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 404),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      await webhooks.delete(ownerOf(request), request.params.id)
      return reply.code(204).send()
    },
  )

  app.post(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        operationId: 'rotateWebhookEndpointSecret',
        summary: "Rotate a webhook endpoint's secret",
        description:
          'Returns a new secret once. For 24 hours every delivery carries two signatures, ' +
          'one with each secret, so the receiver can roll out the new one without losing events.',
        ...common,
        params: EndpointIdParams,
        body: Type.Object({}, { additionalProperties: false, description: 'Empty: {}' }),
        response: {
          200: json('The new secret', RotatedWebhookSecret),
          ...problems(...WITH_BODY, ...AUTHENTICATED, ...RATE_LIMITED, 404),
        },
      },
      config: { rateLimit },
    },
    async (request, reply) => {
      const rotated = await webhooks.rotateSecret(ownerOf(request), request.params.id)
      return reply.header('cache-control', 'no-store').send(rotated)
    },
  )

  app.get(
    '/v1/webhook-endpoints/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: 'Recent delivery attempts to a webhook endpoint',
        description: 'Newest first; each with its response status or error class, never a response body.',
        ...common,
        params: EndpointIdParams,
        querystring: DeliveriesQuery,
        response: {
          200: json('The recent attempts', DeliveryAttempts),
          ...problems(400, ...AUTHENTICATED, ...RATE_LIMITED, 404),
        },
      },
      config: { rateLimit },
    },
    async (request) => {
      const endpoint = await webhooks.get(ownerOf(request), request.params.id)
      return { items: await deliveries.attempts(endpoint.id, request.query.limit ?? 50) }
    },
  )
}
