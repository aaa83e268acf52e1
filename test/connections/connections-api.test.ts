// The connections API as callers page through it: filters by provider, owner and status,
// cursor pagination without gaps or repeats, revoked connections never listed; and return
// URLs that belong to another service client are refused at session creation, leaving no
// session behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'

let broker: TestBroker
let api: Api
// Imports need no provider call, so these endpoints are never reached.
const unreachable = {
  authorizationUrl: 'http://127.0.0.1:1/auth',
  tokenUrl: 'http://127.0.0.1:1/token',
  clientId: 'c',
  clientSecret: 's',
  scopes: ['openid'],
}

beforeAll(async () => {
  broker = await startBroker({ providers: { idp: unreachable, other: unreachable } })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => broker?.close())

async function imported(provider: string, ownerId: string): Promise<string> {
  const refreshToken = `rt-${provider}-${ownerId}-${Math.random()}`
  const res = await api('POST', '/v1/connections', {
    provider,
    ownerId,
    credentials: { accessToken: `at-${provider}-${ownerId}-${Math.random()}`, refreshToken },
  })
  expect(res.status).toBe(201)
  // Metadata only: the answer to an import carries neither token back.
  expect(JSON.stringify(res.body)).not.toMatch(/at-|rt-|accessToken|refreshToken/)
  return res.body.id as string
}

/** Every page of a listing, following nextCursor. */
async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await api('GET', `/v1/connections?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
    expect(res.status).toBe(200)
    expect(res.body.items.length).toBeLessThanOrEqual(limit)
    for (const item of res.body.items) {
      expect(Object.keys(item)).not.toContain('accessToken')
      expect(Object.keys(item)).not.toContain('refreshToken')
    }
    ids.push(...res.body.items.map((i: { id: string }) => i.id))
    cursor = res.body.nextCursor
    pages++
  } while (cursor && pages < 50)
  return { ids, pages }
}

describe('listing connections', () => {
  it('filters exactly and pages through every match once, in id order', async () => {
    const made: Array<{ id: string; provider: string; ownerId: string }> = []
    for (const [provider, ownerId] of [
      ['idp', 'alice'],
      ['idp', 'alice'],
      ['idp', 'bob'],
      ['other', 'alice'],
      ['other', 'bob'],
      ['idp', 'carol'],
      ['other', 'carol'],
    ] as const) {
      made.push({ id: await imported(provider, ownerId), provider, ownerId })
    }
    // One needs its user again, one is revoked (no revocation URL: deleted locally).
    const stale = made[2]!
    await broker.db.prisma.connection.update({ where: { id: stale.id }, data: { status: 'reauthorization_required' } })
    const gone = made[3]!
    expect((await api('DELETE', `/v1/connections/${gone.id}`)).status).toBe(204)
    const live = made.filter((m) => m.id !== gone.id)
    const sorted = (ids: string[]) => [...ids].sort()

    const everything = await allPages('', 2)
    expect(everything.ids).toEqual(sorted(live.map((m) => m.id)))
    expect(everything.pages).toBe(Math.ceil(live.length / 2))
    expect(new Set(everything.ids).size).toBe(everything.ids.length)

    const aliceAtIdp = await allPages('provider=idp&ownerId=alice', 1)
    expect(aliceAtIdp.ids).toEqual(
      sorted(live.filter((m) => m.provider === 'idp' && m.ownerId === 'alice').map((m) => m.id)),
    )
    expect(aliceAtIdp.ids).toHaveLength(2)

    const atOther = await allPages('provider=other', 5)
    expect(atOther.ids).toEqual(sorted(live.filter((m) => m.provider === 'other').map((m) => m.id)))

    const needUser = await allPages('status=reauthorization_required', 10)
    expect(needUser.ids).toEqual([stale.id])
    const active = await allPages('status=active', 3)
    expect(active.ids).toEqual(sorted(live.filter((m) => m.id !== stale.id).map((m) => m.id)))

    // A revoked connection is never listed, not even when asked for by its owner.
    const aliceAtOther = await allPages('provider=other&ownerId=alice', 10)
    expect(aliceAtOther.ids).toEqual([])
    expect((await api('GET', `/v1/connections/${gone.id}`)).status).toBe(404)

    // The last page says so; a cursor past the end gives an empty page.
    const last = await api('GET', `/v1/connections?limit=200`)
    expect(last.body.nextCursor).toBeNull()
    const past = await api('GET', `/v1/connections?cursor=${sorted(live.map((m) => m.id)).at(-1)}`)
    expect(past.body).toEqual({ items: [], nextCursor: null })
  })
})

describe('return URLs belong to their service client', () => {
  it("refuses another client's return URL and leaves no session", async () => {
    const created = await api('POST', '/v1/service-clients', {
      name: 'billing',
      scopes: ['connect:write'],
      allowedReturnUrls: ['https://billing.example.com/back'],
    })
    expect(created.status).toBe(201)
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: created.body.clientId,
      client_secret: created.body.clientSecret,
    })
    const issued = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    })
    const billing = apiClient(broker, ((await issued.json()) as { access_token: string }).access_token)
    const sessions = () => broker.db.prisma.connectSession.count()
    const before = await sessions()

    // The bootstrap client may not send users to billing's page, nor billing to the bootstrap's.
    const crossed = await api('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'u',
      returnUrl: 'https://billing.example.com/back',
    })
    expect([crossed.status, crossed.body.code]).toEqual([400, 'invalid_return_url'])
    const crossedBack = await billing('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'u',
      returnUrl: 'https://app.example.com/connected',
    })
    expect([crossedBack.status, crossedBack.body.code]).toEqual([400, 'invalid_return_url'])
    expect(await sessions()).toBe(before)

    // Its own return URL works (control).
    const own = await billing('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'u',
      returnUrl: 'https://billing.example.com/back',
    })
    expect(own.status).toBe(201)
    expect(await sessions()).toBe(before + 1)
  })
})
