// The CLI's commands for webhook deliveries: the failed ones, and sending an event again.
import { JSON_OPTION, printJson, UsageError, type Command, type Values } from './command.js'

function limitOf(values: Values): number {
  const limit = values.limit === undefined ? 50 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be 1..1000')
  return limit
}

const webhooksFailed: Command = {
  name: 'webhooks failed',
  synopsis: '[--limit <n>]',
  summary: 'failed webhook deliveries, newest first (default 50)',
  options: { limit: { type: 'string' }, ...JSON_OPTION },
  needs: 'read',
  validate: ({ values }) => void limitOf(values),
  async run({ services, values }) {
    printJson(await services.deliveries.failed(limitOf(values)))
    return 0
  },
}

const webhooksRedeliver: Command = {
  name: 'webhooks redeliver',
  synopsis: '<eventId> [--endpoint <id>]',
  summary: 'send an event again (same webhook-id) to its endpoints, or to one',
  details: 'eventId: the webhook-id header of the event (msg_...)',
  options: { endpoint: { type: 'string' } },
  positionals: [1, 1],
  needs: 'write',
  validate({ args, values }) {
    if (!/^msg_[A-Za-z0-9_-]{1,64}$/.test(args[0] ?? ''))
      throw new UsageError(`not an event id: ${JSON.stringify(args[0])}`)
    // An endpoint id as the API takes it (EndpointIdParams).
    if (values.endpoint !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(String(values.endpoint)))
      throw new UsageError(`not an endpoint id: ${JSON.stringify(values.endpoint)}`)
  },
  async run({ services, args, values }) {
    const endpoint = typeof values.endpoint === 'string' ? values.endpoint : undefined
    const count = await services.deliveries.redeliver(args[0]!, endpoint)
    printJson({ eventId: args[0], deliveries: count })
    return count > 0 ? 0 : 1
  },
}

export const WEBHOOK_COMMANDS = [webhooksFailed, webhooksRedeliver]
