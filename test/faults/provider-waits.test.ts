// Fault: every kind of provider call other than a refresh hangs at once (accepts TCP, never
// answers) with a database pool of 3: code exchanges (the callback), API-key checks,
// Interact's /info discovery (a credential exchange), revocations on DELETE (the first
// attempt) and the revocation queue's retries. None of them holds a database connection
// or a transaction while the provider is waited on (docs/decisions.md "Refresh lease",
// "Code and credential exchanges", "Revocation queue"), so, through the hang:
// - /healthz, /readyz, POST /oauth/token and GET /v1/connections answer 200 within 1 s;
// - no broker session has a transaction open (pg_stat_activity, sampled);
// and every waiting call ends once PROVIDER_TIMEOUT_MS passes, the deletions with their
// revocations queued for the worker.
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import { openBrokerTransactions, printFigures, sleep, sql, timedFetch, waitFor } from '../support/faults.js'

const TIMEOUT_MS = 5_000
const EACH = 4
let as: AuthorizationServer
let hang: { url: string; accepted: number; close(): Promise<void> }
let broker: TestBroker
let api: Api
let token: string
const figures = { probes: 0, probesNot200: 0, samples: 0, openTransactionsSeen: 0 }

/** A TCP server that accepts every connection and never says a byte (plain or TLS alike). */
async function startHangingServer(): Promise<typeof hang> {
  const sockets = new Set<Socket>()
  const state = { accepted: 0 }
  const server: Server = createServer((socket) => {
    state.accepted++
    sockets.add(socket)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return Object.assign(state, {
    url: `127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((r) => server.close(() => r()))
    },
  })
}

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  hang = await startHangingServer()
  broker = await startBroker({
    port,
    providers: { idp: providerEntryFor(as), respondio: { validationUrl: `http://${hang.url}/validate` }, interact: {} },
    env: {
      PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      DATABASE_POOL_SIZE: '3',
      // Every waiting call reaches its provider: the bulkheads are not what is tested here.
      PROVIDER_CONCURRENCY: '50',
      ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true',
      REFRESH_WINDOW_SECONDS: '0',
      RATE_LIMIT_TOKEN: '0',
    },
    timings: { revocationRetryMs: 200, revocationPollMs: 100 },
  })
  token = await broker.token()
  api = apiClient(broker, token)
})
afterAll(async () => {
  printFigures('provider calls other than refresh hang, a pool of 3', figures)
  await broker?.close()
  await hang?.close()
  await as?.close()
})

/** Probes answer 200 within 1 s and no transaction stays open, `rounds` times. */
async function probeThroughTheHang(rounds: number): Promise<void> {
  const auth = `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all([
      timedFetch('healthz', `${broker.url}/healthz`),
      timedFetch('readyz', `${broker.url}/readyz`),
      timedFetch('oauth token', `${broker.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      }),
      timedFetch('list', `${broker.url}/v1/connections`, { headers: { authorization: `Bearer ${token}` } }),
    ])
    figures.probes += answers.length
    figures.probesNot200 += answers.filter((a) => a.status !== 200).length
    expect(answers.map((a) => [a.kind, a.status])).toEqual([
      ['healthz', 200],
      ['readyz', 200],
      ['oauth token', 200],
      ['list', 200],
    ])
    for (const a of answers) expect(a.end - a.start, a.kind).toBeLessThan(1_000)
    const open = await openBrokerTransactions(broker.databaseUrl, 500)
    figures.samples++
    figures.openTransactionsSeen += open
    expect(open).toBe(0)
    await sleep(300)
  }
}

const revocationsSeen = () => as.requests.filter((r) => r.path === new URL(as.revocationUrl).pathname).length

describe('provider calls other than a refresh, all hanging at once', () => {
  it('hold no transaction: every probe answers, and each call ends at its timeout', async () => {
    const doomed = await Promise.all(
      Array.from({ length: EACH }, (_, i) => connectUser(api, as, { provider: 'idp', ownerId: `revoke-${i}` })),
    )
    const revocationsBefore = revocationsSeen()
    const tokenRequestsBefore = as.tokenRequests.length
    as.fault('hang', EACH)
    as.revocationFault('hang', 100)

    let ended = 0
    const track = <T>(p: Promise<T>) => p.finally(() => ended++)
    const exchanges = Array.from({ length: EACH }, (_, i) =>
      track(
        connectUser(api, as, { provider: 'idp', ownerId: `exchange-${i}` }).then(
          () => 'connected',
          () => 'refused',
        ),
      ),
    )
    const apiKeys = Array.from({ length: EACH }, (_, i) =>
      track(
        api('POST', '/v1/connections', {
          provider: 'respondio',
          ownerId: `key-${i}`,
          credentials: { apiKey: 'k'.repeat(20) },
        }),
      ),
    )
    const discoveries = Array.from({ length: EACH }, (_, i) =>
      track(
        api('POST', '/v1/connections', {
          provider: 'interact',
          ownerId: `interact-${i}`,
          credentials: { intranetUrl: `https://${hang.url}`, apiKey: 'key', apiSecret: 'secret-0123456789' },
        }),
      ),
    )
    const deletions = doomed.map((id) => track(api('DELETE', `/v1/connections/${id}`)))

    // Every call is at its provider: code exchanges at the token endpoint, the key checks and
    // the discoveries at the hanging server, the first revocations at the revocation endpoint.
    await waitFor(() => as.tokenRequests.length - tokenRequestsBefore >= EACH, 15_000, 'the code exchanges')
    await waitFor(() => hang.accepted >= 2 * EACH, 10_000, 'the key checks and discoveries')
    await waitFor(() => revocationsSeen() - revocationsBefore >= EACH, 10_000, 'the first revocations')
    await probeThroughTheHang(3)
    expect(ended).toBe(0)

    // Each ends at its timeout, as an outage: nothing connected, nothing created.
    expect(await Promise.all(exchanges)).toEqual(Array(EACH).fill('refused'))
    for (const res of [...(await Promise.all(apiKeys)), ...(await Promise.all(discoveries))])
      expect([res.status, res.body.code]).toEqual([503, 'provider_unavailable'])
    for (const res of await Promise.all(deletions)) expect(res.status).toBeLessThan(300)
    const [stored] = await sql<{ n: string }>(
      broker.databaseUrl,
      `SELECT count(*) AS n FROM connections
        WHERE owner_id LIKE 'exchange-%' OR owner_id LIKE 'key-%' OR owner_id LIKE 'interact-%'`,
    )
    expect(Number(stored!.n)).toBe(0)

    // The queue's worker retries the failed revocations: its calls hang too, and hold nothing.
    const [queued] = await sql<{ n: string }>(broker.databaseUrl, 'SELECT count(*) AS n FROM revocation_queue')
    expect(Number(queued!.n)).toBe(EACH)
    const firstAttempts = revocationsSeen()
    await waitFor(() => revocationsSeen() > firstAttempts, 10_000, 'the queue worker retrying')
    await probeThroughTheHang(2)
  })
})
