// The provider bulkhead: a bound on calls at a time, request-path callers before background
// ones, a slot the background never takes, and a refusal in time when no slot comes free.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bulkhead, currentPriority, inBackground, type Release } from '../../src/oauth/bulkhead.js'
import { sendProviderRequest } from '../../src/oauth/http.js'
import { createDispatchers, ProviderNetwork } from '../../src/oauth/network.js'
import { ProviderError } from '../../src/oauth/provider-error.js'
import { Metrics } from '../../src/metrics.js'

const taken = (release: Release | undefined): Release => {
  expect(release).toBeTypeOf('function')
  return release!
}

describe('Bulkhead', () => {
  it('hands out at most `limit` slots; a waiter gets the next freed one', async () => {
    const b = new Bulkhead(2)
    const one = taken(await b.acquire('request', 0))
    taken(await b.acquire('request', 0))
    expect(await b.acquire('request', 0)).toBeUndefined()
    const waiting = b.acquire('request', 5_000)
    expect(b.queued).toBe(1)
    one()
    one() // a second release is harmless
    taken(await waiting)
    expect(b.held).toEqual({ request: 2, background: 0 })
  })

  it('refuses a waiter whose wait runs out, and forgets it', async () => {
    const b = new Bulkhead(1)
    const only = taken(await b.acquire('request', 0))
    const started = Date.now()
    expect(await b.acquire('request', 50)).toBeUndefined()
    expect(Date.now() - started).toBeGreaterThanOrEqual(45)
    expect(b.queued).toBe(0)
    only()
    expect(b.held).toEqual({ request: 0, background: 0 })
  })

  it('keeps a slot from the background, and serves waiting requests first', async () => {
    const b = new Bulkhead(3)
    const bg = [taken(await b.acquire('background', 0)), taken(await b.acquire('background', 0))]
    // The third slot is the request path's: the background waits even though it is free.
    expect(await b.acquire('background', 0)).toBeUndefined()
    const laterBackground = b.acquire('background', 5_000)
    const request = taken(await b.acquire('request', 0))
    const waitingRequest = b.acquire('request', 5_000)
    bg[0]!()
    // The freed slot goes to the request that waited, not to the background that waited longer.
    taken(await waitingRequest)
    expect(b.held).toEqual({ request: 2, background: 1 })
    request()
    taken(await laterBackground)
    expect(b.held).toEqual({ request: 1, background: 2 })
  })

  it('with one slot, the background may take it (and the request path waits for it)', async () => {
    const b = new Bulkhead(1)
    const bg = taken(await b.acquire('background', 0))
    const request = b.acquire('request', 5_000)
    bg()
    taken(await request)
  })

  it('knows which calls run in the background', async () => {
    expect(currentPriority()).toBe('request')
    const seen = await inBackground(async () => {
      await new Promise((r) => setTimeout(r, 1))
      return currentPriority()
    })
    expect(seen).toBe('background')
    expect(currentPriority()).toBe('request')
  })
})

describe('provider calls through the bulkhead', () => {
  let server: Server
  let url: string
  const held: Array<() => void> = []

  beforeAll(async () => {
    // Answers only when the test lets it: a provider that is slow on demand.
    server = createServer((_req, res) => {
      held.push(() => {
        if (!res.headersSent && !res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
  })
  afterAll(async () => {
    for (const answer of held) answer()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  it('a caller that gets no slot within the timeout is refused as provider_busy; other providers are not', async () => {
    const metrics = new Metrics()
    const network = new ProviderNetwork(createDispatchers({ allowPrivate: true }), 300, { concurrency: 2, metrics })
    const req = { method: 'POST' as const, url, headers: {}, body: '' }
    const busy = network.http({ key: 'busy' }, 'refresh')
    const first = [sendProviderRequest(req, busy), sendProviderRequest(req, busy)]
    const started = Date.now()
    const third = await sendProviderRequest(req, busy).catch((err: unknown) => err)
    expect(third).toBeInstanceOf(ProviderError)
    expect(third).toMatchObject({ failure: 'transient', code: 'provider_busy' })
    expect(Date.now() - started).toBeLessThan(1_000)
    // The two in flight run into the timeout themselves.
    for (const r of await Promise.allSettled(first)) expect(r).toMatchObject({ reason: { code: 'timeout' } })
    const waits = await metrics.providerSlotWaits.get()
    expect(waits.values).toContainEqual(
      expect.objectContaining({ value: 1, labels: { provider: 'busy', priority: 'request', outcome: 'rejected' } }),
    )

    // Another provider has slots of its own.
    const other = sendProviderRequest(req, network.http({ key: 'other' }, 'refresh'))
    await new Promise((r) => setTimeout(r, 50))
    held.at(-1)!()
    expect(await other).toMatchObject({ status: 200 })
    await network.close()
  })
})
