// The proactive refresher: with 200 connections expiring within the window and two
// replicas running their refreshers, every connection is refreshed exactly once, callers
// then never wait on a refresh, a second pass finds nothing to do, dead grants are left
// alone, and transient failures back off instead of retrying in a storm. Then, against
// small local token endpoints: refresh tokens with their own expiry are refreshed once
// before it, the per-provider concurrency limit holds, backoff is jittered within its
// bounds, a backlog larger than a batch drains in one pass (and stop() ends it), and the
// claim reads its indexes (EXPLAIN).
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLAIM_SQL, claimParameters, ProactiveRefresher } from '../../src/connections/proactive-refresh.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import { createDatabase } from '../support/db.js'
import { registerSecret } from '../support/secrets.js'
import type { Json } from '../support/json.js'

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
  as = await startAuthorizationServer({
    redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`],
    accessTokenTtlSeconds: 3600,
  })
  const providers = { idp: providerEntryFor(as) }
  // Passes are triggered by the test (a long interval keeps the timers out of the way).
  const env = {
    REFRESH_WINDOW_SECONDS: String(WINDOW),
    REFRESH_INTERVAL_SECONDS: '3600',
    REFRESH_CONCURRENCY: '4',
    REFRESH_BATCH_SIZE: '60',
    RATE_LIMIT_BROWSER: '0',
  }
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
    'UPDATE connections SET token_obtained_at = now() - make_interval(secs => ' +
      '3600 - $2), expires_at = now() + make_interval(secs => $2) WHERE id = ANY($1)',
    [list, seconds],
  )
  for (const id of list)
    await db.query(`SELECT pg_notify('oauth_broker_changes', $1)`, [JSON.stringify({ topic: 'connection', id })])
}

async function refreshesPerConnection(list: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ connection_id: string; n: number }>(
    'SELECT connection_id, count(*)::int AS n FROM audit_events WHERE type ' +
      `= 'connection.refresh_succeeded' AND connection_id = ANY($1) GROUP BY 1`,
    [list],
  )
  return new Map(rows.map((r) => [r.connection_id, r.n]))
}

describe('proactive refresh', () => {
  it(
    'two replicas refresh each of 200 expiring connections ' + 'exactly once; callers then never wait on a refresh',
    async () => {
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
      console.log(
        `proactive refresh: ${N} connections, provider refreshes ${as.refreshCount() - before}, ` +
          `replica one ${passes.one}, replica two ${passes.two}`,
      )

      // Callers asking for the default 60 s get their token without a refresh in the request.
      const api2 = apiClient(two, await two.token())
      const started = Date.now()
      const results = await Promise.all(
        ids.map((id, i) => (i % 2 ? api2 : api)('POST', `/v1/connections/${id}/access-token`, {})),
      )
      const ms = Date.now() - started
      expect(results.every((r) => r.status === 200)).toBe(true)
      expect(as.refreshCount() - before).toBe(N)
      await Promise.all([one.app.services.audit.flush(), two.app.services.audit.flush()])
      const { rows } = await db.query<{ refreshed: number }>(
        `SELECT count(*)::int AS refreshed FROM audit_events
       WHERE type = 'connection.token_vended' AND connection_id = ANY($1) AND detail->>'refreshed' = 'true'`,
        [ids],
      )
      expect(rows[0]!.refreshed).toBe(0)
      console.log(
        `callers after the pass: ${N} calls in ${ms} ms, refreshes in the request path: ${rows[0]!.refreshed}`,
      )

      // Within the same window a new pass finds nothing due.
      const again = await Promise.all([one.app.services.refresher.tick(), two.app.services.refresher.tick()])
      expect(again.map((r) => r.claimed)).toEqual([0, 0])
      expect(as.refreshCount() - before).toBe(N)
    },
  )

  it('leaves connections that need their user alone, and backs off after a transient failure', async () => {
    const [dead, flaky] = ids.slice(0, 2) as [string, string]
    await db.query(`UPDATE connections SET status = 'reauthorization_required' WHERE id = $1`, [dead])
    await ageTokens([dead, flaky], 120)
    as.fault('status503', 5)
    const before = as.tokenRequests.length
    const pass = await one.app.services.refresher.tick()
    expect(pass).toMatchObject({ claimed: 1, refreshed: 0, failed: 1 })
    const { rows } = await db.query(
      'SELECT refresh_failures, refresh_not_before > now() + ' +
        `interval '10 seconds' AS later FROM connections WHERE id = $1`,
      [flaky],
    )
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

// --- local token endpoints ---------------------------------------------------------------

type Answer = { status: number; body: Record<string, unknown> }

/** Token endpoints on 127.0.0.1, one per path, counting calls and requests in flight. */
interface TokenEndpoints {
  url: string
  calls: Map<string, number>
  maxInFlight: Map<string, number>
  maxInFlightTotal: number
  close(): Promise<void>
}

/**
 * `answer(path)` decides each response. Requests to the `hold.paths` wait until
 * `hold.inFlight` of them are in flight together (or a second has passed), then go on
 * together: whatever limits the client has show as the maxima seen.
 */
async function startTokenEndpoints(
  answer: (path: string) => Answer,
  hold: { paths: string[]; inFlight: number } = { paths: [], inFlight: 0 },
): Promise<TokenEndpoints> {
  const inFlight = new Map<string, number>()
  let waiting: Array<() => void> = []
  let total = 0
  const state: Omit<TokenEndpoints, 'url' | 'close'> = { calls: new Map(), maxInFlight: new Map(), maxInFlightTotal: 0 }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    req.resume()
    req.on('end', async () => {
      state.calls.set(path, (state.calls.get(path) ?? 0) + 1)
      inFlight.set(path, (inFlight.get(path) ?? 0) + 1)
      total++
      state.maxInFlight.set(path, Math.max(state.maxInFlight.get(path) ?? 0, inFlight.get(path)!))
      state.maxInFlightTotal = Math.max(state.maxInFlightTotal, total)
      if (hold.paths.includes(path)) {
        await new Promise<void>((release) => {
          waiting.push(release)
          if (waiting.length >= hold.inFlight) {
            for (const r of waiting) r()
            waiting = []
          } else {
            setTimeout(release, 1000).unref()
          }
        })
      }
      const { status, body } = answer(path)
      inFlight.set(path, inFlight.get(path)! - 1)
      total--
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return {
    url,
    get calls() {
      return state.calls
    },
    get maxInFlight() {
      return state.maxInFlight
    },
    get maxInFlightTotal() {
      return state.maxInFlightTotal
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const issued = (kind: string) => {
  const value = randomBytes(24).toString('base64url')
  registerSecret(`test token endpoint ${kind}`, value)
  return value
}

describe('proactive refresh rules (local token endpoints)', () => {
  const CONCURRENCY = 3
  /** The fixed expiry of the "countdown" provider's grant: each refresh token it issues lives only until then. */
  let countdownEnd = 0
  let endpoints: TokenEndpoints
  let broker: TestBroker
  let fake: Api
  let sql: pg.Client

  beforeAll(async () => {
    endpoints = await startTokenEndpoints(
      (path) => {
        const access = { access_token: issued('access token'), token_type: 'Bearer', expires_in: 3600 }
        if (path === '/down/token') return { status: 503, body: { error: 'temporarily_unavailable' } }
        // No new refresh token: the stored one (and its expiry) stays.
        if (path === '/keeper/token') return { status: 200, body: access }
        // A new refresh token, but the same end: the remaining lifetime.
        if (path === '/countdown/token')
          return {
            status: 200,
            body: {
              ...access,
              refresh_token: issued('refresh token'),
              refresh_token_expires_in: Math.floor((countdownEnd - Date.now()) / 1000),
            },
          }
        return { status: 200, body: { ...access, refresh_token: issued('refresh token') } }
      },
      // Both slow providers' requests wait until twice the per-provider limit is in flight:
      // reached only if the limit is per provider (and then each provider shows its limit).
      { paths: ['/slow-a/token', '/slow-b/token'], inFlight: 2 * CONCURRENCY },
    )
    const entry = (name: string) => ({
      displayName: name,
      authorizationUrl: `${endpoints.url}/${name}/authorize`,
      tokenUrl: `${endpoints.url}/${name}/token`,
      clientId: `client-${name}`,
      clientSecret: `secret-${name}-${randomBytes(16).toString('hex')}`,
      scopes: [],
    })
    broker = await startBroker({
      providers: Object.fromEntries(
        ['keeper', 'countdown', 'rotating', 'slow-a', 'slow-b', 'down'].map((n) => [n, entry(n)]),
      ),
      env: {
        REFRESH_WINDOW_SECONDS: String(WINDOW),
        REFRESH_INTERVAL_SECONDS: '3600',
        REFRESH_CONCURRENCY: String(CONCURRENCY),
        REFRESH_BATCH_SIZE: '100',
      },
    })
    fake = apiClient(broker, await broker.token())
    sql = new pg.Client({ connectionString: broker.databaseUrl })
    await sql.connect()
  })
  afterAll(async () => {
    await sql?.end()
    await broker?.close()
    await endpoints?.close()
  })

  /** Imports a connection with tokens of the test's own (the first refresh proves them). */
  async function imported(provider: string, n = 1): Promise<string[]> {
    const list: string[] = []
    for (let i = 0; i < n; i++) {
      const res = await fake('POST', '/v1/connections', {
        provider,
        ownerId: `${provider}-${i}`,
        credentials: {
          accessToken: issued('imported access token'),
          refreshToken: issued('imported refresh token'),
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      list.push(res.body.id)
    }
    return list
  }

  const calls = (provider: string) => endpoints.calls.get(`/${provider}/token`) ?? 0
  const successes = async (list: string[]) => {
    const { rows } = await sql.query<{ connection_id: string; n: number }>(
      'SELECT connection_id, count(*)::int AS n FROM audit_events WHERE type ' +
        `= 'connection.refresh_succeeded' AND connection_id = ANY($1) GROUP BY 1`,
      [list],
    )
    return new Map(rows.map((r) => [r.connection_id, r.n]))
  }
  async function dueByAccessToken(list: string[]) {
    await sql.query(
      `UPDATE connections SET token_obtained_at = now() - interval '3480 ` +
        `seconds', expires_at = now() + interval '120 seconds' WHERE id = ANY($1)`,
      [list],
    )
  }

  it(
    'a refresh token about to expire is refreshed once before ' +
      'it, even when the provider does not push its expiry forward',
    async () => {
      const [keeper] = await imported('keeper')
      const [countdown] = await imported('countdown')
      const [rotating] = await imported('rotating')
      const [far] = await imported('rotating')
      const [noExpiry] = await imported('rotating')
      countdownEnd = Date.now() + 3_600_000
      // Access tokens fresh for days (past no window, not past half their life), or without a
      // known expiry (`noExpiry`); refresh tokens expire in an hour, except `far`'s in 30 days.
      // The tokens were written two days ago.
      await sql.query(
        `UPDATE connections SET token_obtained_at = now() - interval '2 days',
              expires_at = CASE WHEN id = $3 THEN NULL ELSE now() + interval '3 days' END,
              refresh_token_expires_at = now() + CASE WHEN id = $2 THEN interval '30 days' ELSE interval '1 hour' END
          WHERE id = ANY($1)`,
        [[keeper, countdown, rotating, far, noExpiry], far, noExpiry],
      )
      const before = await sql.query(`SELECT id, refresh_token_expires_at FROM connections WHERE id = ANY($1)`, [
        [keeper, countdown],
      ])
      const pass = await broker.app.services.refresher.tick()
      expect(pass).toMatchObject({ claimed: 4, refreshed: 4, failed: 0 })
      expect([calls('keeper'), calls('countdown'), calls('rotating')]).toEqual([1, 1, 2])

      // The expiry did not move (keeper: no new refresh token; countdown: the same end), yet
      // the rows are not due again: the next passes claim nothing and call no provider.
      const after = await sql.query<{ id: string; refresh_token_expires_at: Date; refresh_not_before: Date | null }>(
        `SELECT id, refresh_token_expires_at, refresh_not_before FROM connections WHERE id = ANY($1)`,
        [[keeper, countdown, rotating]],
      )
      const expiry = (id: string, rows: Array<{ id: string; refresh_token_expires_at: Date }>) =>
        rows.find((r) => r.id === id)!.refresh_token_expires_at.getTime()
      expect(expiry(keeper!, after.rows)).toBe(expiry(keeper!, before.rows))
      expect(Math.abs(expiry(countdown!, after.rows) - expiry(countdown!, before.rows))).toBeLessThanOrEqual(2000)
      // The rotating provider sent a refresh token without an expiry: none is stored.
      expect(after.rows.find((r) => r.id === rotating)!.refresh_token_expires_at).toBeNull()
      // Not hidden by a lease or a backoff: nothing holds these rows back.
      expect(after.rows.map((r) => r.refresh_not_before)).toEqual([null, null, null])
      for (let i = 0; i < 3; i++) expect((await broker.app.services.refresher.tick()).claimed).toBe(0)
      expect([calls('keeper'), calls('countdown'), calls('rotating')]).toEqual([1, 1, 2])
      const counts = await successes([keeper!, countdown!, rotating!, noExpiry!, far!])
      expect([keeper, countdown, rotating, noExpiry, far].map((id) => counts.get(id!))).toEqual([1, 1, 1, 1, undefined])
    },
  )

  it(
    // biome-ignore lint/style/useTemplate: the test name stays identical for docs/security.md
    `at most REFRESH_CONCURRENCY (${CONCURRENCY}) token ` + 'requests in flight per provider, providers in parallel',
    async () => {
      const a = await imported('slow-a', 6)
      const b = await imported('slow-b', 6)
      await dueByAccessToken([...a, ...b])
      const pass = await broker.app.services.refresher.tick()
      expect(pass).toMatchObject({ claimed: 12, refreshed: 12, failed: 0 })
      expect([calls('slow-a'), calls('slow-b')]).toEqual([6, 6])
      expect([endpoints.maxInFlight.get('/slow-a/token'), endpoints.maxInFlight.get('/slow-b/token')]).toEqual([
        CONCURRENCY,
        CONCURRENCY,
      ])
      // The limit is per provider: both providers' requests were in flight together.
      expect(endpoints.maxInFlightTotal).toBe(2 * CONCURRENCY)
      console.log(
        `concurrency: max in flight slow-a ${endpoints.maxInFlight.get('/slow-a/token')}, ` +
          `slow-b ${endpoints.maxInFlight.get('/slow-b/token')}, both ${endpoints.maxInFlightTotal} ` +
          `(limit ${CONCURRENCY} per provider)`,
      )
    },
  )

  it(
    'backoff after transient failures: 30 s × 2^failures ' + '× a random factor 0.5-1.5, different per connection',
    async () => {
      const down = await imported('down', 12)
      await dueByAccessToken(down)
      const backoffs = async () => {
        const { rows } = await sql.query<{ failures: number; seconds: number }>(
          `SELECT refresh_failures AS failures, extract(epoch FROM refresh_not_before - last_error_at)::float AS seconds
         FROM connections WHERE id = ANY($1)`,
          [down],
        )
        return rows
      }
      expect(await broker.app.services.refresher.tick()).toMatchObject({ claimed: 12, refreshed: 0, failed: 12 })
      const first = await backoffs()
      expect(first.every((r) => r.failures === 1)).toBe(true)
      // Measured from the failure (last_error_at), so the bounds are the documented ones plus the write's own delay.
      expect(first.every((r) => r.seconds >= 15 && r.seconds <= 46)).toBe(true)
      const spread = (rows: Array<{ seconds: number }>) =>
        Math.max(...rows.map((r) => r.seconds)) - Math.min(...rows.map((r) => r.seconds))
      // Without jitter all twelve would back off by the same 30 s (to within milliseconds).
      expect(spread(first)).toBeGreaterThan(2)
      // No retry until the backoff has passed.
      expect((await broker.app.services.refresher.tick()).claimed).toBe(0)
      expect(calls('down')).toBe(12)

      await sql.query(`UPDATE connections SET refresh_not_before = now() - interval '1 second' WHERE id = ANY($1)`, [
        down,
      ])
      expect(await broker.app.services.refresher.tick()).toMatchObject({ claimed: 12, failed: 12 })
      const second = await backoffs()
      expect(second.every((r) => r.failures === 2 && r.seconds >= 30 && r.seconds <= 91)).toBe(true)
      expect(spread(second)).toBeGreaterThan(2)
      console.log(
        `backoff: first failure ${spread(first).toFixed(1)} s spread over [15, 45] s, ` +
          `second ${spread(second).toFixed(1)} s over [30, 90] s`,
      )
    },
  )

  /** A refresher of the broker's own parts, with a batch of `batchSize`. */
  const refresherWithBatch = (batchSize: number) => {
    const { connections, freshTokens, metrics, log } = broker.app.services
    const options = { windowSeconds: WINDOW, intervalSeconds: 3600, concurrencyPerProvider: 2, leaseSeconds: 60 }
    return new ProactiveRefresher({ store: connections, freshTokens, metrics, log, options: { ...options, batchSize } })
  }

  it('a backlog larger than a batch drains in one pass, batch after batch; stop() ends a pass early', async () => {
    const backlog = await imported('rotating', 12)
    await dueByAccessToken(backlog)
    const before = calls('rotating')
    // Batches of 5: 5, 5, then 2 (not full: the pass ends there).
    expect(await refresherWithBatch(5).tick()).toMatchObject({ claimed: 12, refreshed: 12, failed: 0 })
    expect(calls('rotating') - before).toBe(12)
    expect([...(await successes(backlog)).values()]).toEqual(Array(12).fill(1))
    expect((await refresherWithBatch(5).tick()).claimed).toBe(0)

    const more = await imported('rotating', 12)
    await dueByAccessToken(more)
    const stopping = refresherWithBatch(5)
    const pass = stopping.tick()
    await stopping.stop()
    // The batch in hand (claimed before stop() was called) and no further one.
    expect((await pass).claimed).toBe(5)
  })
})

describe('the claim query reads its indexes', () => {
  it(
    'EXPLAIN: both arms are index scans bounded by expiry (status + ' +
      'expires_at, status + refresh_token_expires_at), no sequential scan',
    async () => {
      const db = await createDatabase()
      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      try {
        // 20,000 connections far from expiry, a few near it: the planner sees a real table.
        await client.query(
          `INSERT INTO connections (id, provider, owner_id, namespace, status, scopes, refresh_token, expires_at,
                                  token_obtained_at, refresh_token_expires_at, created_by)
         SELECT 'conn_' || g, 'idp', 'owner-' || g, 'default',
                CASE WHEN g % 10 = 0 THEN 'reauthorization_required' ELSE 'active' END, '{}', 'sealed',
                now() + make_interval(secs => CASE WHEN g % 1000 = 0 THEN 60 ELSE 3600 * 24 * (1 + g % 30) END),
                now() - interval '1 hour',
                CASE WHEN g % 3 = 0 THEN now() + make_interval(days => 10 + g % 50) END, 'test'
           FROM generate_series(1, 20000) g`,
        )
        await client.query('ANALYZE connections')
        const options = {
          windowSeconds: WINDOW,
          intervalSeconds: 30,
          concurrencyPerProvider: 4,
          batchSize: 100,
          leaseSeconds: 60,
        }
        const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${CLAIM_SQL}`, claimParameters(options))
        const plan = JSON.stringify(rows[0]['QUERY PLAN'])
        const nodes: Array<Record<string, Json>> = []
        const walk = (n: Record<string, Json>) => {
          nodes.push(n)
          for (const c of n.Plans ?? []) walk(c)
        }
        walk(rows[0]['QUERY PLAN'][0].Plan)
        const scans = nodes.filter(
          (n) => n['Relation Name'] === 'connections' || (n['Index Name'] ?? '').startsWith('connections_'),
        )
        expect(scans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([])
        const conds = (index: string) =>
          nodes.filter((n) => n['Index Name'] === index).map((n) => n['Index Cond'] as string)
        expect(conds('connections_status_expires_at_idx')).toEqual([
          expect.stringMatching(/status = 'active'.*expires_at < /s),
        ])
        expect(conds('connections_status_refresh_token_expires_at_idx')).toEqual([
          expect.stringMatching(/status = 'active'.*refresh_token_expires_at < /s),
        ])
        console.log(
          `claim plan: ${nodes
            .map((n) => n['Node Type'] + (n['Index Name'] ? ` (${n['Index Name']})` : ''))
            .join(' → ')}`,
        )
        expect(plan).not.toContain('"Seq Scan"')
      } finally {
        // Not worth a dump of synthetic rows (the secrets check dumps every database it drops).
        await client.query('TRUNCATE connections')
        await client.end()
        await db.drop()
      }
    },
  )
})
