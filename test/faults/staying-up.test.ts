// Fault: one provider's token endpoint misbehaves (hangs, trickles a byte a second, answers
// 1 GB, answers garbage, resets the connection) while the broker keeps serving everything
// that does not need that provider; and a provider bulkhead (PROVIDER_CONCURRENCY) that is
// full. Expected (docs/decisions.md "Provider bulkheads", docs/configuration.md):
//
// - the refresh at the faulty provider ends within PROVIDER_TIMEOUT_MS (or the size cap)
//   with 503 provider_unavailable, Retry-After, the stored tokens untouched and the
//   failure's code recorded on the connection;
// - meanwhile /healthz, /readyz, POST /oauth/token, GET /v1/connections and the access token
//   of a connection at another provider (no refresh needed) answer 200, before the faulted
//   call ends when the provider hangs or trickles;
// - with PROVIDER_CONCURRENCY=2 and a hanging provider, a third concurrent refresh at it is
//   refused (503 provider_unavailable, Retry-After) without reaching the provider, while a
//   refresh at another provider on the same replica succeeds; the proactive refresher's
//   backlog at that provider leaves a slot to the request path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
  type TokenFault,
} from '../support/authorization-server.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import { metric, printFigures, sql, timedFetch, vend, waitFor, type Outcome } from '../support/faults.js'

const TIMEOUT_MS = 2000
/**
 * The narrow broker's: a third caller is refused when the slots stay taken for the 90 % of it
 * it may wait, so it must start within a tenth of it after the first two (600 ms here).
 */
const NARROW_TIMEOUT_MS = 6000
/** How long a faulted call may take beyond the provider timeout (database, scheduling). */
const SLACK_MS = 1500
let bad: AuthorizationServer
let good: AuthorizationServer
let broker: TestBroker
/** The same database, PROVIDER_CONCURRENCY=2. */
let narrow: TestBroker
let api: Api
let token: string
/** A connection at the good provider whose token needs no refresh. */
let atGood: string

const figures: Record<string, number | string> = {}

beforeAll(async () => {
  const port = await freePort()
  const redirectUris = (provider: string) => [`http://127.0.0.1:${port}/oauth/callback/${provider}`]
  bad = await startAuthorizationServer({ redirectUris: redirectUris('bad') })
  good = await startAuthorizationServer({ redirectUris: redirectUris('good') })
  const providers = {
    bad: providerEntryFor(bad, { displayName: 'Bad IdP' }),
    good: providerEntryFor(good, { displayName: 'Good IdP' }),
  }
  // No background refresher, every forced refresh reaches the provider, no rate limit on the probes.
  const env = {
    PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
    REFRESH_WINDOW_SECONDS: '0',
    FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
    RATE_LIMIT_TOKEN: '0',
    RATE_LIMIT_BROWSER: '0',
  }
  broker = await startBroker({ port, providers, env })
  narrow = await startBroker({
    databaseUrl: broker.databaseUrl,
    providers,
    env: { ...env, PROVIDER_CONCURRENCY: '2', PROVIDER_TIMEOUT_MS: String(NARROW_TIMEOUT_MS) },
  })
  token = await broker.token()
  api = apiClient(broker, token)
  atGood = await connectUser(api, good, { provider: 'good', ownerId: 'good-owner' })
})

afterAll(async () => {
  printFigures('staying up: a faulty provider, a full bulkhead', figures)
  await narrow?.close()
  await broker?.close()
  await bad?.close()
  await good?.close()
})

async function stored(id: string) {
  const [r] = await sql(broker.databaseUrl, 'SELECT * FROM connections WHERE id = $1', [id])
  return {
    status: r.status as string,
    sealed: [r.access_token, r.refresh_token] as Array<string | null>,
    lastErrorCode: r.last_error_code as string | null,
  }
}

/** Everything that must keep answering whatever one provider does. */
function probes(at: TestBroker, brokerToken: string): Promise<Outcome[]> {
  const basic = `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`
  return Promise.all([
    timedFetch('healthz', `${at.url}/healthz`),
    timedFetch('readyz', `${at.url}/readyz`),
    timedFetch('oauth/token', `${at.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    }),
    timedFetch('connections', `${at.url}/v1/connections`, { headers: { authorization: `Bearer ${brokerToken}` } }),
    vend(at.url, brokerToken, atGood, {}, 'access-token at another provider'),
  ])
}

const expectedCode: Partial<Record<TokenFault, string>> = {
  hang: 'timeout',
  trickle: 'timeout',
  gigabyte: 'response_too_large',
  garbage: 'malformed_response',
  reset: 'network_error',
}

describe('a token endpoint that misbehaves', () => {
  for (const [fault, code] of Object.entries(expectedCode) as Array<[TokenFault, string]>) {
    const name = `${fault}: 503 provider_unavailable (${code}) within its bounds; everything else answers meanwhile`
    it(name, async () => {
      const id = await connectUser(api, bad, { provider: 'bad', ownerId: `fault-${fault}` })
      const before = await stored(id)
      const seen = bad.tokenRequests.length
      const goodRequests = good.tokenRequests.length
      bad.fault(fault)
      const call = vend(broker.url, token, id, { forceRefresh: true }, fault)
      await waitFor(() => bad.tokenRequests.length > seen, 10_000, 'the refresh at the provider')
      const during = await probes(broker, token)
      const res = await call

      expect([res.status, res.code, res.retryAfter]).toEqual([503, 'provider_unavailable', '5'])
      expect(res.end - res.start).toBeLessThan(TIMEOUT_MS + SLACK_MS)
      expect(await stored(id)).toEqual({ status: 'active', sealed: before.sealed, lastErrorCode: code })
      expect(during.map((p) => [p.kind, p.status])).toEqual(during.map((p) => [p.kind, 200]))
      // The other provider's connection was served from storage, not refreshed.
      expect(good.tokenRequests.length).toBe(goodRequests)
      // A provider that holds the call open: everything else was answered while it did.
      if (fault === 'hang' || fault === 'trickle')
        for (const p of during) expect(p.end, `${p.kind} before the faulted call ended`).toBeLessThan(res.end)
      figures[`${fault}_callMs`] = res.end - res.start
      figures[`${fault}_slowestProbeMs`] = Math.max(...during.map((p) => p.end - p.start))
      bad.clearFaults()
    })
  }
})

describe('a full bulkhead', () => {
  it(
    'PROVIDER_CONCURRENCY=2, a hanging provider: a third concurrent refresh is 503 provider_unavailable ' +
      'with Retry-After, never sent; another provider refreshes meanwhile',
    async () => {
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push(await connectUser(api, bad, { provider: 'bad', ownerId: `bulkhead-${i}` }))
      const narrowToken = await narrow.token()
      const seen = bad.tokenRequests.length
      const goodRequests = good.tokenRequests.length
      bad.fault('hang', 3)
      const first = ids.slice(0, 2).map((id) => vend(narrow.url, narrowToken, id, { forceRefresh: true }))
      await waitFor(() => bad.tokenRequests.length >= seen + 2, 10_000, 'both slots taken at the provider')
      const [third, other] = await Promise.all([
        vend(narrow.url, narrowToken, ids[2]!, { forceRefresh: true }, 'third'),
        vend(narrow.url, narrowToken, atGood, { forceRefresh: true }, 'another provider'),
      ])
      const held = await Promise.all(first)

      expect([third.status, third.code, third.retryAfter]).toEqual([503, 'provider_unavailable', '5'])
      expect((await stored(ids[2]!)).lastErrorCode).toBe('provider_busy')
      expect(held.map((r) => [r.status, r.code])).toEqual([
        [503, 'provider_unavailable'],
        [503, 'provider_unavailable'],
      ])
      // The third call never reached the provider: only the two that held the slots did.
      expect(bad.tokenRequests.length - seen).toBe(2)
      expect(
        await metric(narrow.url, 'broker_provider_slot_waits_total', { provider: 'bad', outcome: 'rejected' }),
      ).toBe(1)
      expect([other.status, good.tokenRequests.length - goodRequests]).toEqual([200, 1])
      expect(other.end).toBeLessThan(third.end)
      figures.bulkhead_thirdMs = third.end - third.start
      figures.bulkhead_otherProviderMs = other.end - other.start
      bad.clearFaults()
    },
  )

  const lastSlot =
    'the refresher at a hanging provider never takes the last slot: a request-path refresh gets it at once'
  it(lastSlot, async () => {
    const backlog: string[] = []
    for (let i = 0; i < 3; i++) backlog.push(await connectUser(api, bad, { provider: 'bad', ownerId: `backlog-${i}` }))
    const urgent = await connectUser(api, bad, { provider: 'bad', ownerId: 'urgent' })
    // Expired: due for the refresher even with REFRESH_WINDOW_SECONDS=0.
    await sql(
      broker.databaseUrl,
      "UPDATE connections SET expires_at = now() - interval '1 second' WHERE id = ANY($1)",
      [backlog],
    )
    const narrowToken = await narrow.token()
    const seen = bad.tokenRequests.length
    bad.fault('hang', 4)
    const pass = narrow.app.services.refresher.tick()
    await waitFor(() => bad.tokenRequests.length > seen, 10_000, 'the refresher at the provider')
    const call = vend(narrow.url, narrowToken, urgent, { forceRefresh: true }, 'request path')
    // Sent while the refresher's call still hangs: one slot background, one request path.
    await waitFor(
      () => bad.tokenRequests.length >= seen + 2,
      NARROW_TIMEOUT_MS / 2,
      'the request-path refresh at the provider',
    )
    const inFlight = bad.tokenRequests.length - seen
    const [result, res] = await Promise.all([pass, call])
    expect(inFlight).toBe(2)
    expect(result).toMatchObject({ claimed: 3, refreshed: 0, failed: 3 })
    expect([res.status, res.code]).toEqual([503, 'provider_unavailable'])
    expect((await stored(urgent)).lastErrorCode).toBe('timeout')
    // The refresher's other two waited for the background's one slot and were refused.
    expect(
      await metric(narrow.url, 'broker_provider_slot_waits_total', { provider: 'bad', priority: 'background' }),
    ).toBe(2)
    bad.clearFaults()
  })
})
