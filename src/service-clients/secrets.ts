// Service-client secrets, stored only as hashes and compared in constant time.
// (docs/security.md, checklist item 11) A secret the broker generates holds 256 random
// bits: a keyed fast hash (HMAC-SHA256 under a key sealed in the database) verifies it in
// microseconds, so a wrong guess costs the broker nothing worth attacking. An operator-chosen
// secret (the bootstrap client's) may be guessable, so it keeps scrypt (slow-kdf.ts).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { SlowKdf } from './slow-kdf.js'

const N = 2 ** 15
const r = 8
const p = 1
const KEY_LENGTH = 32
const MAXMEM = 128 * N * r * 2
const FAST = 'hmac-sha256'

export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function generateClientId(): string {
  return `svc_${randomBytes(12).toString('base64url')}`
}

export function isFastHash(stored: string): boolean {
  return stored.startsWith(`${FAST}$`)
}

export type HashKey = { id: string; key: Buffer }

export class ClientSecrets {
  private key: HashKey | undefined
  private loading: Promise<HashKey> | undefined
  /** A fast hash of a secret nobody knows, for unknown ids (same cost as a wrong secret). */
  private dummy = ''

  /** `loadKey` reads (or creates) the hash key: secret-hash-key.ts. */
  constructor(
    private loadKey: () => Promise<HashKey>,
    readonly kdf = new SlowKdf(),
  ) {}

  /** Loads the hash key once; a failed load is tried again on the next call. */
  async ready(): Promise<void> {
    if (this.key) return
    this.loading ??= this.loadKey().finally(() => (this.loading = undefined))
    const key = await this.loading
    this.key ??= key
    this.dummy = this.mac(generateClientSecret())
  }

  /** `hmac-sha256$<key id>$<mac>` (base64url): for secrets the broker generated. */
  async fastHash(secret: string): Promise<string> {
    await this.ready()
    return this.mac(secret)
  }

  private mac(secret: string): string {
    const { id, key } = this.requireKey()
    return [FAST, id, createHmac('sha256', key).update(secret, 'utf8').digest('base64url')].join('$')
  }

  /** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url): for operator-chosen secrets. */
  async slowHash(secret: string): Promise<string> {
    const salt = randomBytes(16)
    const hash = await this.kdf.scrypt({ secret, salt, keyLength: KEY_LENGTH, options: { N, r, p, maxmem: MAXMEM } })
    return ['scrypt', Math.log2(N), r, p, salt.toString('base64url'), hash.toString('base64url')].join('$')
  }

  /** Checks a secret against either kind of hash. */
  async verify(secret: string, stored: string): Promise<boolean> {
    // scrypt's inner HMAC pads short keys with zero bytes, so "s" and "s\0" hash alike: a
    // secret with a NUL is never one we issued or accepted.
    if (secret.includes('\0')) return false
    if (isFastHash(stored)) {
      await this.ready()
      return this.verifyFast(secret, stored)
    }
    const parts = stored.split('$')
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false
    const [, logN, rr, pp, salt, hash] = parts as [string, string, string, string, string, string]
    const expected = Buffer.from(hash, 'base64url')
    const n = 2 ** Number(logN)
    const options = { N: n, r: Number(rr), p: Number(pp), maxmem: 128 * n * Number(rr) * 2 }
    const actual = await this.kdf.scrypt({
      secret,
      salt: Buffer.from(salt, 'base64url'),
      keyLength: KEY_LENGTH,
      options,
    })
    return actual.length === expected.length && timingSafeEqual(actual, expected)
  }

  /** The work of a wrong generated secret, for an id that has no secret (or does not exist). */
  async verifyNothing(secret: string): Promise<void> {
    await this.ready()
    this.verifyFast(secret, this.dummy)
  }

  private verifyFast(secret: string, stored: string): boolean {
    const [, id, mac] = stored.split('$')
    const expected = Buffer.from(mac ?? '', 'base64url')
    const key = this.requireKey()
    const actual = createHmac('sha256', key.key).update(secret, 'utf8').digest()
    // The format is public: only the MAC's bytes need a constant-time comparison.
    return actual.length === expected.length && timingSafeEqual(actual, expected) && id === key.id
  }

  private requireKey(): HashKey {
    if (!this.key) throw new Error('the secret hash key is not loaded')
    return this.key
  }
}

/** rotate-secret: how long the previous secret keeps working beside the new one. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 3600
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 3600
