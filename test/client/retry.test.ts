// The client's retry rule for 503 and 429: never sooner than Retry-After (seconds or an
// HTTP date), at most half again and 1 s later (jitter), none past maxRetries or when the
// wait would exceed maxDelayMs, and never for other statuses.
import { describe, expect, it } from 'vitest'
import { retryDelay } from '../../client/src/transport.js'

const policy = { maxRetries: 3, maxDelayMs: 10_000 }
const answer = (status: number, retryAfter?: string) =>
  new Response(null, { status, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter } })

describe('retryDelay', () => {
  it('waits at least Retry-After, plus bounded jitter', () => {
    const waits = Array.from({ length: 200 }, () => retryDelay(answer(503, '2'), 0, policy)!)
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(2000)
    expect(Math.max(...waits)).toBeLessThanOrEqual(3000)
    // Jitter: not all the same.
    expect(new Set(waits).size).toBeGreaterThan(100)
    const big = Array.from({ length: 50 }, () => retryDelay(answer(429, '8'), 0, policy)!)
    expect(Math.min(...big)).toBeGreaterThanOrEqual(8000)
    expect(Math.max(...big)).toBeLessThanOrEqual(9000)
  })

  it('reads an HTTP-date Retry-After, and backs off exponentially without one', () => {
    const at = new Date(Date.now() + 3000).toUTCString()
    expect(retryDelay(answer(503, at), 0, policy)).toBeGreaterThan(1000)
    expect(retryDelay(answer(503), 0, policy)).toBeGreaterThanOrEqual(250)
    expect(retryDelay(answer(503), 2, policy)).toBeGreaterThanOrEqual(1000)
  })

  it('gives up past maxRetries, beyond maxDelayMs, and for anything but 503 and 429', () => {
    expect(retryDelay(answer(503, '1'), 3, policy)).toBeUndefined()
    expect(retryDelay(answer(503, '11'), 0, policy)).toBeUndefined()
    expect(retryDelay(answer(503, '1'), 0, { maxRetries: 0, maxDelayMs: 10_000 })).toBeUndefined()
    for (const status of [400, 401, 404, 409, 500, 502])
      expect(retryDelay(answer(status, '1'), 0, policy)).toBeUndefined()
  })
})
