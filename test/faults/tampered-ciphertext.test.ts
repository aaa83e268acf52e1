// Fault: a stored ciphertext that fails authentication: one flipped bit, or a valid
// ciphertext moved to another row or column (the associated data binds it to its place).
// The broker must fail closed: 500 secret_unreadable (problem+json, no detail), nothing
// sent to the provider (oidc-provider AS, which records every request), no token or
// ciphertext in the logs; deleting the connection still works, sends nothing for the
// unreadable token, still revokes the intact one, and audits the unreadable one as failed.
// (docs/decisions.md "Tampered secrets"; docs/security.md, checklist item 9)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser, type Api } from '../support/connect.js'
import { createDatabase } from '../support/db.js'
import { histogram, openColumn, printFigures, sleep, sql, testKeyring, vend, type Outcome } from '../support/faults.js'
import { CHANGES_CHANNEL } from '../../src/store/changes.js'

const keyring = testKeyring()
let database: { url: string; drop(): Promise<void> }
let as: AuthorizationServer
let broker: TestBroker
let api: Api
let token: string

const figures = {
  tokensLost: 0,
  fiveXxOutsideFaultWindow: 0,
  tamperedCases: 0,
  failedClosed_500_secret_unreadable: 0,
  providerRequestsDuringTamperedCalls: 0,
  secretsInLogs: 0,
  deletesOfTamperedConnections_204: 0,
  unreadableTokensSentOnDelete: 0,
  intactTokensRevokedOnDelete: 0,
  intactTokensNotRevokedOnDelete: 0,
  refresherLoggedUnreadableAsError: 0,
  untamperedCalls: '',
}
const untampered: Outcome[] = []
/** Every plaintext and ciphertext the tampering touched: none may reach a log line. */
const secrets = new Set<string>()

beforeAll(async () => {
  database = await createDatabase()
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    databaseUrl: database.url,
    providers: { idp: providerEntryFor(as) },
    env: { REFRESH_WINDOW_SECONDS: '0', FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
  })
  token = await broker.token()
  api = apiClient(broker, token)
})

afterAll(async () => {
  figures.untamperedCalls = histogram(untampered)
  printFigures('tampered ciphertexts', figures)
  await broker?.close()
  await as?.close()
  await database?.drop()
})

const connect = (ownerId: string) => connectUser(api, as, { provider: 'idp', ownerId })

async function row(id: string) {
  const [r] = await sql(
    database.url,
    'SELECT status, version, expires_at, access_token, refresh_token FROM connections WHERE id = $1',
    [id],
  )
  return r as {
    status: string
    version: number
    expires_at: Date | null
    access_token: string | null
    refresh_token: string | null
  }
}

/** Flips one bit of the ciphertext body (nonce and tag left alone: the tag must catch it). */
function flipBit(sealed: string, bit = 13): string {
  const [v, keyId, nonce, body] = sealed.split('.')
  const bytes = Buffer.from(body!, 'base64url')
  bytes[bit >> 3]! ^= 1 << (bit & 7)
  return [v, keyId, nonce, bytes.toString('base64url')].join('.')
}

/** Writes a column as an attacker with database access would, and tells the broker's cache (as any write does). */
async function tamper(id: string, column: 'access_token' | 'refresh_token', value: string) {
  secrets.add(value)
  await sql(database.url, `UPDATE connections SET ${column} = $1 WHERE id = $2`, [value, id])
  await evict(id)
}

/** Notifies a change of the row, as the broker's own writes do, and lets the notification land. */
async function evict(id: string) {
  await sql(database.url, 'SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify({ topic: 'connection', id })])
  await sleep(100)
}

/** Connects a user, remembers both plaintexts as secrets, returns them. */
async function connected(ownerId: string) {
  const id = await connect(ownerId)
  const r = await row(id)
  const at = openColumn(keyring, id, 'access_token', r.access_token)!
  const rt = openColumn(keyring, id, 'refresh_token', r.refresh_token)!
  for (const s of [at, rt, r.access_token!, r.refresh_token!]) secrets.add(s)
  return { id, at, rt, sealed: r }
}

/** The call must fail closed, and nothing may reach the provider meanwhile. */
async function expectFailsClosed(id: string, body: Record<string, unknown>) {
  const before = as.requests.length
  const res = await vend(broker.url, token, id, body)
  figures.tamperedCases++
  const sent = as.requests.length - before
  figures.providerRequestsDuringTamperedCalls += sent
  expect([res.status, res.code], JSON.stringify(res.body)).toEqual([500, 'secret_unreadable'])
  figures.failedClosed_500_secret_unreadable++
  // 5xx answers carry no detail, so nothing about the value leaks to the caller either.
  expect(res.body).toEqual({ type: 'about:blank', title: expect.any(String), status: 500, code: 'secret_unreadable' })
  expect(sent).toBe(0)
  return res
}

/** Token requests or revocations that carried `value`. */
const sentToProvider = (value: string, since = 0) =>
  as.requests.slice(since).filter((r) => Object.values(r.params).includes(value) || r.authorization?.includes(value))

describe('a flipped bit in a stored ciphertext', () => {
  it(
    'access_token: 500 secret_unreadable, nothing sent ' + 'to the provider, logged as an error without the value',
    async () => {
      const c = await connected('flip-access')
      const logsBefore = broker.logs.length
      await tamper(c.id, 'access_token', flipBit(c.sealed.access_token!))
      await expectFailsClosed(c.id, {})
      await expectFailsClosed(c.id, { minValiditySeconds: 0 })
      const errors = broker.logs.slice(logsBefore).filter((l) => l.includes('secret_unreadable'))
      expect(errors.length).toBeGreaterThan(0)
      expect(errors.every((l) => JSON.parse(l).level >= 50)).toBe(true)
      // The connection itself is untouched: still active, same version (nothing "healed" it silently).
      expect(await row(c.id)).toMatchObject({ status: 'active', version: c.sealed.version })
      // Metadata stays readable; only the secret is refused.
      expect((await api('GET', `/v1/connections/${c.id}`)).status).toBe(200)
    },
  )

  it(
    'refresh_token: a forced refresh (and an expired ' + 'access token) fail closed without any token request',
    async () => {
      const c = await connected('flip-refresh')
      await tamper(c.id, 'refresh_token', flipBit(c.sealed.refresh_token!, 77))
      // The access token is intact and fresh: it is still served (the refresh token is not needed).
      const fresh = await vend(broker.url, token, c.id, {})
      untampered.push(fresh)
      expect([fresh.status, fresh.body?.accessToken]).toEqual([200, c.at])
      const tokenRequests = as.tokenRequests.length
      await expectFailsClosed(c.id, { forceRefresh: true })
      // An expired access token needs the refresh token: the same, on the ordinary path.
      await sql(database.url, "UPDATE connections SET expires_at = now() - interval '1 minute' WHERE id = $1", [c.id])
      await evict(c.id)
      await expectFailsClosed(c.id, {})
      // The background refresher picks the expired row up: it must not send anything either.
      const logsBeforeTick = broker.logs.length
      const tick = await broker.app.services.refresher.tick()
      expect(tick.claimed).toBeGreaterThanOrEqual(1)
      // The refresher has no caller to answer: it logs the unreadable secret as an error (once), without the value.
      const refresherErrors = broker.logs
        .slice(logsBeforeTick)
        .map((l) => JSON.parse(l))
        .filter((l) => l.level >= 50)
      figures.refresherLoggedUnreadableAsError = refresherErrors.length
      expect(refresherErrors).toEqual([
        expect.objectContaining({ event: 'secret.unreadable', connectionId: c.id, code: 'secret_unreadable' }),
      ])
      expect(as.tokenRequests.length).toBe(tokenRequests)
      expect(sentToProvider(c.rt)).toEqual([])
      // Not a credential verdict: the grant was not refused by anyone, so no reauthorization_required.
      expect((await row(c.id)).status).toBe('active')
    },
  )

  it('deleting a connection with an unreadable token: 204, nothing sent for it, the intact one revoked', async () => {
    for (const column of ['access_token', 'refresh_token'] as const) {
      const c = await connected(`flip-delete-${column}`)
      await tamper(c.id, column, flipBit(column === 'access_token' ? c.sealed.access_token! : c.sealed.refresh_token!))
      const before = as.requests.length
      const res = await api('DELETE', `/v1/connections/${c.id}`)
      expect(res.status).toBe(204)
      figures.deletesOfTamperedConnections_204++
      const unreadable = column === 'access_token' ? c.at : c.rt
      const intact = column === 'access_token' ? c.rt : c.at
      figures.unreadableTokensSentOnDelete += sentToProvider(unreadable, before).length
      expect(sentToProvider(unreadable, before)).toEqual([])
      // The intact token of the pair is still revoked at the provider.
      if (sentToProvider(intact, before).length) figures.intactTokensRevokedOnDelete++
      else figures.intactTokensNotRevokedOnDelete++
      expect(sentToProvider(intact, before)).toHaveLength(1)
      expect(sentToProvider(intact, before)[0]!.params.token_type_hint).toBe(
        column === 'access_token' ? 'refresh_token' : 'access_token',
      )
      const events = await api('GET', `/v1/audit-events?connectionId=${c.id}&type=connection.revoked`)
      const [unreadableKey, intactKey] =
        column === 'access_token' ? ['accessToken', 'refreshToken'] : ['refreshToken', 'accessToken']
      expect(events.body.items[0].detail).toMatchObject({
        [unreadableKey]: 'failed',
        [intactKey]: 'revoked',
        errors: [`${column}: secret_unreadable`],
      })
      // The ciphertext is destroyed locally either way, and the connection is gone for the API.
      expect(await row(c.id)).toMatchObject({ status: 'revoked', access_token: null, refresh_token: null })
      expect((await api('POST', `/v1/connections/${c.id}/access-token`, {})).status).toBe(404)
    }
  })
})

describe('a valid ciphertext moved to another place', () => {
  it("connection A's access_token copied into B: B fails closed; A still works", async () => {
    const a = await connected('moved-a')
    const b = await connected('moved-b')
    await tamper(b.id, 'access_token', a.sealed.access_token!)
    const res = await expectFailsClosed(b.id, {})
    expect(JSON.stringify(res.body)).not.toContain(a.at)
    const own = await vend(broker.url, token, a.id, {})
    untampered.push(own)
    expect([own.status, own.body?.accessToken]).toEqual([200, a.at])
  })

  it(
    "connection A's refresh_token copied into B: B's forced " +
      "refresh fails closed, A's refresh token is never sent for B",
    async () => {
      const a = await connected('moved-rt-a')
      const b = await connected('moved-rt-b')
      await tamper(b.id, 'refresh_token', a.sealed.refresh_token!)
      await expectFailsClosed(b.id, { forceRefresh: true })
      expect(sentToProvider(a.rt)).toEqual([])
      // A's chain is intact: its own refresh works with its own token.
      const before = as.tokenRequests.length
      const own = await vend(broker.url, token, a.id, { forceRefresh: true })
      untampered.push(own)
      expect(own.status).toBe(200)
      expect(as.tokenRequests.slice(before).map((r) => r.params.refresh_token)).toEqual([a.rt])
      secrets.add(openColumn(keyring, a.id, 'refresh_token', (await row(a.id)).refresh_token)!)
    },
  )

  it("a row's own refresh_token moved into its access_token column: fails closed", async () => {
    const c = await connected('moved-column')
    await tamper(c.id, 'access_token', c.sealed.refresh_token!)
    const res = await expectFailsClosed(c.id, {})
    expect(JSON.stringify(res.body)).not.toContain(c.rt)
  })

  it(
    'figures: no secret in the logs, no provider request for a ' +
      'tampered value, no 5xx for untampered rows, no token lost',
    async () => {
      const logs = broker.logs.join('\n')
      figures.secretsInLogs = [...secrets].filter((s) => logs.includes(s)).length
      figures.fiveXxOutsideFaultWindow = untampered.filter((o) => o.status >= 500 || o.status === 0).length
      // Connections nobody tampered with (A of each pair) still refresh at the provider.
      for (const ownerId of ['moved-a', 'moved-rt-a']) {
        const [r] = await sql(database.url, 'SELECT id, refresh_token FROM connections WHERE owner_id = $1', [ownerId])
        const rt = openColumn(keyring, r.id, 'refresh_token', r.refresh_token)!
        if (!(await as.introspect(rt)).active) figures.tokensLost++
      }
      expect(figures.secretsInLogs).toBe(0)
      expect(figures.providerRequestsDuringTamperedCalls).toBe(0)
      expect(figures.unreadableTokensSentOnDelete).toBe(0)
      expect(figures.intactTokensNotRevokedOnDelete).toBe(0)
      expect(figures.intactTokensRevokedOnDelete).toBe(2)
      expect(figures.fiveXxOutsideFaultWindow).toBe(0)
      expect(figures.tokensLost).toBe(0)
    },
  )
})
