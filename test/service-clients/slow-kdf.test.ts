// scrypt for operator-chosen secrets (service-clients/slow-kdf.ts): at most `concurrency`
// runs at once (2 by default), the rest queue; and the runs happen in worker threads, so
// the libuv threadpool that DNS lookups for provider calls share stays free: a threadpool
// task started while eight scrypt runs are under way finishes before any of them. The
// same task queued behind eight crypto.scrypt calls (the threadpool) does not: the check
// can fail.
import { pbkdf2, scrypt, scryptSync } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { SlowKdf, type ScryptJob } from '../../src/service-clients/slow-kdf.js'

// The production cost: 32 MiB, tens of milliseconds a run.
const options = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const job = (i: number): ScryptJob => ({
  secret: `secret-${i}`,
  salt: Buffer.from(`salt-${i}`),
  keyLength: 32,
  options,
})
let kdf: SlowKdf | undefined
afterEach(() => kdf?.close())

/** A tiny task on the libuv threadpool; resolves with the time it finished. */
const threadpoolTask = () =>
  new Promise<number>((resolve, reject) =>
    pbkdf2('x', 'y', 1, 16, 'sha256', (err) => (err ? reject(err) : resolve(performance.now()))),
  )

/** Runs `jobs` through `run`, with the most that ran at once and when the first ended. */
async function measure(jobs: ScryptJob[], start: (j: ScryptJob) => Promise<Buffer>) {
  let firstEnd = Infinity
  const keys = await Promise.all(
    jobs.map((j) =>
      start(j).then((key) => {
        firstEnd = Math.min(firstEnd, performance.now())
        return key
      }),
    ),
  )
  return { keys, firstEnd }
}

describe('the slow KDF', () => {
  it('runs at most two scrypt at once by default; the rest wait, and every key is right', async () => {
    kdf = new SlowKdf()
    // At each run's start: the runs already in a worker (its job map), and this one.
    const inWorkers = () => (kdf as unknown as { jobs: Map<unknown, unknown> }).jobs.size
    let most = 0
    kdf.onRun = () => {
      most = Math.max(most, inWorkers() + 1)
    }
    const jobs = Array.from({ length: 6 }, (_, i) => job(i))
    const keys = await Promise.all(jobs.map((j) => kdf!.scrypt(j)))
    expect(most).toBe(2)
    expect(kdf.runs).toBe(6)
    for (const [i, j] of jobs.entries())
      expect(keys[i]!.equals(scryptSync(j.secret, j.salt, j.keyLength, j.options))).toBe(true)
  })

  it('keeps the libuv threadpool free: a threadpool task finishes before any of eight runs', async () => {
    kdf = new SlowKdf(8)
    const jobs = Array.from({ length: 8 }, (_, i) => job(i))
    await Promise.all(jobs.map((j) => kdf!.scrypt(j))) // the eight workers exist and are idle
    const runs = measure(jobs, (j) => kdf!.scrypt(j))
    await new Promise((r) => setTimeout(r, 5))
    const task = await threadpoolTask()
    expect(task).toBeLessThan((await runs).firstEnd)
  })

  it('shows the difference: behind eight crypto.scrypt calls (the threadpool), the same task waits', async () => {
    const viaThreadpool = (j: ScryptJob) =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(j.secret, j.salt, j.keyLength, j.options, (err, key) => (err ? reject(err) : resolve(key))),
      )
    const runs = measure(
      Array.from({ length: 8 }, (_, i) => job(i)),
      viaThreadpool,
    )
    const task = await threadpoolTask()
    expect(task).toBeGreaterThan((await runs).firstEnd)
  })
})
