// Confirming the end user of a connect flow (connections/confirmation.ts): the service's
// confirmation with the one-time code its return page received, and the state of a connect
// session. Both need connect:write and see only the caller's namespaces.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Services } from '../../services.js'
import { callerOf } from '../auth.js'
import { perMinute } from '../rate-limits.js'
import { AUTHENTICATED, json, noContent, problems, RATE_LIMITED, requiresScope, WITH_BODY } from '../schemas/common.js'
import { ConfirmRequest, ConnectSessionStatus, SessionIdParams } from '../schemas/confirmation.js'
import { Connection, IdParams } from '../schemas/connections.js'

export const confirmationRoutes: FastifyPluginAsyncTypebox<Services> = async (
  app,
  { confirmations, connect, config },
) => {
  app.post(
    '/v1/connections/:id/confirm',
    {
      schema: {
        operationId: 'confirmConnection',
        summary: "Confirm (or reject) a connection's end user",
        description:
          'For a connect session with `confirm`: the browser came back to returnUrl with ' +
          '`status=pending_confirmation&confirmation_code=…`. Once the service has checked that its ' +
          'signed-in user is the intended owner, it confirms with that code: the grant becomes usable ' +
          '(200, status active). `accept: false` discards the grant and revokes it at the provider (204). ' +
          'A wrong, used or expired code changes nothing (400 invalid_confirmation); the fifth wrong ' +
          'code discards the grant.',
        tags: ['connections'],
        ...requiresScope('connect:write'),
        params: IdParams,
        body: ConfirmRequest,
        response: {
          200: json('The connection, now usable', Connection),
          204: noContent('Rejected: the grant was discarded and revoked'),
          ...problems(...WITH_BODY, ...AUTHENTICATED, 404, ...RATE_LIMITED),
        },
      },
      config: { rateLimit: perMinute(config.rateLimits.admin) },
    },
    async (request, reply) => {
      const view = await confirmations.confirm(request.params.id, request.body, callerOf(request))
      return request.body.accept === false ? reply.code(204).send() : view
    },
  )

  app.get(
    '/v1/connect-sessions/:id',
    {
      schema: {
        operationId: 'getConnectSession',
        summary: 'Get a connect session',
        description: 'How the session stands: pending, completed, pending_confirmation, failed or expired.',
        tags: ['connections'],
        ...requiresScope('connect:write'),
        params: SessionIdParams,
        response: {
          200: json('The session (never its connect URL)', ConnectSessionStatus),
          ...problems(400, ...AUTHENTICATED, 404),
        },
      },
    },
    async (request) => connect.session(request.params.id, callerOf(request).namespaces),
  )
}
