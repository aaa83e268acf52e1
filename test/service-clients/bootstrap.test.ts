// The bootstrap client across restarts: deleted through the API (after a compromise, say),
// it stays deleted when the broker restarts with the same BOOTSTRAP_CLIENT_SECRET, on
// every replica; a new secret brings it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { createDatabase } from '../support/db.js'

const NEW_SECRET = '9f4c2e7a1b8d3f6e0a5c9b2d7e4f1a8c3b6d0e9f2a7c5b1d'
let database: Awaited<ReturnType<typeof createDatabase>>

beforeAll(async () => {
  database = await createDatabase()
})
afterAll(async () => {
  await database?.drop()
})

/** A broker on the shared database, started with `secret` as BOOTSTRAP_CLIENT_SECRET. */
const start = (secret: string) => startBroker({ databaseUrl: database.url, env: { BOOTSTRAP_CLIENT_SECRET: secret } })

async function tokenStatus(broker: TestBroker, secret: string): Promise<number> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: BOOTSTRAP_ID, client_secret: secret })
  return (await fetch(`${broker.url}/oauth/token`, { method: 'POST', body })).status
}

async function deleteBootstrap(broker: TestBroker, secret: string): Promise<void> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: BOOTSTRAP_ID, client_secret: secret })
  const { access_token } = (await (await fetch(`${broker.url}/oauth/token`, { method: 'POST', body })).json()) as {
    access_token: string
  }
  const res = await fetch(`${broker.url}/v1/service-clients/${BOOTSTRAP_ID}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${access_token}` },
  })
  expect(res.status).toBe(204)
}

let current: TestBroker
const bootstrapRows = () => current.db.prisma.serviceClient.count({ where: { id: BOOTSTRAP_ID } })

describe('the bootstrap client deleted through the API', () => {
  it(
    'stays deleted across restarts with the same secret, ' + 'two replicas at once too; a new secret brings it back',
    async () => {
      current = await start(BOOTSTRAP_SECRET)
      expect(await tokenStatus(current, BOOTSTRAP_SECRET)).toBe(200)
      await deleteBootstrap(current, BOOTSTRAP_SECRET)
      expect(await tokenStatus(current, BOOTSTRAP_SECRET)).toBe(401)
      // The tombstone holds a slow hash, never the secret.
      const [tombstone] = await current.db.prisma.bootstrapTombstone.findMany()
      expect(tombstone).toMatchObject({ clientId: BOOTSTRAP_ID, secretHash: expect.stringMatching(/^scrypt\$/) })
      expect(JSON.stringify(tombstone)).not.toContain(BOOTSTRAP_SECRET)
      await current.close()

      // Restarted with the same secret: not recreated, and the log says why.
      const [one, two] = await Promise.all([start(BOOTSTRAP_SECRET), start(BOOTSTRAP_SECRET)])
      current = one
      expect(await bootstrapRows()).toBe(0)
      for (const replica of [one, two]) expect(await tokenStatus(replica, BOOTSTRAP_SECRET)).toBe(401)
      expect(one.logs.join('\n')).toContain('bootstrap service client stays deleted')
      await Promise.all([one.close(), two.close()])

      // A new secret: the client is back (every scope), the tombstone gone.
      current = await start(NEW_SECRET)
      expect(await tokenStatus(current, NEW_SECRET)).toBe(200)
      expect(await tokenStatus(current, BOOTSTRAP_SECRET)).toBe(401)
      expect(await current.db.prisma.bootstrapTombstone.count()).toBe(0)
      // Deleted again under the new secret: the old one, being another secret, brings it back.
      await deleteBootstrap(current, NEW_SECRET)
      await current.close()
      current = await start(NEW_SECRET)
      expect(await tokenStatus(current, NEW_SECRET)).toBe(401)
      await current.close()
      current = await start(BOOTSTRAP_SECRET)
      expect(await tokenStatus(current, BOOTSTRAP_SECRET)).toBe(200)
      await current.close()
    },
  )

  it('an ordinary client leaves no tombstone', async () => {
    current = await startBroker() // a database of its own
    try {
      const token = await current.token()
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
      const created = await fetch(`${current.url}/v1/service-clients`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'worker', scopes: ['tokens:read'], allowedReturnUrls: [] }),
      })
      const { clientId } = (await created.json()) as { clientId: string }
      expect(
        (
          await fetch(`${current.url}/v1/service-clients/${clientId}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}` },
          })
        ).status,
      ).toBe(204)
      expect(await current.db.prisma.bootstrapTombstone.count()).toBe(0)
    } finally {
      await current.close()
    }
  })
})
