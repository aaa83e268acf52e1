// Service-client secrets: generated from 32 random bytes, stored only as a scrypt hash,
// compared in constant time. (docs/security.md, checklist item 11) Hashing costs ~40 ms on purpose: it
// happens once per broker-token request, never per API call.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const N = 2 ** 15
const r = 8
const p = 1
const KEY_LENGTH = 32
const MAXMEM = 128 * N * r * 2

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function generateClientId(): string {
  return `svc_${randomBytes(12).toString('base64url')}`
}

/** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scryptAsync(secret, salt, { N, r, p, maxmem: MAXMEM })
  return ['scrypt', Math.log2(N), r, p, salt.toString('base64url'), hash.toString('base64url')].join('$')
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  // scrypt's inner HMAC pads short keys with zero bytes, so "s" and "s\0" hash alike: a
  // secret with a NUL is never one we issued or accepted.
  if (secret.includes('\0')) return false
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, logN, rr, pp, salt, hash] = parts as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64url')
  const n = 2 ** Number(logN)
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'), {
    N: n,
    r: Number(rr),
    p: Number(pp),
    maxmem: 128 * n * Number(rr) * 2,
  })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/**
 * A hash of a random secret nobody knows. Verifying against it when a client id is
 * unknown makes that answer take as long as a wrong secret. (docs/security.md, checklist item 22)
 */
let dummyHash: Promise<string> | undefined
export function unknownClientHash(): Promise<string> {
  dummyHash ??= hashSecret(randomBytes(32).toString('base64url'))
  return dummyHash
}

/** rotate-secret: how long the previous secret keeps working beside the new one. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 3600
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 3600
