// The proactive refresher: with 200 connections expiring within the window and two
// replicas running their refreshers, every connection is refreshed exactly once, callers
// then never wait on a refresh, a second pass finds nothing to do, dead grants are left
// alone, and transient failures back off instead of retrying in a storm.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { providerEntryFor, startAuthorizationServer, type AuthorizationServer } from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'

const N = 200
const WINDOW = 300
let as: AuthorizationServer
let one: TestBroker
let two: TestBroker
let api: Api
let db: pg.Client
const ids: string[] = []

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`], accessTokenTtlSeconds: 3600 })
  const providers = { idp: providerEntryFor(as) }
  // Passes are triggered by the test (a long interval keeps the timers out of the way).
  const env = { REFRESH_WINDOW_SECONDS: String(WINDOW), REFRESH_INTERVAL_SECONDS: '3600', REFRESH_CONCURRENCY: '4', REFRESH_BATCH_SIZE: '60', RATE_LIMIT_BROWSER: '0' }
  one = await startBroker({ port, providers, env })
  two = await startBroker({ databaseUrl: one.databaseUrl, providers, env })
  api = apiClient(one, await one.token())
  for (let i = 0; i < N; i++) ids.push(await connectUser(api, as, { provider: 'idp', ownerId: `owner-${i}` }))
  db = new pg.Client({ connectionString: one.databaseUrl })
  await db.connect()
}, 120_000)
afterAll(async () => {
  await db?.end()
  await Promise.all([one?.close(), two?.close()])
  await as?.close()
})

/** Makes tokens an hour old and expiring in `seconds` (inside the window, outside callers' 60 s). */
async function ageTokens(list: string[], seconds: number) {
  await db.query(
    `UPDATE connections SET token_obtained_at = now() - make_interval(secs => 3600 - $2), expires_at = now() + make_interval(secs => $2) WHERE id = ANY($1)`,
    [list, seconds],
  )
  for (const id of list) await db.query(`SELECT pg_notify('oauth_broker_changes', $1)`, [JSON.stringify({ topic: 'connection', id })])
}

async function refreshesPerConnection(list: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ connection_id: string; n: number }>(
    `SELECT connection_id, count(*)::int AS n FROM audit_events WHERE type = 'connection.refresh_succeeded' AND connection_id = ANY($1) GROUP BY 1`,
    [list],
  )
  return new Map(rows.map((r) => [r.connection_id, r.n]))
}

describe('proactive refresh', () => {
  it('two replicas refresh each of 200 expiring connections exactly once; callers then never wait on a refresh', async () => {
    await ageTokens(ids, 120)
    const before = as.refreshCount()
    const passes = { one: 0, two: 0 }
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([one.app.services.refresher.tick(), two.app.services.refresher.tick()])
      passes.one += a.refreshed
      passes.two += b.refreshed
      if (a.claimed === 0 && b.claimed === 0) break
    }
    expect(as.refreshCount() - before).toBe(N)
    const counts = await refreshesPerConnection(ids)
    expect(ids.every((id) => counts.get(id) === 1)).toBe(true)
    // Both replicas took part; neither took a row the other had.
    expect(passes.one + passes.two).toBe(N)
    expect(passes.one).toBeGreaterThan(0)
    expect(passes.two).toBeGreaterThan(0)
    console.log(`proactive refresh: ${N} connections, provider refreshes ${as.refreshCount() - before}, replica one ${passes.one}, replica two ${passes.two}`)

    // Callers asking for the default 60 s get their token without a refresh in the request.
    const api2 = apiClient(two, await two.token())
    const started = Date.now()
    const results = await Promise.all(ids.map((id, i) => (i % 2 ? api2 : api)('POST', `/v1/connections/${id}/access-token`, {})))
    const ms = Date.now() - started
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(as.refreshCount() - before).toBe(N)
    await Promise.all([one.app.services.audit.flush(), two.app.services.audit.flush()])
    const { rows } = await db.query<{ refreshed: number }>(
      `SELECT count(*)::int AS refreshed FROM audit_events WHERE type = 'connection.token_vended' AND connection_id = ANY($1) AND detail->>'refreshed' = 'true'`,
      [ids],
    )
    expect(rows[0]!.refreshed).toBe(0)
    console.log(`callers after the pass: ${N} calls in ${ms} ms, refreshes in the request path: ${rows[0]!.refreshed}`)

    // Within the same window a new pass finds nothing due.
    const again = await Promise.all([one.app.services.refresher.tick(), two.app.services.refresher.tick()])
    expect(again.map((r) => r.claimed)).toEqual([0, 0])
    expect(as.refreshCount() - before).toBe(N)
  })

  it('leaves connections that need their user alone, and backs off after a transient failure', async () => {
    const [dead, flaky] = ids.slice(0, 2) as [string, string]
    await db.query(`UPDATE connections SET status = 'reauthorization_required' WHERE id = $1`, [dead])
    await ageTokens([dead, flaky], 120)
    as.fault('status503', 5)
    const before = as.tokenRequests.length
    const pass = await one.app.services.refresher.tick()
    expect(pass).toMatchObject({ claimed: 1, refreshed: 0, failed: 1 })
    const { rows } = await db.query(`SELECT refresh_failures, refresh_not_before > now() + interval '10 seconds' AS later FROM connections WHERE id = $1`, [flaky])
    expect(rows[0]).toEqual({ refresh_failures: 1, later: true })
    // No retry storm: immediate passes do not touch it again.
    for (let i = 0; i < 3; i++) expect((await two.app.services.refresher.tick()).claimed).toBe(0)
    expect(as.tokenRequests.length - before).toBe(1)
    as.clearFaults()
    // When the backoff has passed, it is refreshed and its failure count reset.
    await db.query(`UPDATE connections SET refresh_not_before = now() - interval '1 second' WHERE id = $1`, [flaky])
    expect(await one.app.services.refresher.tick()).toMatchObject({ claimed: 1, refreshed: 1 })
    const after = await db.query(`SELECT refresh_failures, refresh_not_before FROM connections WHERE id = $1`, [flaky])
    expect(after.rows[0]).toEqual({ refresh_failures: 0, refresh_not_before: null })
  })
})
