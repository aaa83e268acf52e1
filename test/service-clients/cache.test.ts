// The service-client cache of each replica (src/service-clients/service-clients.ts) on
// two brokers sharing one database: creates and deletes on both replicas at once, 100
// rounds, each change applied on both within 1 s (a deleted client's token refused with
// 401, a new client's accepted). A reload never settles for a load
// that began before the change; a periodic reload heals a lost notification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import { ServiceClients } from '../../src/service-clients/service-clients.js'
import { startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'

const ROUNDS = 100
const WITHIN_MS = 1000
// Hundreds of admin and token requests from one address.
const env = { RATE_LIMIT_ADMIN: '0', RATE_LIMIT_TOKEN: '0' }
let a: TestBroker
let b: TestBroker
let admin: Map<TestBroker, Api>

beforeAll(async () => {
  a = await startBroker({ env })
  // Replicas behind one address: one PUBLIC_URL, hence one issuer for the tokens.
  b = await startBroker({ databaseUrl: a.databaseUrl, env: { ...env, PUBLIC_URL: a.config.publicUrl } })
  admin = new Map([
    [a, apiClient(a, await a.token())],
    [b, apiClient(b, await b.token())],
  ])
})
afterAll(async () => {
  await b?.close()
  await a?.close()
})

/**
 * A client created through `on`'s API, and a broker token for it
 * (issued directly: the token endpoint is not under test).
 */
async function createClient(on: TestBroker, name: string): Promise<{ clientId: string; token: string }> {
  const created = await admin.get(on)!('POST', '/v1/service-clients', {
    name,
    scopes: ['connections:read'],
    allowedReturnUrls: [],
  })
  expect(created.status).toBe(201)
  const { token } = await on.app.services.tokens.issue(created.body.clientId, ['connections:read'])
  return { clientId: created.body.clientId, token }
}

const statusOn = async (broker: TestBroker, token: string) =>
  (await fetch(`${broker.url}/v1/connections?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status

/** Milliseconds until `token` answers `status` on `broker`; fails after WITHIN_MS. */
async function until(broker: TestBroker, token: string, status: number, what: string): Promise<number> {
  const started = Date.now()
  for (;;) {
    const got = await statusOn(broker, token)
    const elapsed = Date.now() - started
    if (got === status) return elapsed
    if (elapsed > WITHIN_MS) throw new Error(`${what}: still ${got} after ${elapsed} ms on ${broker === a ? 'A' : 'B'}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('service-client cache on two replicas', () => {
  it(`applies ${ROUNDS} rounds of creates and deletes landing ` +
    `together on both replicas, each within ${WITHIN_MS} ms`, async () => {
    let previous = await Promise.all([createClient(a, 'a-0'), createClient(b, 'b-0')])
    let slowest = 0
    for (let round = 1; round <= ROUNDS; round++) {
      // Each replica creates one client and deletes the one the other created last round,
      // all at once, so that notifications arrive while reloads are in flight.
      const [fromA, fromB, ...deleted] = await Promise.all([
        createClient(a, `a-${round}`),
        createClient(b, `b-${round}`),
        admin.get(a)!('DELETE', `/v1/service-clients/${previous[1].clientId}`),
        admin.get(b)!('DELETE', `/v1/service-clients/${previous[0].clientId}`),
      ])
      expect(deleted.map((d) => d.status)).toEqual([204, 204])
      const waits = await Promise.all(
        [a, b].flatMap((replica) => [
          ...[fromA, fromB].map((c) => until(replica, c.token, 200, `round ${round}: new client ${c.clientId}`)),
          ...previous.map((c) => until(replica, c.token, 401, `round ${round}: deleted client ${c.clientId}`)),
        ]),
      )
      slowest = Math.max(slowest, ...waits)
      previous = [fromA, fromB]
    }
    expect(slowest).toBeLessThanOrEqual(WITHIN_MS)
  }, 180_000)

  it('a replica that hears no notification catches up with its periodic reload', async () => {
    const log = createLogger('silent')
    const polling = new ServiceClients(a.db, a.app.services.audit, log, { reloadIntervalMs: 200 })
    // The control: no notification either, and no reload within the test.
    const control = new ServiceClients(a.db, a.app.services.audit, log, { reloadIntervalMs: 3_600_000 })
    await Promise.all([polling.start(undefined), control.start(undefined)])
    try {
      const { clientId } = await createClient(b, 'heard-by-polling')
      const started = Date.now()
      while (!polling.cached(clientId) && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 20))
      expect(polling.cached(clientId)?.name).toBe('heard-by-polling')
      expect(control.cached(clientId)).toBeUndefined()
    } finally {
      polling.stop()
      control.stop()
    }
  })
})
