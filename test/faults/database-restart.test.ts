// Fault: the database stops under load and comes back (on another port, behind a proxy
// whose target changes, as behind a stable service address), and the database goes away
// in the middle of a connect callback. This file runs its own embedded PostgreSQL, so
// stopping it affects no other test file.
//
// Expected: /readyz 503 during the outage and 200 after; the same broker process recovers
// (no restart); 503 is the only 5xx inside the outage and there is none outside it; no
// partial rows; versions agree with the audit trail and with the provider; no token lost.
// The fault window runs from stop() to the first /readyz 200 after the restart; a call
// counts as outside it when it ended before or started after it.
// A query in flight when its connection is cut (FIN, RST, or closed by the server) is a
// 503 too. A callback that meets a dead database ends on an error page, leaves no
// connection row, and the flow works again once the database is back.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/store/embedded.js'
import { migrate } from '../../src/store/migrate.js'
import { startZendeskChatReplica, type ZendeskChatReplica } from '../replicas/zendesk-chat.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import {
  histogram,
  metric,
  openColumn,
  printFigures,
  sleep,
  sql,
  testKeyring,
  timedFetch,
  vend,
  waitFor,
  type Outcome,
} from '../support/faults.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

const RETURN_URL = 'https://app.example.com/connected'
const keyring = testKeyring()
const pgLog = pino({ level: 'warn' })
let dir: string
let postgres: EmbeddedDatabase
let proxy: TcpProxy
let zendesk: ZendeskChatReplica
let broker: TestBroker
let api: Api
let token: string

const figures: Record<string, number | string> = {
  tokensLost: 0,
  fiveXxOutsideFaultWindow: 0,
  nonRetryable5xxInsideFaultWindow: 0,
  load_outageMs: 0,
  load_readyAgainAfterRestartMs: 0,
  load_callsBefore: '',
  load_callsDuring: '',
  load_callsAfter: '',
  load_readyzDuring: '',
  load_readyzOutside: '',
  load_forcedRefreshesStored: 0,
  load_refreshWritesRetriedAndStored: 0,
  load_refreshWritesLost: 0,
  load_partialRows: 0,
  load_versionMismatches: 0,
  callbackAtDeadDb_status: 0,
  callbackAtDeadDb_rowsLeft: 0,
  callbackDuringExchange_status: 0,
  callbackDuringExchange_rowsLeft: 0,
  callbackDuringExchange_orphanGrantsAtProvider: 0,
  callbackRetriesAfterRecovery_ok: 0,
  inFlight_triesThatNeverReachedTheLock: 0,
}

const target = (url: string) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })
const databaseUrl = () => postgres.url

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'broker-faults-pg-'))
  // As root, PostgreSQL runs as another user that must be able to enter the folder.
  chmodSync(dir, 0o755)
  postgres = await startEmbeddedPostgres(dir, pgLog)
  const pool = new pg.Pool({ connectionString: postgres.url, max: 1 })
  await migrate(pool, pino({ level: 'silent' }))
  await pool.end()
  proxy = await startTcpProxy(target(postgres.url))
  const port = await freePort()
  zendesk = await startZendeskChatReplica({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/zendesk-chat`] })
  broker = await startBroker({
    port,
    databaseUrl: proxy.url(postgres.url),
    providers: {
      'zendesk-chat': {
        clientId: zendesk.clientId,
        clientSecret: zendesk.clientSecret,
        authorizationUrl: zendesk.urls.authorizationUrl,
        tokenUrl: zendesk.urls.tokenUrl,
      },
    },
    env: { PROVIDER_TIMEOUT_MS: '5000', REFRESH_WINDOW_SECONDS: '0', FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
  })
  token = await broker.token()
  api = apiClient(broker, token)
}, 90_000)

afterAll(async () => {
  printFigures('database stopped and restarted under load; database down during a callback', figures)
  await broker?.close()
  await zendesk?.close()
  await proxy?.close()
  await postgres?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const connect = (ownerId: string) =>
  connectUser(api, zendesk, { provider: 'zendesk-chat', ownerId, params: { subdomain: 'acme' } })
const liveAtProvider = (rt: string | undefined) =>
  rt !== undefined && 'record' in zendesk.book.checkRefresh(rt, zendesk.clientId)
const grantOf = (rt: string) => zendesk.book.refresh.get(rt)?.grantId
const refreshesOfGrant = (grant: string | undefined) =>
  zendesk.usedRefreshTokens.filter((t) => grantOf(t) === grant).length
const is5xx = (o: Outcome) => o.status >= 500 || o.status === 0

async function waitReady(timeoutMs = 20_000) {
  await waitFor(
    async () => (await timedFetch('readyz', `${broker.url}/readyz`)).status === 200,
    timeoutMs,
    '/readyz 200',
    100,
  )
}

describe('database stopped under load and restarted on another port', () => {
  it('503 only during the outage, recovery without a broker restart, consistent rows, no token lost', async () => {
    const ids: string[] = []
    for (let i = 0; i < 8; i++) ids.push(await connect(`load-${i}`))
    const forced = ids.slice(0, 2)
    // Refreshes take a while at the provider, so the database can stop while one is there.
    zendesk.setLatency(400)
    const storedRetries = await metric(broker.url, 'broker_refresh_write_retries_total', { outcome: 'stored' })

    const calls: Outcome[] = []
    const readyz: Outcome[] = []
    let running = true
    const loops = [
      ...Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; running; i++) {
          calls.push(await vend(broker.url, token, ids[(w + i) % ids.length]!))
          await sleep(10)
        }
      }),
      (async () => {
        for (let i = 0; running; i++) {
          calls.push(
            await vend(broker.url, token, forced[i % forced.length]!, { forceRefresh: true }, 'forced refresh'),
          )
          await sleep(50)
        }
      })(),
      (async () => {
        while (running) {
          readyz.push(await timedFetch('readyz', `${broker.url}/readyz`))
          await sleep(100)
        }
      })(),
    ]

    await sleep(1_500)
    // Stop the database right after the provider got a refresh request: it answers (rotated) while
    // the database is down, so that refresh goes through the broker's write retry.
    const refreshRequests = () => zendesk.requests.filter((r) => r.body?.grant_type === 'refresh_token').length
    const seen = refreshRequests()
    await waitFor(() => refreshRequests() > seen, 5_000, 'a refresh request at the provider', 2)
    const windowStart = Date.now()
    await postgres.stop()
    await sleep(2_000)
    postgres = await startEmbeddedPostgres(dir, pgLog)
    proxy.retarget(target(postgres.url))
    const restartedAt = Date.now()
    const firstReady = await waitFor(
      () => readyz.find((r) => r.start >= restartedAt && r.status === 200),
      20_000,
      '/readyz 200 after the restart',
      20,
    )
    const windowEnd = firstReady.end
    figures.load_outageMs = windowEnd - windowStart
    figures.load_readyAgainAfterRestartMs = windowEnd - restartedAt
    // The broker keeps serving after the outage, without a restart.
    await sleep(2_500)
    running = false
    await Promise.all(loops)
    zendesk.setLatency(0)

    const before = calls.filter((o) => o.end < windowStart)
    const after = calls.filter((o) => o.start > windowEnd)
    const during = calls.filter((o) => !before.includes(o) && !after.includes(o))
    figures.load_callsBefore = histogram(before)
    figures.load_callsDuring = histogram(during)
    figures.load_callsAfter = histogram(after)
    figures.load_readyzDuring = histogram(readyz.filter((r) => r.end >= windowStart && r.start <= windowEnd))
    figures.load_readyzOutside = histogram(readyz.filter((r) => r.end < windowStart || r.start > windowEnd))
    figures.fiveXxOutsideFaultWindow = [...before, ...after].filter(is5xx).length
    figures.nonRetryable5xxInsideFaultWindow = during.filter((o) => is5xx(o) && o.status !== 503).length

    expect(before.length).toBeGreaterThan(50)
    expect(after.length).toBeGreaterThan(50)
    expect(figures.fiveXxOutsideFaultWindow).toBe(0)
    expect([...before, ...after].every((o) => o.status === 200)).toBe(true)
    // During the outage: the request either made it or is a clean 503 (never a 500 or a dropped connection).
    if (figures.nonRetryable5xxInsideFaultWindow) {
      // Diagnostics: what the broker logged for the 500s (the cause of a bug report).
      const logged = broker.logs.filter((l) => l.includes('"code":"internal_error"'))
      const errors = logged.slice(0, 3).map((l) => {
        const { err } = JSON.parse(l) as { err: { type: string; code?: string; message: string; meta?: unknown } }
        return { type: err.type, code: err.code, message: err.message.trim().split('\n').pop(), meta: err.meta }
      })
      console.log(
        '500s inside the fault window:',
        during.filter((o) => is5xx(o) && o.status !== 503).map((o) => `${o.kind} ${o.id}`),
        JSON.stringify(errors, null, 1),
      )
    }
    // Soft: a failure here is reported, and the recovery checks below still run.
    expect.soft(figures.nonRetryable5xxInsideFaultWindow).toBe(0)
    expect(
      during.filter((o) => o.status === 503).every((o) => o.code === 'database_unavailable'),
      histogram(during),
    ).toBe(true)
    expect(
      during.filter((o) => o.status === 0),
      'calls without an HTTP answer',
    ).toEqual([])
    expect(during.some((o) => o.status === 503)).toBe(true)
    // Readiness tells the truth on both sides.
    expect(readyz.some((r) => r.start >= windowStart && r.end <= windowEnd && r.status === 503)).toBe(true)
    expect(readyz.filter((r) => r.end < windowStart || r.start > windowEnd).every((r) => r.status === 200)).toBe(true)
    // Forced refreshes went on after the outage.
    expect(after.filter((o) => o.kind === 'forced refresh' && o.status === 200).length).toBeGreaterThanOrEqual(2)
    figures.load_forcedRefreshesStored = calls.filter((o) => o.kind === 'forced refresh' && o.status === 200).length
    figures.load_refreshWritesRetriedAndStored =
      (await metric(broker.url, 'broker_refresh_write_retries_total', { outcome: 'stored' })) - storedRetries
    figures.load_refreshWritesLost = await metric(broker.url, 'broker_refresh_write_retries_total', { outcome: 'lost' })
    expect(figures.load_refreshWritesRetriedAndStored).toBeGreaterThanOrEqual(1)
    expect(figures.load_refreshWritesLost).toBe(0)

    // Every connection serves its token again.
    for (const id of ids) expect((await vend(broker.url, token, id)).status).toBe(200)

    // No partial rows; version = 1 + stored refreshes = 1 + refresh audit events = 1 + refreshes the provider made.
    const rows = await sql(
      databaseUrl(),
      'SELECT id, status, version, access_token, refresh_token FROM connections WHERE id = ANY($1)',
      [ids],
    )
    expect(rows).toHaveLength(ids.length)
    figures.load_partialRows = rows.filter((r) => r.status !== 'active' || !r.access_token || !r.refresh_token).length
    expect(figures.load_partialRows).toBe(0)
    const audit = await sql(
      databaseUrl(),
      'SELECT connection_id, count(*)::int AS n FROM audit_events WHERE type = ' +
        "'connection.refresh_succeeded' AND connection_id = ANY($1) GROUP BY connection_id",
      [ids],
    )
    const audited = new Map(audit.map((a) => [a.connection_id as string, a.n as number]))
    for (const r of rows) {
      const rt = openColumn(keyring, r.id, 'refresh_token', r.refresh_token)!
      const at = openColumn(keyring, r.id, 'access_token', r.access_token)!
      if (!liveAtProvider(rt) || !zendesk.isValid(at)) figures.tokensLost = (figures.tokensLost as number) + 1
      const atProvider = refreshesOfGrant(grantOf(rt))
      if (r.version - 1 !== (audited.get(r.id) ?? 0) || r.version - 1 !== atProvider) {
        figures.load_versionMismatches = (figures.load_versionMismatches as number) + 1
        console.log('version mismatch', { id: r.id, version: r.version, audited: audited.get(r.id) ?? 0, atProvider })
      }
    }
    expect(figures.load_versionMismatches).toBe(0)
    expect(figures.tokensLost).toBe(0)
    expect(new Set(zendesk.usedRefreshTokens).size).toBe(zendesk.usedRefreshTokens.length)
    expect(zendesk.rejections.map((r) => r.reason)).toEqual([])
  }, 60_000)
})

describe('a query in flight when the database connection goes away', () => {
  // Deterministic versions of what the load above meets by chance: a broker statement waits
  // on a table lock held by another session, and meanwhile its connection is closed on the
  // network (proxy: FIN), reset (proxy: RST, as when a host dies or a middlebox drops the
  // flow), or closed by the server (pg_terminate_backend, as in a shutdown or failover).
  const cuts = {
    network: async () => proxy.down(),
    'network with a reset': async () => proxy.reset(),
    server: async (locker: pg.Client) => {
      await locker.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ' +
          "application_name = 'oauth-broker' AND wait_event_type = 'Lock'",
      )
    },
  }
  for (const [cut, doCut] of Object.entries(cuts)) {
    for (const kind of ['vend', 'forced refresh'] as const) {
      it(`${kind}, connection closed by the ${cut}: 503 database_unavailable, not a 500`, async () => {
        const id = await connect(`in-flight-${cut}-${kind}`)
        /** One try: the call's outcome, or undefined when it ended before its statement waited on the lock. */
        const inFlight = async (lastTry: boolean): Promise<Outcome | undefined> => {
          const locker = new pg.Client({ connectionString: databaseUrl() })
          await locker.connect()
          try {
            await locker.query('BEGIN')
            await locker.query('LOCK TABLE connections IN ACCESS EXCLUSIVE MODE')
            const call = vend(broker.url, token, id, kind === 'vend' ? {} : { forceRefresh: true }, kind)
            let ended: Outcome | undefined
            void call.then((o) => (ended = o))
            // The broker's statement is now waiting on the lock, inside PostgreSQL.
            const waiting = async () =>
              (
                await locker.query(
                  "SELECT 1 FROM pg_stat_activity WHERE application_name = 'oauth-broker' AND wait_event_type = 'Lock'",
                )
              ).rowCount
            const reached = await waitFor(
              async () => ended !== undefined || (await waiting()),
              5_000,
              'the broker query waiting on the lock',
              20,
            ).then(
              () => true,
              async (err: Error) => {
                const { rows } = await locker.query(
                  'SELECT state, wait_event_type, wait_event, left(query, 80) AS ' +
                    "query FROM pg_stat_activity WHERE application_name = 'oauth-broker'",
                )
                const message = `${err.message}; the broker's sessions: ${JSON.stringify(rows)}`
                // Seen in about one full slow run in two, never alone: noted, tried once more.
                if (lastTry) throw new Error(message)
                figures.inFlight_triesThatNeverReachedTheLock =
                  Number(figures.inFlight_triesThatNeverReachedTheLock) + 1
                console.log(`${kind}, connection closed by the ${cut}: ${message}; trying once more`)
                return false
              },
            )
            if (!reached) return undefined
            if (ended) {
              // A pooled connection left broken by the previous cut can fail the call at once:
              // a clean 503 too, but not the case under test, which is tried once more.
              console.log(
                `${kind}, connection closed by the ${cut}: the call ended before waiting on the lock:`,
                ended.status,
                ended.code,
              )
              expect([ended.status, ended.code]).toEqual([503, 'database_unavailable'])
              return undefined
            }
            await doCut(locker)
            return await call
          } finally {
            proxy.up()
            await locker.query('ROLLBACK').catch(() => undefined)
            await locker.end()
          }
        }
        let res = await inFlight(false)
        if (!res) {
          await waitReady()
          res = await inFlight(true)
        }
        expect(res, 'the call never waited on the lock').toBeDefined()
        if (!res) return
        figures[`inFlight_${cut.replace(/ /g, '_')}_${kind.replace(' ', '_')}`] =
          `${res.status} ${res.code ?? ''}`.trim()
        if (res.status !== 503) {
          const logged = broker.logs
            .filter((l) => l.includes('"code":"internal_error"'))
            .slice(-1)
            .map((l) => JSON.parse(l).err)
          console.log(
            `${kind}, connection closed by the ${cut}:`,
            res.status,
            JSON.stringify(
              logged.map((e) => ({
                type: e.type,
                code: e.code,
                message: String(e.message).trim().split('\n').pop(),
                meta: e.meta,
              })),
            ),
          )
        }
        expect([res.status, res.code]).toEqual([503, 'database_unavailable'])
        await waitReady()
        expect((await vend(broker.url, token, id)).status).toBe(200)
      })
    }
  }
})

describe('database down during a callback', () => {
  async function startFlow(ownerId: string) {
    const session = await api('POST', '/v1/connect-sessions', {
      provider: 'zendesk-chat',
      ownerId,
      params: { subdomain: 'acme' },
      returnUrl: RETURN_URL,
    })
    expect(session.status).toBe(201)
    const browser = new Browser()
    const start = await browser.get(session.body.connectUrl)
    expect(start.status).toBe(302)
    const callback = await zendesk.authorize(start.headers.get('location')!)
    return { connectUrl: session.body.connectUrl as string, browser, callback }
  }

  /** The rest of a flow in an existing browser: open the connect URL, consent, come back. */
  async function finishFlow(browser: Browser, connectUrl: string) {
    const start = await browser.get(connectUrl)
    if (start.status !== 302) return start
    return browser.get(await zendesk.authorize(start.headers.get('location')!))
  }

  const rowsOf = async (ownerId: string) =>
    sql(databaseUrl(), 'SELECT id, status, access_token, refresh_token FROM connections WHERE owner_id = $1', [ownerId])
  const exchangesOf = (code: string | null) =>
    zendesk.requests.filter((r) => r.body?.grant_type === 'authorization_code' && r.body?.code === code)
  const connectedId = (res: Response) => {
    const location = res.headers.get('location')
    const back = location ? new URL(location) : undefined
    return back?.searchParams.get('status') === 'connected' ? back.searchParams.get('connection_id') : null
  }

  it('database unreachable when the browser comes back: an error page, ' +
    'no row, the attempt not consumed; the flow works after recovery', async () => {
    const ownerId = 'callback-dead-db'
    const { connectUrl, browser, callback } = await startFlow(ownerId)
    proxy.down()
    let res: Response
    try {
      res = await browser.get(callback)
    } finally {
      proxy.up()
    }
    figures.callbackAtDeadDb_status = res.status
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(connectedId(res)).toBeNull()
    // No request reached the provider: the attempt is checked before any code exchange.
    expect(exchangesOf(callback.searchParams.get('code'))).toEqual([])
    await waitReady()
    figures.callbackAtDeadDb_rowsLeft = (await rowsOf(ownerId)).length
    expect(figures.callbackAtDeadDb_rowsLeft).toBe(0)

    // The connect link still works (the session was never consumed): the whole flow again.
    const retried = await finishFlow(browser, connectUrl)
    const id = connectedId(retried)
    expect(id, `status ${retried.status} ${retried.headers.get('location')}`).toBeTruthy()
    figures.callbackRetriesAfterRecovery_ok = (figures.callbackRetriesAfterRecovery_ok as number) + 1
    expect(await rowsOf(ownerId)).toEqual([
      expect.objectContaining({
        id,
        status: 'active',
        access_token: expect.any(String),
        refresh_token: expect.any(String),
      }),
    ])
    // The stale callback (its attempt was replaced by the retry) is refused without reaching the provider.
    const stale = await browser.get(callback)
    expect(stale.status).toBeLessThan(500)
    expect(connectedId(stale)).toBeNull()
    expect(exchangesOf(callback.searchParams.get('code'))).toEqual([])
    expect((await vend(broker.url, token, id!)).status).toBe(200)
  }, 30_000)

  it('database lost while the provider exchanges the ' +
    'code: an error page, no partial row; a new flow works', async () => {
    const ownerId = 'callback-db-lost-mid-exchange'
    const { connectUrl, browser, callback } = await startFlow(ownerId)
    const code = callback.searchParams.get('code')
    const grantsBefore = zendesk.book.grants.size
    zendesk.setLatency(1_000)
    const pending = browser.get(callback)
    let res: Response
    try {
      // The provider holds the code exchange; the database goes away before the row is written.
      await waitFor(() => exchangesOf(code).length > 0, 5_000, 'the code exchange at the provider', 5)
      proxy.down()
      res = await pending
    } finally {
      zendesk.setLatency(0)
      proxy.up()
    }
    figures.callbackDuringExchange_status = res.status
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(connectedId(res)).toBeNull()
    await waitReady()
    figures.callbackDuringExchange_rowsLeft = (await rowsOf(ownerId)).length
    expect(figures.callbackDuringExchange_rowsLeft).toBe(0)
    // The provider issued a grant the broker never stored (nothing to revoke it with).
    figures.callbackDuringExchange_orphanGrantsAtProvider = zendesk.book.grants.size - grantsBefore

    // The attempt was consumed (single use holds even on failure): the same link is refused...
    const again = await browser.get(connectUrl)
    expect(again.status).toBeLessThan(500)
    expect(connectedId(again)).toBeNull()
    // ...and a new connect session goes through.
    const id = await connect(ownerId)
    figures.callbackRetriesAfterRecovery_ok = (figures.callbackRetriesAfterRecovery_ok as number) + 1
    expect(await rowsOf(ownerId)).toEqual([
      expect.objectContaining({
        id,
        status: 'active',
        access_token: expect.any(String),
        refresh_token: expect.any(String),
      }),
    ])
    expect((await vend(broker.url, token, id)).status).toBe(200)
    expect(zendesk.rejections.map((r) => r.reason)).toEqual([])
  }, 30_000)
})
