// Wrong secrets are cheap: a generated client's secret is checked with the keyed fast
// hash, so a wrong one (or an unknown client id) never reaches scrypt, counted by
// broker_secret_slow_hashes_total. Only the bootstrap client's operator-chosen secret
// takes scrypt. A client whose secret was hashed with scrypt before moves to the fast
// hash at its next success. The hash key lives sealed in the database, shared by replicas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'

let a: TestBroker
let b: TestBroker
let admin: Api

beforeAll(async () => {
  a = await startBroker()
  b = await startBroker({ databaseUrl: a.databaseUrl, env: { PUBLIC_URL: a.url } })
  admin = apiClient(a, await a.token('clients:admin'))
})
afterAll(async () => {
  await b?.close()
  await a?.close()
})

async function token(broker: TestBroker, id: string, secret: string): Promise<number> {
  const res = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  })
  await res.arrayBuffer()
  return res.status
}

const slowHashes = async (broker: TestBroker) =>
  (await broker.app.services.metrics.slowHashes.get()).values[0]?.value ?? 0

async function newClient(): Promise<{ id: string; secret: string }> {
  const created = await admin('POST', '/v1/service-clients', { name: 'fast', scopes: ['tokens:read'] })
  return { id: created.body.clientId as string, secret: created.body.clientSecret as string }
}

const storedHash = async (id: string) =>
  (await a.db.pool.query<{ h: string }>('SELECT secret_hash AS h FROM service_clients WHERE id = $1', [id])).rows[0]!.h

describe('wrong secrets', () => {
  it('of a generated client, or with an unknown id, never reach the slow hash', async () => {
    const { id, secret } = await newClient()
    expect(await storedHash(id)).toMatch(/^hmac-sha256\$k1\$/)
    const before = await slowHashes(a)
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`
    for (const attempt of [wrong, 'short', secret.toUpperCase(), '']) expect(await token(a, id, attempt)).toBe(401)
    for (const attempt of [secret, wrong]) expect(await token(a, 'svc_doesNotExist', attempt)).toBe(401)
    expect(await slowHashes(a)).toBe(before)
    // The right one works on both replicas: they share the hash key.
    expect([await token(a, id, secret), await token(b, id, secret)]).toEqual([200, 200])
    expect(await slowHashes(a)).toBe(before)
  })

  it('of the bootstrap client (an operator-chosen secret) do take scrypt', async () => {
    const before = await slowHashes(a)
    expect(await token(a, BOOTSTRAP_ID, 'not the bootstrap secret')).toBe(401)
    expect(await slowHashes(a)).toBe(before + 1)
    const { rows } = await a.db.pool.query('SELECT secret_hash FROM service_clients WHERE id = $1', [BOOTSTRAP_ID])
    expect(rows[0].secret_hash).toMatch(/^scrypt\$/)
  })
})

describe('a secret hashed with scrypt by an earlier version', () => {
  it('moves to the fast hash at the next success; wrong secrets stay refused, and cheap after it', async () => {
    const { id, secret } = await newClient()
    const legacy = await a.app.services.clients.secrets.slowHash(secret)
    await a.db.pool.query('UPDATE service_clients SET secret_hash = $1 WHERE id = $2', [legacy, id])
    const before = await slowHashes(a)
    // Until then a wrong secret costs scrypt, once (in a worker, two at most at a time).
    expect(await token(a, id, 'guess')).toBe(401)
    expect(await slowHashes(a)).toBe(before + 1)
    expect(await token(a, id, secret)).toBe(200)
    expect(await storedHash(id)).toMatch(/^hmac-sha256\$k1\$/)
    const after = await slowHashes(a)
    expect(await token(a, id, `${secret.slice(1)}x`)).toBe(401)
    expect(await token(b, id, secret)).toBe(200)
    expect(await slowHashes(a)).toBe(after)
  })

  it('in a rotation overlap: the previous secret still works and moves too', async () => {
    const { id, secret: old } = await newClient()
    const legacy = await a.app.services.clients.secrets.slowHash(old)
    await a.db.pool.query('UPDATE service_clients SET secret_hash = $1 WHERE id = $2', [legacy, id])
    const rotated = await admin('POST', `/v1/service-clients/${id}/rotate-secret`, { overlapSeconds: 600 })
    const fresh = rotated.body.clientSecret as string
    expect([await token(a, id, old), await token(a, id, fresh)]).toEqual([200, 200])
    const { rows } = await a.db.pool.query('SELECT previous_secret_hash AS p FROM service_clients WHERE id = $1', [id])
    expect(rows[0].p).toMatch(/^hmac-sha256\$k1\$/)
    expect(await token(b, id, old)).toBe(200)
  })
})

describe('the hash key', () => {
  it('is stored once, sealed under ENCRYPTION_KEY', async () => {
    const { rows } = await a.db.pool.query('SELECT id, hash_key FROM secret_hash_keys')
    expect(rows).toHaveLength(1)
    expect(rows[0].id).toBe('k1')
    expect(rows[0].hash_key).toMatch(/^v1\.[\w-]+\.[\w-]{16}\.[\w-]+$/)
  })
})
