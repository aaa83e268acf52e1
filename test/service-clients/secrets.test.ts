// Service-client secrets: scrypt hashes, checked in constant time, and never fooled by
// scrypt's own key padding.
import { scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateClientSecret, hashSecret, verifySecret } from '../../src/service-clients/secrets.js'

describe('verifySecret', () => {
  it('accepts the secret and refuses any other', async () => {
    const secret = generateClientSecret()
    const stored = await hashSecret(secret)
    expect(stored).toMatch(/^scrypt\$15\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
    expect(await verifySecret(secret, stored)).toBe(true)
    expect(await verifySecret(`${secret}x`, stored)).toBe(false)
    expect(await verifySecret(secret.slice(0, -1), stored)).toBe(false)
    expect(await verifySecret('', stored)).toBe(false)
    expect(await verifySecret(secret, 'not-a-hash')).toBe(false)
  })

  it('refuses the secret with NULs appended, which scrypt alone would accept', async () => {
    // The reason for the check: HMAC (inside scrypt's PBKDF2) zero-pads short keys.
    const kdf = (s: string) => scryptSync(s, 'salt', 32, { N: 1024 }).toString('hex')
    expect(kdf('secret\0')).toBe(kdf('secret'))

    const secret = generateClientSecret()
    const stored = await hashSecret(secret)
    expect(await verifySecret(`${secret}\0`, stored)).toBe(false)
    expect(await verifySecret(`${secret}\0\0\0`, stored)).toBe(false)
  })
})
