// The refresh lease and the revocation queue (docs/decisions.md "Refresh lease",
// "Revocation queue"), with two broker instances on one database:
// - many callers on both replicas: one provider call, and no transaction open meanwhile;
// - a replica whose lease expired while it waited on the provider: its write is refused
//   (fenced by the version), the newer grant of the other replica stays;
// - a revocation failing at the provider is queued (sealed) and retried to success by the
//   background worker; one still failing after its 24 h is dropped.
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TokenSet } from '../../src/oauth/token-endpoint.js'
import { fieldContext } from '../../src/store/encryption.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import { openBrokerTransactions, openColumn, sql, testKeyring, waitFor } from '../support/faults.js'

const TOKEN_TTL = 3600
const keyring = testKeyring()
let as: AuthorizationServer
let gate: Gate
let one: TestBroker
let two: TestBroker
let api: Api

/** A token endpoint that answers refreshes after `latencyMs`, or holds the next ones until released. */
interface Gate {
  url: string
  refreshTokens: string[]
  latencyMs: number
  hold(): void
  release(): void
  close(): Promise<void>
}

async function startGate(): Promise<Gate> {
  const held: Array<() => void> = []
  let holdNext = false
  const gate = { refreshTokens: [] as string[], latencyMs: 0 }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', async () => {
      gate.refreshTokens.push(new URLSearchParams(body).get('refresh_token') ?? '')
      const n = gate.refreshTokens.length
      if (holdNext) {
        holdNext = false
        await new Promise<void>((r) => held.push(r))
      } else await new Promise((r) => setTimeout(r, gate.latencyMs))
      res.writeHead(200, { 'content-type': 'application/json' })
      const answer = { access_token: `gate-at-${n}`, refresh_token: `gate-rt-${n}`, token_type: 'Bearer' }
      res.end(JSON.stringify({ ...answer, expires_in: TOKEN_TTL }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return Object.assign(gate, {
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
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  gate = await startGate()
  const providers = {
    idp: providerEntryFor(as),
    gate: providerEntryFor(as, { tokenUrl: gate.url, revocationUrl: undefined }),
  }
  const env = { PROVIDER_TIMEOUT_MS: '5000', REFRESH_WINDOW_SECONDS: '0' }
  const timings = { revocationRetryMs: 300, revocationPollMs: 100 }
  one = await startBroker({ port, providers, env, timings })
  two = await startBroker({ databaseUrl: one.databaseUrl, providers, env, timings })
  api = apiClient(one, await one.token())
})
afterAll(async () => {
  await two?.close()
  await one?.close()
  await gate?.close()
  await as?.close()
})

/** A gate connection stored directly; its tokens expire within 30 s on both brokers' clocks. */
async function nearExpiry(ownerId: string): Promise<{ id: string; restore: () => void }> {
  const tokens: TokenSet = {
    accessToken: `at-${ownerId}`,
    tokenType: 'Bearer',
    expiresInSeconds: TOKEN_TTL,
    refreshToken: `rt-${ownerId}`,
    refreshTokenExpiresInSeconds: undefined,
    scopes: undefined,
    metadata: {},
  }
  const row = await one.app.services.connections.create({
    provider: one.config.providers.get('gate')!,
    ownerId,
    namespace: 'default',
    clientId: 'test',
    params: {},
    scopes: ['openid'],
    tokens,
  })
  for (const b of [one, two]) b.clock.advance(TOKEN_TTL - 30)
  return {
    id: row.id,
    restore: () => {
      for (const b of [one, two]) b.clock.advance(-(TOKEN_TTL - 30))
    },
  }
}

const vend = (b: TestBroker, id: string) =>
  b.app.services.freshTokens.accessToken(id, { minValiditySeconds: 60, forceRefresh: false }, 'test', ['*'])

async function stored(id: string) {
  const [row] = await sql(
    one.databaseUrl,
    'SELECT version, refresh_token, refresh_lease_owner FROM connections WHERE id = $1',
    [id],
  )
  return {
    version: row.version as number,
    rt: openColumn(keyring, id, 'refresh_token', row.refresh_token),
    lease: row.refresh_lease_owner,
  }
}

describe('the refresh lease', () => {
  it('40 callers on two replicas: one provider call, no transaction open while it runs', async () => {
    const { id, restore } = await nearExpiry('lease-many')
    try {
      gate.latencyMs = 1_000
      const before = gate.refreshTokens.length
      const calls = Promise.all(Array.from({ length: 40 }, (_, i) => vend(i % 2 ? two : one, id)))
      await waitFor(() => gate.refreshTokens.length > before, 5_000, 'the refresh at the provider')
      expect(await openBrokerTransactions(one.databaseUrl, 300)).toBe(0)
      const tokens = await calls
      expect(gate.refreshTokens.length - before).toBe(1)
      expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set([`gate-at-${before + 1}`]))
      expect(await stored(id)).toMatchObject({ rt: `gate-rt-${before + 1}`, lease: null })
    } finally {
      gate.latencyMs = 0
      restore()
    }
  })

  it('a replica whose lease expired cannot overwrite the newer grant: its write is fenced', async () => {
    const { id, restore } = await nearExpiry('lease-fenced')
    try {
      const before = gate.refreshTokens.length
      const { version } = await stored(id)
      gate.hold()
      const stale = vend(one, id)
      await waitFor(() => gate.refreshTokens.length > before, 5_000, "the first replica's refresh")
      // The first replica stalls past its lease (a long pause, say): the lease runs out.
      await sql(one.databaseUrl, "UPDATE connections SET refresh_lease_until = now() - interval '1 s' WHERE id = $1", [
        id,
      ])
      const fresh = await vend(two, id)
      expect(fresh.accessToken).toBe(`gate-at-${before + 2}`)
      gate.release()
      // The stale holder's tokens are refused; it answers with the row's current grant.
      expect((await stale).accessToken).toBe(`gate-at-${before + 2}`)
      expect(gate.refreshTokens.slice(before)).toEqual(['rt-lease-fenced', 'rt-lease-fenced'])
      expect(await stored(id)).toEqual({ version: version + 1, rt: `gate-rt-${before + 2}`, lease: null })
      expect(one.logs.some((l) => l.includes('refresh write fenced'))).toBe(true)
    } finally {
      restore()
    }
  })
})

describe('a replica that died holding the lease', () => {
  it('keeps the others waiting only until its lease runs out; then one of them refreshes', async () => {
    const { id, restore } = await nearExpiry('lease-dead')
    try {
      const before = gate.refreshTokens.length
      // A lease no notification will ever release: the waiter's poll sees it run out.
      await sql(
        one.databaseUrl,
        "UPDATE connections SET refresh_lease_owner = 'dead', refresh_lease_until = now() + interval '1.5 s' " +
          'WHERE id = $1',
        [id],
      )
      const started = Date.now()
      const token = await vend(two, id)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000)
      expect(token.accessToken).toBe(`gate-at-${before + 1}`)
      expect(gate.refreshTokens.length - before).toBe(1)
      expect(await stored(id)).toMatchObject({ rt: `gate-rt-${before + 1}`, lease: null })
    } finally {
      restore()
    }
  })
})

describe('shutdown', () => {
  it('waits for a refresh in flight and stores its rotated tokens before the pool closes', async () => {
    const providers = { gate: providerEntryFor(as, { tokenUrl: gate.url, revocationUrl: undefined }) }
    const env = { PROVIDER_TIMEOUT_MS: '5000', REFRESH_WINDOW_SECONDS: '0' }
    const three = await startBroker({ databaseUrl: one.databaseUrl, providers, env })
    const { id, restore } = await nearExpiry('shutdown')
    three.clock.advance(TOKEN_TTL - 30)
    try {
      const before = gate.refreshTokens.length
      gate.hold()
      const call = vend(three, id)
      await waitFor(() => gate.refreshTokens.length > before, 5_000, 'the refresh at the provider')
      let closed = false
      const closing = three.close().then(() => (closed = true))
      await new Promise((r) => setTimeout(r, 300))
      expect(closed).toBe(false)
      gate.release()
      await closing
      expect((await call).accessToken).toBe(`gate-at-${before + 1}`)
      expect((await stored(id)).rt).toBe(`gate-rt-${before + 1}`)
    } finally {
      restore()
    }
  })
})

describe('the revocation queue', () => {
  const revocations = (since: number) =>
    as.requests.slice(since).filter((r) => r.path === new URL(as.revocationUrl).pathname)
  const queued = (id: string) =>
    sql(
      one.databaseUrl,
      'SELECT id, refresh_token, access_token, attempts FROM revocation_queue WHERE connection_id = $1',
      [id],
    )

  it('a revocation failing at the provider is queued, sealed, and retried to success', async () => {
    const id = await connectUser(api, as, { provider: 'idp', ownerId: 'revoke-retry' })
    const [row] = await sql(one.databaseUrl, 'SELECT refresh_token FROM connections WHERE id = $1', [id])
    const refreshToken = openColumn(keyring, id, 'refresh_token', row.refresh_token)!
    const since = as.requests.length
    as.revocationFault('status503', 2)
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
    const [entry] = await queued(id)
    expect(entry.refresh_token).not.toContain(refreshToken)
    expect(keyring.openString(entry.refresh_token, fieldContext('revocation_queue', entry.id, 'refresh_token'))).toBe(
      refreshToken,
    )
    expect((await as.introspect(refreshToken)).active).toBe(true)
    // The worker (either replica) retries after the back-off and drops the entry.
    await waitFor(async () => (await queued(id)).length === 0, 10_000, 'the retried revocation')
    expect(revocations(since).map((r) => r.params.token_type_hint)).toEqual([
      'refresh_token',
      'access_token',
      'refresh_token',
      'access_token',
    ])
    expect((await as.introspect(refreshToken)).active).toBe(false)
  })

  it('a revocation still failing after its 24 h is dropped', async () => {
    const id = await connectUser(api, as, { provider: 'idp', ownerId: 'revoke-give-up' })
    const since = as.requests.length
    as.revocationFault('status503', 4)
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
    await sql(one.databaseUrl, 'UPDATE revocation_queue SET give_up_at = now() WHERE connection_id = $1', [id])
    await waitFor(async () => (await queued(id)).length === 0, 10_000, 'the last attempt')
    expect(revocations(since)).toHaveLength(4)
  })
})
