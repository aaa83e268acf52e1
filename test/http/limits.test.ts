// Rate limits on the token, browser and admin routes, keyed by client address; forwarded
// headers count only when TRUST_PROXY says so; and the token endpoint's answer takes as
// long for an unknown client id as for a wrong secret. IPv6 addresses count by their /64.
// (docs/security.md, checklist items 22, 25, 30)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rateLimitKey } from '../../src/http/rate-limits.js'
import { startBroker, type TestBroker } from '../support/broker.js'

let strict: TestBroker
let proxied: TestBroker
let adminToken: string

beforeAll(async () => {
  const env = { RATE_LIMIT_TOKEN: '3', RATE_LIMIT_BROWSER: '3', RATE_LIMIT_ADMIN: '3' }
  strict = await startBroker({ env })
  adminToken = await strict.token() // before the token endpoint's limit is spent
  proxied = await startBroker({ env: { ...env, TRUST_PROXY: '127.0.0.1' } })
})
afterAll(async () => {
  await Promise.all([strict?.close(), proxied?.close()])
})

const tokenRequest = (b: TestBroker, forwardedFor?: string) =>
  fetch(`${b.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    body: 'grant_type=client_credentials&client_id=nobody&client_secret=nothing',
  })

describe('rate limits', () => {
  it(
    'limit the token endpoint per address; a forged ' + 'X-Forwarded-For does not reset the count without TRUST_PROXY',
    async () => {
      const statuses = []
      for (let i = 0; i < 5; i++) statuses.push((await tokenRequest(strict, `10.0.0.${i}`)).status)
      // The bootstrap token fetched in beforeAll spent one of the three.
      expect(statuses).toEqual([401, 401, 429, 429, 429])
      const limited = await tokenRequest(strict)
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(((await limited.json()) as { code: string }).code).toBe('rate_limited')
    },
  )

  it('trust X-Forwarded-For from the configured proxy address only', async () => {
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await tokenRequest(proxied, `203.0.113.${i}`)).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401])
  })

  it('count IPv6 addresses by their /64: a host cannot rotate through its own prefix', async () => {
    const statuses = []
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff::5', '2001:DB8:1:2:0:0:0:9', '2001:db8:1:2::1:1'])
      statuses.push((await tokenRequest(proxied, ip)).status)
    expect(statuses).toEqual([401, 401, 401, 429])
    // The next /64 has its own budget.
    expect((await tokenRequest(proxied, '2001:db8:1:3::1')).status).toBe(401)
  })

  it('keys: IPv4 as it is, IPv6 by /64, IPv4-mapped IPv6 as IPv4', () => {
    expect(rateLimitKey('203.0.113.7')).toBe('203.0.113.7')
    expect(rateLimitKey('2001:db8:a:b:c:d:e:f')).toBe('2001:db8:a:b::/64')
    expect(rateLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(rateLimitKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(rateLimitKey('::1')).toBe('0:0:0:0::/64')
    expect(rateLimitKey('::ffff:198.51.100.4')).toBe('198.51.100.4')
    expect(rateLimitKey('::ffff:c633:6404')).toBe('198.51.100.4')
    expect(rateLimitKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64')
  })

  it('limit the browser and admin routes', async () => {
    const browser = []
    for (let i = 0; i < 4; i++) browser.push((await fetch(`${strict.url}/connect/${'a'.repeat(43)}`)).status)
    expect(browser).toEqual([404, 404, 404, 429])
    const admin = []
    for (let i = 0; i < 4; i++)
      admin.push(
        (await fetch(`${strict.url}/v1/service-clients`, { headers: { authorization: `Bearer ${adminToken}` } }))
          .status,
      )
    expect(admin).toEqual([200, 200, 200, 429])
  })
})

describe('token endpoint timing', () => {
  it('answers an unknown client id no faster than a wrong secret (both pay the same hash)', async () => {
    const broker = await startBroker({ env: { RATE_LIMIT_TOKEN: '0' } })
    try {
      const created = await fetch(`${broker.url}/v1/service-clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await broker.token()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'timed', scopes: ['tokens:read'] }),
      })
      const { clientId: generated } = (await created.json()) as { clientId: string }
      const time = async (clientId: string) => {
        const started = performance.now()
        const res = await fetch(`${broker.url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: clientId,
            client_secret: 'wrong-secret',
          }),
        })
        expect(res.status).toBe(401)
        return performance.now() - started
      }
      await time('warm-up')
      const unknown: number[] = []
      const known: number[] = []
      for (let i = 0; i < 6; i++) {
        unknown.push(await time(`unknown-${i}`))
        known.push(await time(generated))
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      // A relative check, not a speed assertion: the unknown id pays the fast hash against a dummy.
      const ratio = median(unknown) / median(known)
      expect(ratio).toBeGreaterThan(0.5)
      expect(ratio).toBeLessThan(2)
    } finally {
      await broker.close()
    }
  })
})
