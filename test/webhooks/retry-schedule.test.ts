// When a failed delivery is tried again: after the schedule's delay for that attempt,
// stretched by up to 20 % at random so that a receiver coming back is not met by every
// retry at once; after the last delay, the delivery is failed.
import { describe, expect, it } from 'vitest'
import { afterFailure } from '../../src/webhooks/delivery-worker.js'

describe('the retry schedule', () => {
  const schedule = [5, 300, 1800]

  it('waits each delay in turn, jittered by up to 20 %, then fails the delivery', () => {
    expect(afterFailure(1, schedule, () => 0)).toEqual({ status: 'pending', retryInSeconds: 5 })
    expect(afterFailure(2, schedule, () => 0.5)).toEqual({ status: 'pending', retryInSeconds: 330 })
    expect(afterFailure(3, schedule, () => 1)).toEqual({ status: 'pending', retryInSeconds: 2160 })
    // The first attempt and one after each of the three delays: the fourth failure is final.
    expect(afterFailure(4, schedule, () => 0)).toEqual({ status: 'failed' })
    expect(afterFailure(1, [], () => 0)).toEqual({ status: 'failed' })
  })

  it('spreads the retries of many deliveries that failed together', () => {
    const delays = Array.from({ length: 50 }, () => {
      const next = afterFailure(1, schedule)
      return next.status === 'pending' ? next.retryInSeconds : Number.NaN
    })
    for (const d of delays) expect(d >= 5 && d <= 6).toBe(true)
    expect(new Set(delays).size).toBeGreaterThan(40)
  })
})
