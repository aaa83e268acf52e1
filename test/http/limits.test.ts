// Rate limits on the token, browser and admin routes, keyed by client address; forwarded
// headers count only when TRUST_PROXY says so; and the token endpoint's answer takes as
// long for an unknown client id as for a wrong secret.
// (docs/security.md, checklist items 22, 25, 30)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, startBroker, type TestBroker } from '../support/broker.js'

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
  it('answers an unknown client id no faster than a wrong secret (both pay the scrypt cost)', async () => {
    const broker = await startBroker({ env: { RATE_LIMIT_TOKEN: '0' } })
    try {
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
        known.push(await time(BOOTSTRAP_ID))
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      // A relative check, not a speed assertion: without the dummy hash the unknown case would be ~40x faster.
      const ratio = median(unknown) / median(known)
      expect(ratio).toBeGreaterThan(0.5)
      expect(ratio).toBeLessThan(2)
    } finally {
      await broker.close()
    }
  })
})
