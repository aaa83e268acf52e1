// Token vending and refresh against a real authorization server with rotating refresh
// tokens: exactly one refresh per connection under concurrency, in one process and across
// two broker instances on one database; the refresh chain survives many rounds; provider
// faults leave the stored tokens untouched; a refused grant asks for the user again;
// deletion revokes at the provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { BOOTSTRAP_ID, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'

const TIMEOUT_MS = 1500
const TOKEN_TTL = 3600
let as: AuthorizationServer
let broker: TestBroker
let second: TestBroker
let api: Api
let api2: Api
let providers: Record<string, unknown>

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({
    redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`],
    accessTokenTtlSeconds: TOKEN_TTL,
  })
  // The same provider with a mistyped client secret in the providers file.
  providers = {
    idp: providerEntryFor(as),
    'idp-misconfigured': providerEntryFor(as, { clientSecret: 'not-the-registered-secret' }),
  }
  // no background pass spending the tests' faults
  const env = {
    PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
    REFRESH_WINDOW_SECONDS: '0',
    FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
  }
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

const connect = (ownerId: string) => connectUser(api, as, { provider: 'idp', ownerId })

async function row(id: string) {
  return broker.db.prisma.connection.findUniqueOrThrow({ where: { id } })
}

/**
 * Moves both brokers' clocks so that a token obtained now expires within `seconds`, with
 * API clients holding broker tokens issued at the moved time.
 */
async function nearExpiry(seconds: number): Promise<() => void> {
  const shift = TOKEN_TTL - seconds
  const saved = [api, api2]
  broker.clock.advance(shift)
  second.clock.advance(shift)
  api = apiClient(broker, await broker.token())
  api2 = apiClient(second, await second.token())
  return () => {
    broker.clock.advance(-shift)
    second.clock.advance(-shift)
    ;[api, api2] = saved as [Api, Api]
  }
}

describe('exactly one refresh', () => {
  it('50 concurrent calls needing a refresh share one refresh and get the same token', async () => {
    const id = await connect('conc-1')
    const before = as.refreshCount()
    const restore = await nearExpiry(30) // expires in 30 s; callers want the default 60 s
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => api('POST', `/v1/connections/${id}/access-token`, {})),
      )
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
      expect(as.refreshCount() - before).toBe(1)
      expect(new Set(results.map((r) => r.body.accessToken)).size).toBe(1)
      expect((await as.userinfo(results[0]!.body.accessToken)).status).toBe(200)
    } finally {
      restore()
    }
  })

  it('the same with two broker instances on one database', async () => {
    const id = await connect('conc-2')
    const before = as.refreshCount()
    const restore = await nearExpiry(30)
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? api2 : api)('POST', `/v1/connections/${id}/access-token`, {})),
      )
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
      expect(as.refreshCount() - before).toBe(1)
      expect(new Set(results.map((r) => r.body.accessToken)).size).toBe(1)
    } finally {
      restore()
    }
  })

  it('forced refreshes that overlap share one refresh, in one process and across two', async () => {
    const id = await connect('forced')
    const vend = (b: TestBroker) =>
      b.app.services.freshTokens.accessToken(id, { minValiditySeconds: 60, forceRefresh: true }, 'test', ['*'])
    let before = as.refreshCount()
    const one = await Promise.all(Array.from({ length: 50 }, () => vend(broker)))
    expect(as.refreshCount() - before).toBe(1)
    expect(new Set(one.map((t) => t.accessToken)).size).toBe(1)
    before = as.refreshCount()
    const two = await Promise.all(Array.from({ length: 50 }, (_, i) => vend(i % 2 ? second : broker)))
    expect(as.refreshCount() - before).toBe(1)
    expect(new Set(two.map((t) => t.accessToken)).size).toBe(1)
  })

  it('a provider whose tokens live shorter than asked is not refreshed on every call', async () => {
    const id = await connect('short')
    const before = as.refreshCount()
    const first = await api('POST', `/v1/connections/${id}/access-token`, { minValiditySeconds: TOKEN_TTL + 600 })
    const again = await api('POST', `/v1/connections/${id}/access-token`, { minValiditySeconds: TOKEN_TTL + 600 })
    expect([first.status, again.status]).toEqual([200, 200])
    // The token was obtained moments ago and lives TOKEN_TTL: no refresh could do better.
    expect(as.refreshCount() - before).toBe(0)
    expect(again.body.accessToken).toBe(first.body.accessToken)
    const restore = await nearExpiry(TOKEN_TTL / 2 - 60)
    try {
      const late = await api('POST', `/v1/connections/${id}/access-token`, { minValiditySeconds: TOKEN_TTL + 600 })
      expect(as.refreshCount() - before).toBe(1)
      expect(late.body.accessToken).not.toBe(first.body.accessToken)
    } finally {
      restore()
    }
  })

  it('a token with less validity left than asked is refreshed when a refresh can give it', async () => {
    const id = await connect('min-validity')
    const first = await api('POST', `/v1/connections/${id}/access-token`, {})
    const before = as.refreshCount()
    // 2000 s left of a 3600 s lifetime: enough for the default 60 s, not for 3000 s.
    const restore = await nearExpiry(2000)
    try {
      const enough = await api('POST', `/v1/connections/${id}/access-token`, {})
      expect(as.refreshCount() - before).toBe(0)
      expect(enough.body.accessToken).toBe(first.body.accessToken)
      const longer = await api('POST', `/v1/connections/${id}/access-token`, { minValiditySeconds: 3000 })
      expect(longer.status).toBe(200)
      expect(as.refreshCount() - before).toBe(1)
      expect(longer.body.accessToken).not.toBe(first.body.accessToken)
      expect(Date.parse(longer.body.expiresAt) - broker.clock.now().getTime()).toBeGreaterThanOrEqual(3000 * 1000)
    } finally {
      restore()
    }
  })

  it('20 rounds in a row keep the refresh chain intact with a rotating provider', async () => {
    const id = await connect('rounds')
    const before = as.tokenRequests.length
    const tokens = new Set<string>()
    for (let round = 0; round < 20; round++) {
      const res = await (round % 2 ? api2 : api)('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
      expect(res.status, `round ${round}`).toBe(200)
      tokens.add(res.body.accessToken)
    }
    const refreshes = as.tokenRequests.slice(before).filter((r) => r.grantType === 'refresh_token')
    expect(refreshes).toHaveLength(20)
    // Every round used the refresh token the previous round received: 20 distinct ones.
    expect(new Set(refreshes.map((r) => r.params.refresh_token)).size).toBe(20)
    expect(tokens.size).toBe(20)
    expect((await row(id)).version).toBe(21)
    const last = await api('POST', `/v1/connections/${id}/access-token`, {})
    expect((await as.userinfo(last.body.accessToken)).status).toBe(200)
  })

  it('a fresh token is handed out without calling the provider', async () => {
    const id = await connect('fresh')
    const before = as.tokenRequests.length
    const res = await api('POST', `/v1/connections/${id}/access-token`, { minValiditySeconds: 60 })
    expect(res.status).toBe(200)
    expect(as.tokenRequests.length).toBe(before)
  })
})

describe('provider faults during refresh', () => {
  for (const fault of [
    'status503',
    'status500',
    'html',
    'hang',
    'no_access_token',
    'wrong_types',
    'huge',
    'redirect',
  ] as const) {
    it(
      // biome-ignore lint/style/useTemplate: the test name stays identical for docs/security.md
      `${fault}: 503 provider_unavailable within the timeout ` + '+ 1 s, tokens untouched, and the next refresh works',
      async () => {
        const id = await connect(`fault-${fault}`)
        const stored = await row(id)
        const redirected = as.redirectTarget.requests.length
        as.fault(fault)
        const started = Date.now()
        const res = await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
        const elapsed = Date.now() - started
        expect([res.status, res.body.code]).toEqual([503, 'provider_unavailable'])
        expect(res.headers.get('content-type')).toContain('application/problem+json')
        expect(elapsed).toBeLessThan(TIMEOUT_MS + 1000)
        const after = await row(id)
        expect([after.accessToken, after.refreshToken, after.version, after.status]).toEqual([
          stored.accessToken,
          stored.refreshToken,
          stored.version,
          'active',
        ])
        expect(after.lastErrorCode).toBeTruthy()
        // Redirects are not followed: the live server on another host (answering a token) saw nothing.
        expect(as.redirectTarget.requests.length).toBe(redirected)
        as.clearFaults()
        const recovered = await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
        expect(recovered.status).toBe(200)
        expect((await as.userinfo(recovered.body.accessToken)).status).toBe(200)
      },
    )
  }

  it(
    "the provider refuses the broker's own client credentials: " +
      '502 provider_rejected, the grant kept for after the fix',
    async () => {
      // An imported connection (no connect flow needed): its refresh meets invalid_client.
      const imported = await api('POST', '/v1/connections', {
        provider: 'idp-misconfigured',
        ownerId: 'misconfigured',
        credentials: {
          accessToken: 'imported-access-token',
          refreshToken: 'imported-refresh-token',
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        },
      })
      expect(imported.status).toBe(201)
      const id = imported.body.id as string
      const stored = await row(id)
      const before = as.tokenRequests.length
      const res = await api('POST', `/v1/connections/${id}/access-token`, {})
      expect([res.status, res.body.code]).toEqual([502, 'provider_rejected'])
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      expect(as.tokenRequests.length).toBe(before + 1)
      // Not the user's fault: it stays active
      // (docs/security.md, "Decisions that differ from the letter of the checklist").
      const after = await row(id)
      expect([after.status, after.refreshToken, after.version, after.lastErrorCode]).toEqual([
        'active',
        stored.refreshToken,
        stored.version,
        'invalid_client',
      ])
    },
  )

  it('invalid_grant: 409 reauthorization_required, the status says so, and no further provider calls', async () => {
    const id = await connect('revoked-grant')
    as.fault('invalid_grant')
    const res = await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
    expect([res.status, res.body.code, res.body.connectionId]).toEqual([409, 'reauthorization_required', id])
    expect((await api('GET', `/v1/connections/${id}`)).body).toMatchObject({
      status: 'reauthorization_required',
      lastErrorCode: 'invalid_grant',
    })
    const before = as.tokenRequests.length
    expect((await api('POST', `/v1/connections/${id}/access-token`, {})).status).toBe(409)
    expect(as.tokenRequests.length).toBe(before)
    // The row is kept; re-authorization brings it back.
    const events = await api('GET', `/v1/audit-events?connectionId=${id}&type=connection.refresh_failed`)
    expect(events.body.items[0].detail).toMatchObject({ failure: 'grant', code: 'invalid_grant' })
  })
})

describe('the audit trail, through the API', () => {
  /** A service client of its own (tokens:read only) and an API client using its broker token. */
  async function serviceClient(name: string): Promise<{ clientId: string; api: Api }> {
    const created = await api('POST', '/v1/service-clients', { name, scopes: ['tokens:read'] })
    expect(created.status).toBe(201)
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string }
    const res = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    })
    expect(res.status).toBe(200)
    return { clientId, api: apiClient(broker, ((await res.json()) as { access_token: string }).access_token) }
  }

  const events = async (id: string, type: string) => {
    await broker.app.services.audit.flush() // token_vended events are written in batches
    const res = await api('GET', `/v1/audit-events?connectionId=${id}&type=${type}`)
    expect(res.status).toBe(200)
    return res.body.items as Array<{
      type: string
      actor: string
      connectionId: string
      detail: Record<string, unknown>
    }>
  }

  it(
    'a transient failure, a refresh and a vended token ' + 'are recorded with the calling service client as actor',
    async () => {
      const id = await connect('audited')
      const caller = await serviceClient('audited-caller')
      expect(caller.clientId).not.toBe(BOOTSTRAP_ID)

      as.fault('status503')
      expect((await caller.api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })).status).toBe(503)
      expect(await events(id, 'connection.refresh_failed')).toEqual([
        expect.objectContaining({
          actor: caller.clientId,
          connectionId: id,
          detail: { failure: 'transient', code: 'http_503' },
        }),
      ])

      const refreshed = await caller.api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })
      expect(refreshed.status).toBe(200)
      expect(await events(id, 'connection.refresh_succeeded')).toEqual([
        expect.objectContaining({ actor: caller.clientId, connectionId: id, detail: { rotated: true } }),
      ])

      expect((await caller.api('POST', `/v1/connections/${id}/access-token`, {})).status).toBe(200)
      const vended = await events(id, 'connection.token_vended')
      // Newest first: the plain call, then the refreshing one; the connect flow's own callers are others.
      expect(vended.filter((e) => e.actor === caller.clientId).map((e) => e.detail)).toEqual([
        { refreshed: false },
        { refreshed: true },
      ])
      expect(vended.every((e) => e.connectionId === id)).toBe(true)
    },
  )
})

describe('revocation', () => {
  it(
    'delete revokes the grant at the provider (refresh token first), ' +
      'deletes the tokens, and the connection answers 404 after',
    async () => {
      const id = await connect('to-delete')
      const vended = await api('POST', `/v1/connections/${id}/access-token`, {})
      expect((await as.introspect(vended.body.accessToken)).active).toBe(true)
      const revocationsBefore = as.requests.filter((r) => r.path === new URL(as.revocationUrl).pathname).length
      const del = await api('DELETE', `/v1/connections/${id}`)
      expect(del.status).toBe(204)
      const revocations = as.requests
        .filter((r) => r.path === new URL(as.revocationUrl).pathname)
        .slice(revocationsBefore)
      expect(revocations.map((r) => r.params.token_type_hint)).toEqual(['refresh_token', 'access_token'])
      expect(revocations.every((r) => r.authorization?.startsWith('Basic '))).toBe(true)
      expect((await as.introspect(vended.body.accessToken)).active).toBe(false)
      expect((await as.userinfo(vended.body.accessToken)).status).toBe(401)
      const stored = await row(id)
      expect([stored.status, stored.accessToken, stored.refreshToken]).toEqual(['revoked', null, null])
      expect((await api('GET', `/v1/connections/${id}`)).status).toBe(404)
      expect((await api('POST', `/v1/connections/${id}/access-token`, {})).status).toBe(404)
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(404)
      expect((await api('GET', '/v1/connections?ownerId=to-delete')).body.items).toEqual([])
      const events = await api('GET', `/v1/audit-events?connectionId=${id}&type=connection.revoked`)
      expect(events.body.items[0].detail).toMatchObject({ refreshToken: 'revoked', accessToken: 'revoked', errors: [] })
    },
  )
})
