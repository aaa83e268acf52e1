// Encryption at rest (docs/security.md, checklist item 9): AES-256-GCM with a random nonce per value,
// the key id inside each ciphertext, associated data binding it to its row and field.
import { describe, expect, it } from 'vitest'
import {
  DecryptionError,
  deriveKeyId,
  fieldContext,
  generateEncryptionKey,
  Keyring,
  parseEncryptionKeys,
} from '../../src/store/encryption.js'

const k1 = generateEncryptionKey()
const k2 = generateEncryptionKey()

describe('Keyring', () => {
  const ring = new Keyring(parseEncryptionKeys(k1))
  const ctx = fieldContext('connections', 'conn_1', 'access_token')

  it('round-trips, with a fresh nonce each time and the key id in the text', () => {
    const a = ring.seal('secret-token', ctx)
    const b = ring.seal('secret-token', ctx)
    expect(a).not.toBe(b)
    expect(a.split('.')[1]).toBe(ring.primaryId)
    expect(a).not.toContain('secret-token')
    expect(ring.openString(a, ctx)).toBe('secret-token')
  })

  it('refuses a ciphertext moved to another row or field', () => {
    const sealed = ring.seal('secret-token', ctx)
    expect(() => ring.open(sealed, fieldContext('connections', 'conn_2', 'access_token'))).toThrow(DecryptionError)
    expect(() => ring.open(sealed, fieldContext('connections', 'conn_1', 'refresh_token'))).toThrow(DecryptionError)
  })

  it('refuses every single flipped bit', () => {
    const sealed = ring.seal('secret-token', ctx)
    const [v, id, nonce, body] = sealed.split('.') as [string, string, string, string]
    for (const part of ['nonce', 'body'] as const) {
      const bytes = Buffer.from(part === 'nonce' ? nonce : body, 'base64url')
      for (let i = 0; i < bytes.length * 8; i += 7) {
        const copy = Buffer.from(bytes)
        copy[i >> 3] = copy[i >> 3]! ^ (1 << (i & 7))
        const tampered =
          part === 'nonce' ? [v, id, copy.toString('base64url'), body] : [v, id, nonce, copy.toString('base64url')]
        expect(() => ring.open(tampered.join('.'), ctx)).toThrow(DecryptionError)
      }
    }
  })

  it('reads values sealed under an older key after rotation, and seals under the newest', () => {
    const old = new Keyring(parseEncryptionKeys(k1))
    const sealed = old.seal('v', ctx)
    const rotated = new Keyring(parseEncryptionKeys(`${k2},${k1}`))
    expect(rotated.openString(sealed, ctx)).toBe('v')
    expect(rotated.isPrimary(sealed)).toBe(false)
    expect(rotated.isPrimary(rotated.seal('v', ctx))).toBe(true)
    expect(() => new Keyring(parseEncryptionKeys(k2)).open(sealed, ctx)).toThrow(/unknown key id/)
  })
})

describe('parseEncryptionKeys', () => {
  it('accepts bare and named keys, standard and url-safe base64', () => {
    const keys = parseEncryptionKeys(`primary:${k1}, ${Buffer.from(k2, 'base64').toString('base64url')}`)
    expect(keys.map((k) => k.id)).toEqual(['primary', deriveKeyId(Buffer.from(k2, 'base64'))])
    expect(keys[1]!.id).toMatch(/^k[0-9a-f]{8}$/)
  })

  it('refuses short keys, non-base64, bad ids and duplicates without echoing the key', () => {
    const short = Buffer.alloc(16, 1).toString('base64')
    for (const [value, message] of [
      [short, /must decode to 32 bytes/],
      ['***', /not base64/],
      [`bad id:${k1}`, /id must be/],
      [`${k1},${k1}`, /same id/],
      [`${k1},`, /empty/],
    ] as const) {
      expect(() => parseEncryptionKeys(value)).toThrow(message)
      try {
        parseEncryptionKeys(value)
      } catch (err) {
        expect((err as Error).message).not.toContain(k1)
      }
    }
  })
})
