// Fault: the database stops answering (silently: no FIN, no RST) in the middle of a
// refresh: the lease is taken and the provider is answering when the partition starts, so
// the fenced write of the rotated tokens goes into the void. With
// DATABASE_STATEMENT_TIMEOUT_MS and DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS at 1 s and a
// 2 s persist-retry window, everything is freed within the configured timeouts:
// - the caller gets 503 database_unavailable (never a credential error) within the
//   statement timeout, its 5 s answer margin and the retry window;
// - the server holds no lock and no transaction of the broker on the row;
// - the lease runs out (2 x PROVIDER_TIMEOUT_MS + the lock margin), and another replica,
//   which still reaches the database, refreshes the connection;
// - once the partition ends, the stalled replica serves again.
import { createServer, type Server } from 'node:http'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TokenSet } from '../../src/oauth/token-endpoint.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { startBroker, type TestBroker } from '../support/broker.js'
import { createDatabase } from '../support/db.js'
import { printFigures, sql, waitFor } from '../support/faults.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

const TOKEN_TTL = 3600
const PROVIDER_TIMEOUT_MS = 2_000
const LOCK_MARGIN_MS = 500
const PERSIST_RETRY_MS = 2_000
let database: Awaited<ReturnType<typeof createDatabase>>
let proxy: TcpProxy
let as: AuthorizationServer
let gate: { url: string; requests: number; hold(): void; release(): void; close(): Promise<void> }
let stalled: TestBroker
let other: TestBroker
const figures: Record<string, number> = {}

/** A token endpoint answering every refresh with new tokens; `hold()` keeps the next one until `release()`. */
async function startGate(): Promise<typeof gate> {
  const held: Array<() => void> = []
  let holdNext = false
  const state = { requests: 0 }
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', async () => {
      const n = ++state.requests
      if (holdNext) {
        holdNext = false
        await new Promise<void>((r) => held.push(r))
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          access_token: `at-${n}`,
          refresh_token: `rt-${n}`,
          token_type: 'Bearer',
          expires_in: TOKEN_TTL,
        }),
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/token`,
    hold: () => {
      holdNext = true
    },
    release: () => {
      for (const r of held.splice(0)) r()
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  })
}

beforeAll(async () => {
  database = await createDatabase()
  const { hostname, port } = new URL(database.url)
  proxy = await startTcpProxy({ host: hostname, port: Number(port) })
  as = await startAuthorizationServer({ redirectUris: ['http://127.0.0.1/oauth/callback/gate'] })
  gate = await startGate()
  const providers = { gate: providerEntryFor(as, { tokenUrl: gate.url, revocationUrl: undefined }) }
  const env = {
    PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS),
    REFRESH_WINDOW_SECONDS: '0',
    DATABASE_STATEMENT_TIMEOUT_MS: '1000',
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1000',
    DATABASE_POOL_SIZE: '3',
  }
  const timings = { persistRetryMs: PERSIST_RETRY_MS, lockMarginMs: LOCK_MARGIN_MS }
  stalled = await startBroker({ databaseUrl: proxy.url(database.url), providers, env, timings })
  other = await startBroker({ databaseUrl: database.url, providers, env, timings })
})
afterAll(async () => {
  printFigures('the database stops answering mid-refresh', figures)
  // The proxy first: its stalled connections are cut, so the stalled replica closes at once.
  await proxy?.close()
  await stalled?.close().catch(() => undefined)
  await other?.close()
  await gate?.close()
  await as?.close()
  await database?.drop()
})

/** A gate connection whose token expires within 30 s on both brokers' clocks. */
async function nearExpiry(): Promise<string> {
  const tokens: TokenSet = {
    accessToken: 'at-0',
    tokenType: 'Bearer',
    expiresInSeconds: TOKEN_TTL,
    refreshToken: 'rt-0',
    refreshTokenExpiresInSeconds: undefined,
    scopes: undefined,
    metadata: {},
  }
  const row = await other.app.services.connections.create({
    provider: other.config.providers.get('gate')!,
    ownerId: 'stall',
    namespace: 'default',
    clientId: 'test',
    params: {},
    scopes: ['openid'],
    tokens,
  })
  for (const b of [stalled, other]) b.clock.advance(TOKEN_TTL - 30)
  return row.id
}

const vend = (b: TestBroker, id: string) =>
  b.app.services.freshTokens.accessToken(id, { minValiditySeconds: 60, forceRefresh: false }, 'test', ['*'])

/** Can another session lock the row at once (NOWAIT)? Asked directly, not through the proxy. */
async function rowLockFree(id: string): Promise<boolean> {
  const direct = new pg.Client({ connectionString: database.url })
  await direct.connect()
  try {
    await direct.query('BEGIN')
    await direct.query('SELECT 1 FROM connections WHERE id = $1 FOR UPDATE NOWAIT', [id])
    return true
  } catch {
    return false
  } finally {
    await direct.end()
  }
}

describe('a database that stops answering mid-refresh', () => {
  it('frees the caller, the row and the lease within the configured timeouts', async () => {
    const id = await nearExpiry()
    gate.hold()
    const call = vend(stalled, id).then(
      () => undefined,
      (err: { status?: number; code?: string }) => err,
    )
    await waitFor(() => gate.requests === 1, 5_000, 'the refresh at the provider')
    const [leased] = await sql(database.url, 'SELECT refresh_lease_owner FROM connections WHERE id = $1', [id])
    expect(leased!.refresh_lease_owner).not.toBeNull()
    proxy.stall()
    const stalledAt = Date.now()
    gate.release()

    // The caller: an infrastructure failure, once the write has been retried for its window.
    const err = await call
    figures.callerFreedAfterMs = Date.now() - stalledAt
    expect([err?.status, err?.code]).toEqual([503, 'database_unavailable'])
    expect(figures.callerFreedAfterMs).toBeLessThan(1_000 + 5_000 + PERSIST_RETRY_MS + 2_000)
    // The server: no transaction of the broker left, the row free.
    const open = await sql(
      database.url,
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = 'oauth-broker' AND xact_start IS NOT NULL`,
    )
    expect(open[0]!.n).toBe(0)
    expect(await rowLockFree(id)).toBe(true)

    // The lease runs out; the replica that reaches the database refreshes.
    const leaseMs = PROVIDER_TIMEOUT_MS * 2 + LOCK_MARGIN_MS
    const refreshed = await waitFor(
      async () => (await vend(other, id).catch(() => undefined))?.accessToken,
      leaseMs + 5_000,
      'a refresh on the other replica',
      200,
    )
    figures.otherRefreshedAfterMs = Date.now() - stalledAt
    expect(refreshed).toBe('at-2')
    expect(gate.requests).toBe(2)

    // Once the partition ends, the stalled replica serves again (the other one's tokens).
    proxy.up()
    const again = await waitFor(
      async () => (await vend(stalled, id).catch(() => undefined))?.accessToken,
      10_000,
      'the stalled replica serving again',
      200,
    )
    expect(again).toBe('at-2')
  }, 60_000)
})
