// Lifecycle events of connections whose end user is confirmed: connection.created comes
// when a connection becomes usable (at its confirmation), never for a grant that waits or
// is discarded; a confirmed re-authorization is connection.reauthorized. Read from the
// outbox (webhook_events), which is what every endpoint's deliveries come from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, type Api } from '../support/connect.js'

const RETURN = 'https://app.example.com/connected'
let as: AuthorizationServer
let broker: TestBroker
let api: Api

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    providers: { idp: providerEntryFor(as, { pkce: true }) },
    requireConfirmation: true,
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await as?.close()
})

/** A whole connect flow; the return URL's status, connection id and confirmation code. */
async function connect(extra: Record<string, unknown>) {
  const created = await api('POST', '/v1/connect-sessions', { provider: 'idp', returnUrl: RETURN, ...extra })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const browser = new Browser()
  const start = await browser.get(created.body.connectUrl)
  const back = new URL((await browser.get(await as.authorize(start.headers.get('location')!))).headers.get('location')!)
  return {
    status: back.searchParams.get('status'),
    id: back.searchParams.get('connection_id')!,
    code: back.searchParams.get('confirmation_code')!,
  }
}

/** The events written about one connection, in sequence: [type, status, sequence]. */
async function events(connectionId: string) {
  const rows = await broker.db.prisma.webhookEvent.findMany({ where: { connectionId }, orderBy: { sequence: 'asc' } })
  return rows.map((r) => {
    const { type, data } = JSON.parse(r.body) as { type: string; data: { status: string; sequence: number } }
    expect(type).toBe(r.type)
    return [type, data.status, data.sequence]
  })
}

const confirm = (id: string, body: object) => api('POST', `/v1/connections/${id}/confirm`, body)

describe('events of confirmed connections', () => {
  it('a held grant emits nothing; its confirmation emits connection.created', async () => {
    const held = await connect({ ownerId: 'held', confirm: true })
    expect(held.status).toBe('pending_confirmation')
    expect(await events(held.id)).toEqual([])
    expect((await confirm(held.id, { confirmationCode: held.code })).status).toBe(200)
    expect(await events(held.id)).toEqual([['connection.created', 'active', 1]])
  })

  it('a rejected or wrongly confirmed new grant emits nothing at all, not even its deletion', async () => {
    const rejected = await connect({ ownerId: 'rejected', confirm: true })
    expect((await confirm(rejected.id, { confirmationCode: rejected.code, accept: false })).status).toBe(204)
    const failed = await connect({ ownerId: 'wrong-codes', confirm: true })
    for (let i = 0; i < 5; i++) await confirm(failed.id, { confirmationCode: 'x'.repeat(43) })
    for (const id of [rejected.id, failed.id]) {
      expect((await api('GET', `/v1/connections/${id}`)).status).toBe(404)
      expect(await events(id)).toEqual([])
    }
  })

  it('a confirmed re-authorization emits connection.reauthorized; a rejected one nothing', async () => {
    const first = await connect({ ownerId: 'again', confirm: false })
    expect(first.status).toBe('connected')
    const again = await connect({ ownerId: 'again', connectionId: first.id, confirm: true })
    expect(await events(first.id)).toEqual([['connection.created', 'active', 1]])
    expect((await confirm(first.id, { confirmationCode: again.code })).status).toBe(200)
    const refused = await connect({ ownerId: 'again', connectionId: first.id, confirm: true })
    expect((await confirm(first.id, { confirmationCode: refused.code, accept: false })).status).toBe(204)
    // Deleted through the revocation queue (the provider has a revocation endpoint).
    expect((await api('DELETE', `/v1/connections/${first.id}`)).status).toBe(204)
    expect(await events(first.id)).toEqual([
      ['connection.created', 'active', 1],
      ['connection.reauthorized', 'active', 2],
      ['connection.deleted', 'deleted', 3],
    ])
  })

  it('a pending connection re-authorized without confirmation is announced as created', async () => {
    const held = await connect({ ownerId: 'overtaken', confirm: true })
    const direct = await connect({ ownerId: 'overtaken', connectionId: held.id, confirm: false })
    expect(direct.status).toBe('connected')
    expect(await events(held.id)).toEqual([['connection.created', 'active', 1]])
  })
})
