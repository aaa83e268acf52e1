// The client's connect-session `get` and connection `confirm` against a real broker whose
// provider is a real OAuth 2.0 authorization server, the browser flow done without a
// browser (support/browser.ts); and its webhook verification on a real delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BrokerClient,
  ConfirmationPendingError,
  InvalidConfirmationError,
  NotFoundError,
  verifyWebhook,
} from '../../client/src/index.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'

const RETURN = 'https://app.example.com/connected'
let as: AuthorizationServer
let receiver: Receiver
let broker: TestBroker
let client: BrokerClient

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  receiver = await startReceiver()
  broker = await startBroker({
    port,
    providers: { idp: providerEntryFor(as, { pkce: true }) },
    env: { ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true', BOOTSTRAP_WEBHOOK_URLS: receiver.url },
    timings: { webhookPollIntervalMs: 100 },
    requireConfirmation: true,
  })
  client = new BrokerClient({ url: broker.url, clientId: BOOTSTRAP_ID, clientSecret: BOOTSTRAP_SECRET })
})
afterAll(async () => {
  await broker?.close()
  await Promise.all([as?.close(), receiver?.close()])
})

/** A session with confirm, completed at the provider: the session id and the return URL's parameters. */
async function completed(ownerId: string) {
  const session = await client.connectSessions.create({ provider: 'idp', ownerId, returnUrl: RETURN, confirm: true })
  const browser = new Browser()
  const start = await browser.get(session.connectUrl)
  expect(start.status).toBe(302)
  const done = await browser.get(await as.authorize(start.headers.get('location')!))
  const back = new URL(done.headers.get('location')!)
  expect(back.searchParams.get('status')).toBe('pending_confirmation')
  return {
    sessionId: session.id,
    connectionId: back.searchParams.get('connection_id')!,
    code: back.searchParams.get('confirmation_code')!,
  }
}

describe('BrokerClient confirmation', () => {
  it('gets the session, refuses to vend before, and confirms with the code from the return URL', async () => {
    const { sessionId, connectionId, code } = await completed('confirm-user')
    const state = await client.connectSessions.get(sessionId)
    expect(state).toMatchObject({
      id: sessionId,
      status: 'pending_confirmation',
      connectionId,
      ownerId: 'confirm-user',
    })
    const pending = await client.accessToken(connectionId).catch((e: unknown) => e)
    expect(pending).toBeInstanceOf(ConfirmationPendingError)
    expect(pending).toMatchObject({ code: 'confirmation_pending', status: 409 })

    const wrong = await client.connections.confirm(connectionId, { confirmationCode: 'wrong' }).catch((e) => e)
    expect(wrong).toBeInstanceOf(InvalidConfirmationError)
    expect(wrong).toMatchObject({ code: 'invalid_confirmation', status: 400 })
    expect(String(wrong)).not.toContain(code)

    const confirmed = await client.connections.confirm(connectionId, { confirmationCode: code })
    expect(confirmed).toMatchObject({ id: connectionId, status: 'active', pendingConfirmation: false })
    expect((await client.connectSessions.get(sessionId)).status).toBe('completed')
    const token = await client.accessToken(connectionId)
    expect((await as.userinfo(token.accessToken)).status).toBe(200)
  })

  it('accept: false discards the grant (undefined), and the connection is gone', async () => {
    const { sessionId, connectionId, code } = await completed('reject-user')
    const rejected = await client.connections.confirm(connectionId, { confirmationCode: code, accept: false })
    expect(rejected).toBeUndefined()
    await expect(client.connections.get(connectionId)).rejects.toBeInstanceOf(NotFoundError)
    expect(await client.connectSessions.get(sessionId)).toMatchObject({
      status: 'failed',
      error: 'confirmation_rejected',
    })
    // Malformed ids: refused before any request, as a rejected promise (never a synchronous throw).
    for (const bad of ['', '../x', 'a b', 'x'.repeat(65)]) {
      await expect(client.connectSessions.get(bad)).rejects.toThrow(TypeError)
      await expect(client.connections.get(bad)).rejects.toThrow(TypeError)
      await expect(client.connections.confirm(bad, { confirmationCode: code })).rejects.toThrow(TypeError)
      await expect(client.connections.delete(bad)).rejects.toThrow(TypeError)
    }
    const missing = await client.connectSessions.get('cs_missing').catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect(missing).toMatchObject({ code: 'connect_session_not_found', status: 404 })
  })

  it('verifies real webhook deliveries of the broker, before and while the endpoint secret rotates', async () => {
    const admin = async (path: string, body: object) =>
      (
        await fetch(`${broker.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await broker.token()}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json() as Promise<{ id: string; secret: string }>
    const { id: endpointId, secret } = await admin('/v1/webhook-endpoints', {
      url: `${receiver.url}/client`,
      events: ['*'],
    })
    const made = await client.connections.create({
      provider: 'idp',
      ownerId: 'hooked',
      credentials: { accessToken: 'at-hooked' },
    })
    await receiver.waitFor(() => receiver.at('/client').length > 0)
    const first = receiver.at('/client')[0]!
    const event = await verifyWebhook({ secret, headers: first.headers, body: first.body })
    expect(event).toMatchObject({ type: 'connection.created', data: { connectionId: made.id, ownerId: 'hooked' } })
    await expect(
      verifyWebhook({ secret, headers: first.headers, body: first.body.replace('hooked', 'hooker') }),
    ).rejects.toThrow()

    // After a rotation both secrets sign for a while: either verifies, and a list of both.
    const rotated = (await admin(`/v1/webhook-endpoints/${endpointId}/rotate-secret`, {})).secret
    expect(rotated).toMatch(/^whsec_/)
    expect(rotated).not.toBe(secret)
    await client.connections.delete(made.id)
    await receiver.waitFor(() => receiver.at('/client').length > 1)
    const second = receiver.at('/client')[1]!
    expect(second.signature.split(' ')).toHaveLength(2)
    for (const key of [rotated, secret, [secret, rotated]]) {
      const deleted = await verifyWebhook({ secret: key, headers: second.headers, body: second.body })
      expect(deleted).toMatchObject({ type: 'connection.deleted', data: { connectionId: made.id, status: 'deleted' } })
    }
  })
})
