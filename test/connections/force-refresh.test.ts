// forceRefresh coalesced (FORCE_REFRESH_MIN_INTERVAL_SECONDS, default 10): asked within the
// interval of the moment the connection's current tokens were obtained (code exchange or
// refresh), it returns them without calling the provider; after it, it refreshes; forced
// calls on two replicas at once make one refresh. Against a real authorization server with
// rotating refresh tokens, two brokers on one database, the default interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'

let as: AuthorizationServer
let broker: TestBroker
let second: TestBroker
let api: Api
let api2: Api

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  const providers = { idp: providerEntryFor(as) }
  // No background refresher: every provider call is one a test made.
  const env = { REFRESH_WINDOW_SECONDS: '0' }
  broker = await startBroker({ port, providers, env })
  second = await startBroker({ databaseUrl: broker.databaseUrl, providers, env })
  api = apiClient(broker, await broker.token())
  api2 = apiClient(second, await second.token())
})
afterAll(async () => {
  await second?.close()
  await broker?.close()
  await as?.close()
})

const forced = (client: Api, id: string) => client('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
const advance = (seconds: number) => {
  broker.clock.advance(seconds)
  second.clock.advance(seconds)
}

describe('forceRefresh coalesced', () => {
  it('within 10 s of the tokens being obtained: the stored tokens, no provider call; after: a refresh', async () => {
    expect(broker.config.forceRefreshMinIntervalSeconds).toBe(10)
    const id = await connectUser(api, as, { provider: 'idp', ownerId: 'coalesced' })
    const plain = await api('POST', `/v1/connections/${id}/access-token`, {})
    const refreshes = as.refreshCount()

    // Just after the code exchange, on either replica.
    for (const client of [api, api2, api]) {
      const res = await forced(client, id)
      expect(res.status).toBe(200)
      expect(res.body.accessToken).toBe(plain.body.accessToken)
    }
    expect(as.refreshCount()).toBe(refreshes)

    // Past the interval: a real refresh, whose new tokens then stand for the next 10 s.
    advance(11)
    const refreshed = await forced(api2, id)
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.accessToken).not.toBe(plain.body.accessToken)
    expect(as.refreshCount()).toBe(refreshes + 1)
    const again = await forced(api, id)
    expect(again.body.accessToken).toBe(refreshed.body.accessToken)
    expect(as.refreshCount()).toBe(refreshes + 1)
    // The provider accepts what was handed out.
    expect((await as.userinfo(again.body.accessToken)).status).toBe(200)
  })

  it('forced on two replicas at once, past the interval: one refresh, one token for both', async () => {
    const id = await connectUser(api, as, { provider: 'idp', ownerId: 'coalesced-replicas' })
    advance(11)
    const refreshes = as.refreshCount()
    const results = await Promise.all([forced(api, id), forced(api2, id), forced(api, id), forced(api2, id)])
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200])
    expect(new Set(results.map((r) => r.body.accessToken)).size).toBe(1)
    expect(as.refreshCount()).toBe(refreshes + 1)
  })
})
