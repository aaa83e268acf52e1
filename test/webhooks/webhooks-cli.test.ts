// The ops command line for webhooks (`node dist/cli.js`, built first): list failed
// deliveries, and send an event again, which the running broker delivers with the same
// webhook-id.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENCRYPTION_KEY, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import { ROOT } from '../support/process.js'
import { appendLogLines } from '../support/secrets.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'

const exec = promisify(execFile)
let broker: TestBroker
let receiver: Receiver
let api: Api

beforeAll(async () => {
  receiver = await startReceiver()
  const idp = { authorizationUrl: 'http://127.0.0.1:1/a', tokenUrl: 'http://127.0.0.1:1/t', clientId: 'c' }
  broker = await startBroker({
    providers: { idp: { ...idp, clientSecret: 's', scopes: ['openid'] } },
    env: { BOOTSTRAP_WEBHOOK_URLS: `${receiver.url}/hooks`, WEBHOOK_RETRY_SCHEDULE_SECONDS: '0.05' },
    timings: { webhookPollIntervalMs: 100 },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await receiver?.close()
})

async function cli(args: string[]) {
  const env = { PATH: process.env.PATH!, DATABASE_URL: broker.databaseUrl, ENCRYPTION_KEY }
  let result: { code: number; stdout: string; stderr: string }
  try {
    result = { code: 0, ...(await exec(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], { env })) }
  } catch (err) {
    result = err as { code: number; stdout: string; stderr: string }
  }
  appendLogLines(result.stderr.split('\n').filter(Boolean))
  return { code: result.code, out: JSON.parse(result.stdout) }
}

describe('webhooks on the command line', () => {
  it('lists a failed delivery and redelivers its event with the same webhook-id', async () => {
    receiver.behave('/hooks/down', 'status500')
    const created = await api('POST', '/v1/webhook-endpoints', { url: `${receiver.url}/hooks/down`, events: ['*'] })
    expect(created.status).toBe(201)
    const credentials = { accessToken: 'at-cli' }
    expect((await api('POST', '/v1/connections', { provider: 'idp', ownerId: 'ops', credentials })).status).toBe(201)
    await receiver.waitFor(() => receiver.at('/hooks/down').length === 2)
    await receiver.waitFor(() => false, 300).catch(() => undefined)
    const failed = await cli(['webhooks', 'failed'])
    expect(failed.code).toBe(0)
    const eventId = receiver.at('/hooks/down')[0]!.id
    expect(failed.out).toEqual([
      expect.objectContaining({ eventId, type: 'connection.created', endpointId: created.body.id, attempts: 2 }),
    ])
    receiver.behave('/hooks/down', 'ok')
    expect(await cli(['webhooks', 'redeliver', eventId])).toEqual({ code: 0, out: { eventId, deliveries: 1 } })
    await receiver.waitFor(() => receiver.at('/hooks/down').length === 3)
    expect(receiver.at('/hooks/down')[2]!.id).toBe(eventId)
    expect((await cli(['webhooks', 'redeliver', 'msg_unknown'])).code).toBe(1)
  })
})
