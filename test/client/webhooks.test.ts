// The client's webhook verification accepts what the Standard Webhooks reference library
// signs, and refuses tampering, other secrets, stale timestamps and missing headers.
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { verifyWebhook, WebhookVerificationError } from '../../client/src/index.js'

const secret = `whsec_${randomBytes(32).toString('base64')}`
const other = `whsec_${randomBytes(32).toString('base64')}`
const body = JSON.stringify({
  type: 'connection.created',
  timestamp: '2026-12-06T04:00:00.000Z',
  data: { connectionId: 'c1', provider: 'acme', ownerId: 'u1', namespace: 'default', status: 'active', sequence: 1 },
})

function signed(at: Date, key = secret, payload = body) {
  const id = `evt_${randomBytes(8).toString('hex')}`
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, payload),
  }
}

describe('verifyWebhook', () => {
  it('accepts a delivery signed by the standardwebhooks library and returns the event', async () => {
    const headers = signed(new Date())
    const event = await verifyWebhook({ secret, headers, body })
    expect(event).toEqual(JSON.parse(body))
    // As a Headers object and as bytes too.
    expect(
      await verifyWebhook({ secret, headers: new Headers(headers), body: new TextEncoder().encode(body) }),
    ).toEqual(event)
  })

  it('accepts either of two signatures while a secret rotates, and either of two secrets', async () => {
    const at = new Date()
    const a = signed(at, other)
    const b = new Webhook(secret).sign(a['webhook-id'], at, body)
    const headers = { ...a, 'webhook-signature': `${a['webhook-signature']} ${b}` }
    await expect(verifyWebhook({ secret, headers, body })).resolves.toBeTruthy()
    await expect(verifyWebhook({ secret: [other, secret], headers: signed(at), body })).resolves.toBeTruthy()
  })

  it('refuses a changed body, another secret, a changed id, and a stale or future timestamp', async () => {
    const headers = signed(new Date())
    const refused = (options: Parameters<typeof verifyWebhook>[0]) =>
      expect(verifyWebhook(options)).rejects.toBeInstanceOf(WebhookVerificationError)
    await refused({ secret, headers, body: body.replace('"u1"', '"u2"') })
    await refused({ secret: other, headers, body })
    await refused({ secret, headers: { ...headers, 'webhook-id': 'evt_other' }, body })
    await refused({ secret, headers: signed(new Date(Date.now() - 301_000)), body })
    await refused({ secret, headers: signed(new Date(Date.now() + 301_000)), body })
    await refused({ secret, headers: { 'webhook-id': 'x', 'webhook-timestamp': '1' }, body })
    // Within the tolerance: still fine, and the reference library agrees.
    const recent = signed(new Date(Date.now() - 290_000))
    await expect(verifyWebhook({ secret, headers: recent, body })).resolves.toBeTruthy()
    expect(new Webhook(secret).verify(body, recent)).toEqual(JSON.parse(body))
  })

  it('refuses a secret that is not a whsec_ secret', async () => {
    await expect(verifyWebhook({ secret: 'plain', headers: signed(new Date()), body })).rejects.toThrow(/whsec_/)
  })
})
