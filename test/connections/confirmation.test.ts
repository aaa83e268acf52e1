// Confirming the end user (connect-link fixation): with `confirm`, the grant a connect flow
// obtains is held, not vendable, until the service confirms it with the one-time code that
// came back to its returnUrl. Against a real OAuth 2.0 authorization server (revocations
// and introspection are the provider's own) and the respond.io replica (an API-key form).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRespondIoReplica, type RespondIoReplica } from '../replicas/respondio.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, registeredClient, type Api } from '../support/connect.js'

const RETURN = 'https://app.example.com/connected'
let as: AuthorizationServer
let respondio: RespondIoReplica
let broker: TestBroker
let api: Api

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  respondio = await startRespondIoReplica()
  const providers = {
    idp: providerEntryFor(as, { pkce: true }),
    respondio: { validationUrl: respondio.urls.validationUrl },
  }
  // The bootstrap client keeps requireConfirmation (true), as in production.
  const env = { ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true' }
  broker = await startBroker({ port, providers, env, requireConfirmation: true })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await Promise.all([as?.close(), respondio?.close()])
})

async function session(extra: Record<string, unknown> = {}, through: Api = api) {
  const res = await through('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'owner-1',
    returnUrl: RETURN,
    ...extra,
  })
  expect(res.status).toBe(201)
  return res.body as { id: string; connectUrl: string }
}

/** A whole browser flow, logged in at the provider as `user`; the URL the browser lands on. */
async function complete(connectUrl: string, user = 'alice'): Promise<URL> {
  const browser = new Browser()
  const start = await browser.get(connectUrl)
  expect(start.status).toBe(302)
  const done = await browser.get(await as.authorize(start.headers.get('location')!, { user }))
  expect(done.status).toBe(302)
  return new URL(done.headers.get('location')!)
}

/** A connection held for confirmation: its id and code, from the return URL. */
async function pending(extra: Record<string, unknown> = {}, user = 'alice') {
  const created = await session(extra)
  const back = await complete(created.connectUrl, user)
  expect(back.origin + back.pathname).toBe(RETURN)
  expect(back.searchParams.get('status')).toBe('pending_confirmation')
  return {
    sessionId: created.id,
    id: back.searchParams.get('connection_id')!,
    code: back.searchParams.get('confirmation_code')!,
  }
}

const confirm = (id: string, body: object, through: Api = api) => through('POST', `/v1/connections/${id}/confirm`, body)
const vend = (id: string) => api('POST', `/v1/connections/${id}/access-token`, {})
/** The access token a pending new connection holds (its row), read as the broker would. */
async function heldAccessToken(id: string): Promise<string> {
  const row = (await broker.app.services.connections.get(id))!
  return broker.app.services.connections.open(row, 'access_token')!
}
const revocationRequests = () => as.requests.filter((r) => r.path === new URL(as.revocationUrl).pathname).length

describe('requireConfirmation', () => {
  it('is on for new clients (the bootstrap one too), shown in the view, and changed by PATCH', async () => {
    const boot = (await api('GET', '/v1/service-clients')).body.items.find(
      (c: { name: string }) => c.name === 'bootstrap',
    )
    expect(boot.requireConfirmation).toBe(true)
    const created = await api('POST', '/v1/service-clients', { name: 'web', scopes: ['connect:write'] })
    expect(created.body.requireConfirmation).toBe(true)
    const patched = await api('PATCH', `/v1/service-clients/${created.body.clientId}`, { requireConfirmation: false })
    expect([patched.status, patched.body.requireConfirmation]).toEqual([200, false])
    const bad = await api('PATCH', `/v1/service-clients/${created.body.clientId}`, { requireConfirmation: 'no' })
    expect([bad.status, bad.body.detail]).toEqual([400, expect.stringContaining('requireConfirmation')])
  })

  it('confirm: true needs a returnUrl; without one the default is off', async () => {
    const { body } = await api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'o', confirm: true })
    expect([body.status, body.code]).toEqual([400, 'invalid_request'])
    const plain = await api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'o' })
    const browser = new Browser()
    const start = await browser.get(plain.body.connectUrl)
    const done = await browser.get(await as.authorize(start.headers.get('location')!))
    expect(done.status).toBe(200)
    expect((await api('GET', `/v1/connect-sessions/${plain.body.id}`)).body.status).toBe('completed')
  })
})

describe('confirming a new connection', () => {
  it('holds the grant until confirmed with the code; the code works once', async () => {
    const { sessionId, id, code } = await pending()
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/) // 256 bits
    const { body: shown } = await api('GET', `/v1/connections/${id}`)
    expect([shown.status, shown.pendingConfirmation]).toEqual(['pending_confirmation', true])
    const refused = await vend(id)
    expect([refused.status, refused.body.code]).toEqual([409, 'confirmation_pending'])
    expect((await api('GET', `/v1/connect-sessions/${sessionId}`)).body).toMatchObject({
      id: sessionId,
      provider: 'idp',
      ownerId: 'owner-1',
      namespace: 'default',
      status: 'pending_confirmation',
      connectionId: id,
    })
    // Only the code's hash is stored.
    const held = await broker.db.prisma.pendingGrant.findUnique({ where: { connectionId: id } })
    expect(held!.codeHash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(held)).not.toContain(code)

    const confirmed = await confirm(id, { confirmationCode: code })
    expect([confirmed.status, confirmed.body.status, confirmed.body.pendingConfirmation]).toEqual([
      200,
      'active',
      false,
    ])
    const vended = await vend(id)
    expect(vended.status).toBe(200)
    expect((await as.userinfo(vended.body.accessToken)).status).toBe(200)
    expect((await api('GET', `/v1/connect-sessions/${sessionId}`)).body.status).toBe('completed')
    const reused = await confirm(id, { confirmationCode: code })
    expect([reused.status, reused.body.code]).toEqual([400, 'invalid_confirmation'])
    expect((await vend(id)).status).toBe(200)
  })

  it('accept: false discards the grant and revokes it at the provider', async () => {
    const { sessionId, id, code } = await pending()
    const token = await heldAccessToken(id)
    expect((await as.introspect(token)).active).toBe(true)
    const before = revocationRequests()
    expect((await confirm(id, { confirmationCode: code, accept: false })).status).toBe(204)
    expect(revocationRequests()).toBeGreaterThan(before)
    expect((await as.introspect(token)).active).toBe(false)
    expect((await api('GET', `/v1/connections/${id}`)).status).toBe(404)
    expect((await api('GET', `/v1/connect-sessions/${sessionId}`)).body).toMatchObject({
      status: 'failed',
      error: 'confirmation_rejected',
    })
  })

  it('a forwarded link completed by another provider account ends pending, and the service refuses it', async () => {
    // Mallory gets a connect URL for her own ownerId and sends it to Victor, who completes it.
    const { id, code } = await pending({ ownerId: 'mallory' }, 'victor')
    expect((await vend(id)).status).toBe(409)
    // Victor's browser brought the code to the service's return page, where the signed-in
    // user is Victor, not the owner "mallory": the service rejects it.
    expect((await confirm(id, { confirmationCode: code, accept: false })).status).toBe(204)
    const listed = await api('GET', '/v1/connections?ownerId=mallory')
    expect(listed.body.items).toEqual([])
    expect((await vend(id)).status).toBe(404)
  })

  it('5 wrong codes discard the grant; each is a security event; the code is never logged', async () => {
    const { id, code } = await pending()
    const token = await heldAccessToken(id)
    for (let i = 0; i < 4; i++) {
      const wrong = await confirm(id, { confirmationCode: `wrong-${i}` })
      expect([wrong.status, wrong.body.code]).toEqual([400, 'invalid_confirmation'])
    }
    expect((await api('GET', `/v1/connections/${id}`)).body.status).toBe('pending_confirmation')
    expect((await confirm(id, { confirmationCode: 'wrong-4' })).status).toBe(400)
    // The new connection went with its grant: the right code finds nothing any more.
    const late = await confirm(id, { confirmationCode: code })
    expect([late.status, late.body.code]).toEqual([404, 'connection_not_found'])
    expect((await api('GET', `/v1/connections/${id}`)).status).toBe(404)
    expect((await as.introspect(token)).active).toBe(false)
    const events = broker.logs.filter(
      (l) => l.includes('"connection.confirmation_refused"') && l.includes(id) && l.includes('"reason":"wrong"'),
    )
    expect(events).toHaveLength(5)
    expect(broker.logs.join('\n')).not.toContain(code)
  })

  it('works for the API-key form too: it ends on the returnUrl with a code', async () => {
    const created = await api('POST', '/v1/connect-sessions', {
      provider: 'respondio',
      ownerId: 'form',
      returnUrl: RETURN,
    })
    const browser = new Browser()
    const form = await (await browser.get(created.body.connectUrl)).text()
    const attempt = /name="attempt" value="([^"]+)"/.exec(form)![1]!
    const done = await browser.post(created.body.connectUrl, { attempt, apiKey: respondio.apiKey })
    const back = new URL(done.headers.get('location')!)
    expect(back.searchParams.get('status')).toBe('pending_confirmation')
    const id = back.searchParams.get('connection_id')!
    expect((await vend(id)).status).toBe(409)
    const code = back.searchParams.get('confirmation_code')!
    expect((await confirm(id, { confirmationCode: code })).body.status).toBe('active')
    expect((await vend(id)).body.accessToken).toBe(respondio.apiKey)
  })
})

describe('re-authorization with confirmation', () => {
  it('keeps the old grant vendable until the new one is confirmed', async () => {
    const first = await session({ ownerId: 'reauth', confirm: false })
    const id = (await complete(first.connectUrl)).searchParams.get('connection_id')!
    const oldToken = (await vend(id)).body.accessToken as string

    const again = await session({ ownerId: 'reauth', connectionId: id })
    const back = await complete(again.connectUrl)
    expect(back.searchParams.get('status')).toBe('pending_confirmation')
    expect(back.searchParams.get('connection_id')).toBe(id)
    const shown = await api('GET', `/v1/connections/${id}`)
    expect([shown.body.status, shown.body.pendingConfirmation]).toEqual(['active', true])
    expect((await vend(id)).body.accessToken).toBe(oldToken)

    const confirmed = await confirm(id, { confirmationCode: back.searchParams.get('confirmation_code')! })
    expect([confirmed.status, confirmed.body.pendingConfirmation]).toEqual([200, false])
    const newToken = (await vend(id)).body.accessToken as string
    expect(newToken).not.toBe(oldToken)
    expect((await as.userinfo(newToken)).status).toBe(200)
  })

  it("a rejected re-authorization's new grant is revoked through the queue: a failure is retried", async () => {
    const first = await session({ ownerId: 'reauth-reject', confirm: false })
    const id = (await complete(first.connectUrl)).searchParams.get('connection_id')!
    const oldToken = (await vend(id)).body.accessToken as string
    const again = await session({ ownerId: 'reauth-reject', connectionId: id })
    const code = (await complete(again.connectUrl)).searchParams.get('confirmation_code')!
    const { pending } = broker.app.services
    const held = pending.openReplacement((await pending.get(id))!)!.tokens
    expect((await as.introspect(held.accessToken)).active).toBe(true)

    // The provider refuses both revocations of the first attempt: they stay queued, sealed.
    as.revocationFault('status503', 2)
    expect((await confirm(id, { confirmationCode: code, accept: false })).status).toBeLessThan(300)
    const queued = () =>
      broker.db.pool.query('SELECT refresh_token, access_token FROM revocation_queue WHERE connection_id = $1', [id])
    const entries = (await queued()).rows
    expect(entries).toHaveLength(1)
    expect(entries[0].access_token).not.toContain(held.accessToken)
    expect((await as.introspect(held.accessToken)).active).toBe(true)

    // The worker's next pass revokes them; the old grant is untouched throughout.
    await broker.db.pool.query('UPDATE revocation_queue SET next_attempt_at = now() WHERE connection_id = $1', [id])
    await broker.app.services.revocationQueue.tick()
    expect((await queued()).rows).toHaveLength(0)
    expect((await as.introspect(held.accessToken)).active).toBe(false)
    expect((await vend(id)).body.accessToken).toBe(oldToken)
    expect((await as.userinfo(oldToken)).status).toBe(200)
  })
})

describe('connect sessions', () => {
  it('GET shows pending and failed; another namespace gets 404 for sessions and confirmations', async () => {
    const fresh = await session()
    expect((await api('GET', `/v1/connect-sessions/${fresh.id}`)).body.status).toBe('pending')
    // A re-authorization whose connection is deleted before the user completes: failed.
    const base = await session({ ownerId: 'gone', confirm: false })
    const id = (await complete(base.connectUrl)).searchParams.get('connection_id')!
    const reauth = await session({ ownerId: 'gone', connectionId: id })
    expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204)
    expect((await complete(reauth.connectUrl)).searchParams.get('error')).toBe('connection_unavailable')
    expect((await api('GET', `/v1/connect-sessions/${reauth.id}`)).body).toMatchObject({
      status: 'failed',
      error: 'connection_unavailable',
    })
    expect((await api('GET', '/v1/connect-sessions/cs_missing')).body.code).toBe('connect_session_not_found')

    const held = await pending()
    const beta = await registeredClient(broker, api, {
      name: 'beta',
      scopes: ['connect:write'],
      allowedReturnUrls: [RETURN],
      namespaces: ['beta'],
    })
    const hidden = await beta('GET', `/v1/connect-sessions/${held.sessionId}`)
    expect([hidden.status, hidden.body.code]).toEqual([404, 'connect_session_not_found'])
    const foreign = await confirm(held.id, { confirmationCode: held.code }, beta)
    expect([foreign.status, foreign.body.code]).toEqual([404, 'connection_not_found'])
    // Nothing changed: the owner's service still confirms.
    expect((await confirm(held.id, { confirmationCode: held.code })).body.status).toBe('active')
  })
})

describe('expiry', () => {
  it('a grant never confirmed is discarded by the sweep and revoked at the provider', async () => {
    const created = await pending({ ownerId: 'late' })
    const base = await session({ ownerId: 'late-reauth', confirm: false })
    const reauthId = (await complete(base.connectUrl)).searchParams.get('connection_id')!
    const oldToken = (await vend(reauthId)).body.accessToken as string
    const reauth = await complete((await session({ ownerId: 'late-reauth', connectionId: reauthId })).connectUrl)
    const grant = (await broker.db.prisma.pendingGrant.findUnique({ where: { connectionId: reauthId } }))!
    const newToken = broker.app.services.pending.openReplacement(grant)!.tokens.accessToken
    const token = await heldAccessToken(created.id)

    broker.clock.advance(broker.config.connectSessionTtlSeconds + 1)
    try {
      // Broker tokens expire with the clock too.
      const later = apiClient(broker, await broker.token())
      expect((await later('GET', `/v1/connect-sessions/${created.sessionId}`)).body.status).toBe('expired')
      // Expired: refused, and nothing changes until the sweep.
      const refused = await confirm(created.id, { confirmationCode: created.code }, later)
      expect([refused.status, refused.body.code]).toEqual([400, 'invalid_confirmation'])
      expect(await broker.app.services.confirmations.sweep()).toBeGreaterThanOrEqual(2)
    } finally {
      broker.clock.offsetMs = 0
    }
    expect((await api('GET', `/v1/connections/${created.id}`)).status).toBe(404)
    expect((await as.introspect(token)).active).toBe(false)
    // The re-authorization's new grant is gone; the old one is still in use.
    expect((await as.introspect(newToken)).active).toBe(false)
    const shown = await api('GET', `/v1/connections/${reauthId}`)
    expect([shown.body.status, shown.body.pendingConfirmation]).toEqual(['active', false])
    expect((await vend(reauthId)).body.accessToken).toBe(oldToken)
    const code = reauth.searchParams.get('confirmation_code')!
    expect((await confirm(reauthId, { confirmationCode: code })).status).toBe(400)
  })

  it('accept: false and the fifth wrong code queue the held tokens in their own transaction', async () => {
    const { pending, revocations } = broker.app.services
    const queued = (id: string) => broker.db.pool.query('SELECT 1 FROM revocation_queue WHERE connection_id = $1', [id])
    const revokeHeld = revocations.revokeHeld
    // The process "dies" right after the confirming transaction: no first attempt.
    revocations.revokeHeld = async () => {
      throw new Error('crashed')
    }
    try {
      for (const [owner, wrongCodes] of [
        ['crash-reject', 0],
        ['crash-wrong', 5],
      ] as const) {
        const base = await session({ ownerId: owner, confirm: false })
        const id = (await complete(base.connectUrl)).searchParams.get('connection_id')!
        const back = await complete((await session({ ownerId: owner, connectionId: id })).connectUrl)
        expect(await pending.get(id)).toBeDefined()
        if (wrongCodes === 0)
          await confirm(id, { confirmationCode: back.searchParams.get('confirmation_code')!, accept: false })
        for (let i = 0; i < wrongCodes; i++) await confirm(id, { confirmationCode: `wrong-${i}` })
        expect(await pending.get(id), owner).toBeUndefined()
        expect((await queued(id)).rows, owner).toHaveLength(1)
      }
    } finally {
      revocations.revokeHeld = revokeHeld
    }
  })

  it("the sweep queues a re-authorization's held tokens as it takes the grant: a crash loses none", async () => {
    const base = await session({ ownerId: 'crash-reauth', confirm: false })
    const id = (await complete(base.connectUrl)).searchParams.get('connection_id')!
    await complete((await session({ ownerId: 'crash-reauth', connectionId: id })).connectUrl)
    const { pending, confirmations } = broker.app.services
    const held = pending.openReplacement((await pending.get(id))!)!.tokens
    // The process "dies" right after the sweep's transaction: no discard, no first attempt.
    const discard = confirmations.discard
    confirmations.discard = async () => {
      throw new Error('crashed')
    }
    broker.clock.advance(broker.config.connectSessionTtlSeconds + 1)
    try {
      await expect(confirmations.sweep()).rejects.toThrow('crashed')
    } finally {
      broker.clock.offsetMs = 0
      confirmations.discard = discard
    }
    expect(await pending.get(id)).toBeUndefined()
    expect((await as.introspect(held.accessToken)).active).toBe(true)
    // The queue has the tokens (sealed); the worker revokes them once their claim runs out.
    const queued = () =>
      broker.db.pool.query('SELECT access_token FROM revocation_queue WHERE connection_id = $1', [id])
    expect((await queued()).rows).toHaveLength(1)
    await broker.db.pool.query('UPDATE revocation_queue SET next_attempt_at = now() WHERE connection_id = $1', [id])
    await broker.app.services.revocationQueue.tick()
    expect((await queued()).rows).toHaveLength(0)
    expect((await as.introspect(held.accessToken)).active).toBe(false)
  })
})
