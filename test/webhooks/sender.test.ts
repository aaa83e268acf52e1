// The address guard at delivery time: an allowed name that resolves to a link-local,
// multicast or unspecified address is refused inside the socket's DNS lookup, before any
// byte is sent; a name resolving to loopback (receivers are internal) is fine. The DNS
// answers are given; the receiver is real, on 127.0.0.1.
import type { LookupAddress } from 'node:dns'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ResolveHost } from '../../src/oauth/network.js'
import { createWebhookDispatcher, sendWebhook } from '../../src/webhooks/sender.js'
import { startReceiver, type Receiver } from '../support/webhook-receiver.js'

let receiver: Receiver
beforeAll(async () => {
  receiver = await startReceiver()
})
afterAll(async () => {
  await receiver?.close()
})

const DNS: Record<string, LookupAddress[]> = {
  'receiver.test': [{ address: '127.0.0.1', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
  'multicast.test': [{ address: '224.0.0.1', family: 4 }],
  'unspecified.test': [{ address: '0.0.0.0', family: 4 }],
  'mixed.test': [
    { address: '127.0.0.1', family: 4 },
    { address: 'fe80::1', family: 6 },
  ],
}
const resolveHost: ResolveHost = async (hostname) => DNS[hostname] ?? []

describe('sending a webhook', () => {
  it('refuses a name that resolves to a reserved address, and sends to one that resolves to loopback', async () => {
    const dispatcher = createWebhookDispatcher(resolveHost)
    const port = new URL(receiver.url).port
    const send = (host: string) =>
      sendWebhook(
        { url: `http://${host}:${port}/hooks/dns`, headers: { 'webhook-id': `msg_${host}` }, body: '{}' },
        { dispatcher, timeoutMs: 2000 },
      )
    for (const host of ['metadata.test', 'mapped.test', 'multicast.test', 'unspecified.test', 'mixed.test']) {
      expect((await send(host)).error, host).toBe('blocked_address')
    }
    expect(receiver.at('/hooks/dns')).toEqual([])
    const sent = await send('receiver.test')
    expect([sent.responseStatus, sent.error]).toEqual([204, undefined])
    expect(receiver.at('/hooks/dns').map((r) => r.id)).toEqual(['msg_receiver.test'])
    // A literal reserved address never reaches the network at all.
    const literal = await sendWebhook(
      { url: 'http://169.254.169.254/latest', headers: {}, body: '{}' },
      { dispatcher, timeoutMs: 2000 },
    )
    expect(literal).toEqual({ error: 'blocked_address', durationMs: 0 })
  })
})
