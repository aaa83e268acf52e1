// The receiver of docs/webhooks.md, run as a new user would: the ```js block copied to a
// file and started with node (standardwebhooks installed), registered as an endpoint; it
// must print every event once, and only once per webhook-id.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import { ROOT } from '../support/process.js'

// Under node_modules so that `import 'standardwebhooks'` resolves as in the user's project.
const dir = join(ROOT, 'node_modules', '.cache', `receiver-docs-${process.pid}`)
let broker: TestBroker
let api: Api
let receiver: ChildProcess
const printed: string[] = []
let port: number

beforeAll(async () => {
  port = await freePort()
  const idp = { authorizationUrl: 'http://127.0.0.1:1/a', tokenUrl: 'http://127.0.0.1:1/t', clientId: 'c' }
  broker = await startBroker({
    providers: { idp: { ...idp, clientSecret: 's', scopes: ['openid'] } },
    env: { BOOTSTRAP_WEBHOOK_URLS: `http://127.0.0.1:${port}/hooks` },
    timings: { webhookPollIntervalMs: 100 },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  receiver?.kill()
  await broker?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the receiver in docs/webhooks.md', () => {
  it('verifies, prints each event once, and ignores a redelivery', async () => {
    const doc = readFileSync(join(ROOT, 'docs/webhooks.md'), 'utf8')
    const code = /```js\n([\s\S]*?)```/.exec(doc)![1]!
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'receiver.mjs'), code)
    const created = await api('POST', '/v1/webhook-endpoints', {
      url: `http://127.0.0.1:${port}/hooks/broker`,
      events: ['*'],
    })
    expect(created.status).toBe(201)
    receiver = spawn(process.execPath, [join(dir, 'receiver.mjs')], {
      env: { PATH: process.env.PATH!, PORT: String(port), BROKER_WEBHOOK_SECRET: created.body.secret },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    receiver.stdout!.on('data', (d: Buffer) => printed.push(...d.toString().split('\n').filter(Boolean)))
    await new Promise((r) => setTimeout(r, 500))
    const credentials = { accessToken: 'at-docs' }
    const made = await api('POST', '/v1/connections', { provider: 'idp', ownerId: 'docs', credentials })
    expect((await api('DELETE', `/v1/connections/${made.body.id}`)).status).toBe(204)
    const until = Date.now() + 10_000
    while (printed.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    const events = printed.map((l) => JSON.parse(l) as { type: string; data: { sequence: number } })
    expect(events.map((e) => [e.type, e.data.sequence]).sort()).toEqual([
      ['connection.created', 1],
      ['connection.deleted', 2],
    ])
    // An operator's redelivery reaches the receiver, which recognises the webhook-id.
    const delivery = await broker.db.prisma.webhookDelivery.findFirstOrThrow({ where: { status: 'delivered' } })
    expect(await broker.app.services.deliveries.redeliver(delivery.eventId)).toBe(1)
    await new Promise((r) => setTimeout(r, 1000))
    const again = await broker.db.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id } })
    expect(again.status).toBe('delivered')
    expect(printed).toHaveLength(2)
  })
})
