// Service-client secrets: generated ones under a keyed fast hash, operator-chosen ones
// under scrypt (in worker threads), all checked in constant time and never fooled by
// scrypt's own key padding.
import { randomBytes, scryptSync } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { ClientSecrets, generateClientSecret, isFastHash } from '../../src/service-clients/secrets.js'

const key = randomBytes(32)
const secrets = new ClientSecrets(async () => ({ id: 'k1', key }))
afterAll(() => secrets.kdf.close())

describe('the fast hash (generated secrets)', () => {
  it('accepts the secret and refuses any other, without scrypt', async () => {
    const secret = generateClientSecret()
    const stored = await secrets.fastHash(secret)
    expect(stored).toMatch(/^hmac-sha256\$k1\$[\w-]{43}$/)
    expect(isFastHash(stored)).toBe(true)
    const runs = secrets.kdf.runs
    expect(await secrets.verify(secret, stored)).toBe(true)
    expect(await secrets.verify(`${secret}x`, stored)).toBe(false)
    expect(await secrets.verify(secret.slice(0, -1), stored)).toBe(false)
    expect(await secrets.verify('', stored)).toBe(false)
    expect(await secrets.verify(`${secret}\0`, stored)).toBe(false)
    await secrets.verifyNothing(secret)
    expect(secrets.kdf.runs).toBe(runs)
  })

  it('is keyed: another key, or another key id, refuses the same secret', async () => {
    const secret = generateClientSecret()
    const stored = await secrets.fastHash(secret)
    const other = new ClientSecrets(async () => ({ id: 'k1', key: randomBytes(32) }))
    expect(await other.verify(secret, stored)).toBe(false)
    expect(await secrets.verify(secret, stored.replace('$k1$', '$k2$'))).toBe(false)
  })

  it('loads its key once, and again after a failed load', async () => {
    let loads = 0
    const flaky = new ClientSecrets(async () => {
      loads++
      if (loads === 1) throw new Error('database down')
      return { id: 'k1', key }
    })
    await expect(flaky.fastHash('x')).rejects.toThrow('database down')
    const [a, b] = await Promise.all([flaky.fastHash('x'), flaky.fastHash('x')])
    expect(a).toBe(b)
    expect(a).toBe(await secrets.fastHash('x'))
    expect(loads).toBe(2)
  })
})

describe('the slow hash (operator-chosen secrets)', () => {
  it('accepts the secret and refuses any other, each check one scrypt run in a worker', async () => {
    const secret = 'an operator chose this one'
    const stored = await secrets.slowHash(secret)
    expect(stored).toMatch(/^scrypt\$15\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
    const runs = secrets.kdf.runs
    expect(await secrets.verify(secret, stored)).toBe(true)
    expect(await secrets.verify(`${secret}x`, stored)).toBe(false)
    expect(await secrets.verify(secret, 'not-a-hash')).toBe(false)
    expect(secrets.kdf.runs).toBe(runs + 2)
  })

  it('matches node:crypto scrypt (the worker computes the same hash)', async () => {
    const stored = await secrets.slowHash('s3cret')
    const [, , , , salt, hash] = stored.split('$')
    const expected = scryptSync('s3cret', Buffer.from(salt!, 'base64url'), 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 2 ** 26,
    })
    expect(hash).toBe(expected.toString('base64url'))
  })

  it('runs at most two at once and serves every caller', async () => {
    const stored = await secrets.slowHash('x')
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => secrets.verify(i === 0 ? 'x' : 'y', stored)))
    expect(results).toEqual([true, false, false, false, false, false])
    expect((secrets.kdf as unknown as { workers: number }).workers).toBeLessThanOrEqual(2)
  })

  it('refuses the secret with NULs appended, which scrypt alone would accept', async () => {
    // The reason for the check: HMAC (inside scrypt's PBKDF2) zero-pads short keys.
    const kdf = (s: string) => scryptSync(s, 'salt', 32, { N: 1024 }).toString('hex')
    expect(kdf('secret\0')).toBe(kdf('secret'))

    const secret = generateClientSecret()
    const stored = await secrets.slowHash(secret)
    expect(await secrets.verify(`${secret}\0`, stored)).toBe(false)
    expect(await secrets.verify(`${secret}\0\0\0`, stored)).toBe(false)
  })
})
