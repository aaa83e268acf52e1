// Fault: a provider whose token endpoint accepts TCP and never answers, while 30
// connections need a refresh at once, with a database pool of only 5. Refreshes hold a
// lease on the row, not a transaction (docs/decisions.md "Refresh lease"), so:
// - during the hang, /healthz, /readyz, POST /oauth/token, GET /v1/connections and the
//   access token of a connection that needs no refresh all answer 200;
// - no session of the broker has a transaction open while the provider is waited on
//   (pg_stat_activity, sampled through the hang);
// - the 30 callers end with 503 provider_unavailable once the provider timeout passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TokenSet } from '../../src/oauth/token-endpoint.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { openBrokerTransactions, printFigures, sleep, sql, timedFetch, vend, waitFor } from '../support/faults.js'

const TIMEOUT_MS = 6_000
const TOKEN_TTL = 3600
const HANGING = 30
let as: AuthorizationServer
let broker: TestBroker
let token: string
const figures = { hangingRefreshes: 0, probes: 0, probesNot200: 0, samples: 0, openTransactionsSeen: 0 }

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    providers: { idp: providerEntryFor(as) },
    env: { PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS), REFRESH_WINDOW_SECONDS: '0', DATABASE_POOL_SIZE: '5' },
  })
})
afterAll(async () => {
  printFigures('a hanging provider, 30 refreshes, a pool of 5', figures)
  await broker?.close()
  await as?.close()
})

/** A connection stored directly (its tokens are never accepted: the provider hangs anyway). */
async function stored(ownerId: string): Promise<string> {
  const tokens: TokenSet = {
    accessToken: `at-${ownerId}`,
    tokenType: 'Bearer',
    expiresInSeconds: TOKEN_TTL,
    refreshToken: `rt-${ownerId}`,
    refreshTokenExpiresInSeconds: undefined,
    scopes: undefined,
    metadata: {},
  }
  const provider = broker.config.providers.get('idp')!
  const row = await broker.app.services.connections.create({
    provider,
    ownerId,
    namespace: 'default',
    clientId: 'test',
    params: {},
    scopes: ['openid'],
    tokens,
  })
  return row.id
}

describe('a token endpoint that never answers', () => {
  it('30 refreshes hang on it; every probe answers and no transaction stays open', async () => {
    const ids = await Promise.all(Array.from({ length: HANGING }, (_, i) => stored(`hang-${i}`)))
    // Their tokens now expire within 30 s; a connection stored afterwards has a full hour.
    broker.clock.advance(TOKEN_TTL - 30)
    const fresh = await stored('fresh')
    token = await broker.token()
    const seen = as.refreshCount()
    as.fault('hang', HANGING)
    let ended = 0
    const refreshes = ids.map((id) => vend(broker.url, token, id, {}, 'needs refresh').finally(() => ended++))
    // At least as many refreshes waiting on the provider as the pool has connections (all 30,
    // or as many as a per-provider concurrency limit lets through).
    await waitFor(() => as.refreshCount() - seen >= 5, 10_000, 'refreshes at the provider')
    await sleep(300)
    figures.hangingRefreshes = as.refreshCount() - seen

    const auth = `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`
    const probes = () =>
      Promise.all([
        timedFetch('healthz', `${broker.url}/healthz`),
        timedFetch('readyz', `${broker.url}/readyz`),
        timedFetch('oauth token', `${broker.url}/oauth/token`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        }),
        timedFetch('list', `${broker.url}/v1/connections`, { headers: { authorization: `Bearer ${token}` } }),
        vend(broker.url, token, fresh, {}, 'no refresh needed'),
      ])
    // Probed and sampled through the hang (the provider timeout is 6 s).
    for (let round = 0; round < 3; round++) {
      const answers = await probes()
      figures.probes += answers.length
      figures.probesNot200 += answers.filter((a) => a.status !== 200).length
      expect(answers.map((a) => [a.kind, a.status])).toEqual([
        ['healthz', 200],
        ['readyz', 200],
        ['oauth token', 200],
        ['list', 200],
        ['no refresh needed', 200],
      ])
      expect(answers.every((a) => a.end - a.start < 1_000)).toBe(true)
      const open = await openBrokerTransactions(broker.databaseUrl, 500)
      figures.samples++
      figures.openTransactionsSeen += open
      expect(open).toBe(0)
      await sleep(500)
    }
    // All of that happened while every refresh was still waiting on the provider.
    expect(ended).toBe(0)

    const outcomes = await Promise.all(refreshes)
    expect(outcomes.map((o) => `${o.status} ${o.code}`)).toEqual(Array(HANGING).fill('503 provider_unavailable'))
    // The stored tokens are untouched and no lease is left behind.
    const leases = await sql<{ n: string }>(
      broker.databaseUrl,
      'SELECT count(*) AS n FROM connections WHERE refresh_lease_owner IS NOT NULL',
    )
    expect(Number(leases[0]!.n)).toBe(0)
  })
})
