// Encryption at rest: AES-256-GCM, a random 96-bit nonce per value, the key id inside
// every ciphertext, and associated data that binds a ciphertext to its row and field, so
// a value copied into another row or column fails to decrypt. (docs/security.md, checklist item 9)
//
// Sealed format (ASCII, one column): v1.<keyId>.<nonce>.<ciphertext+tag>, base64url parts.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { BrokerError } from '../errors.js'

export interface EncryptionKey {
  id: string
  key: Buffer
}

export class DecryptionError extends BrokerError<'secret_unreadable'> {
  constructor(message: string) {
    super('secret_unreadable', message)
  }
}

const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/

/**
 * ENCRYPTION_KEY holds one key or several, comma-separated, newest first: the first
 * encrypts, all decrypt. Each is `base64` (its id derived from a hash of the key) or
 * `id:base64` (an id of your choosing). Each key is 32 bytes.
 */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  const keys: EncryptionKey[] = []
  for (const [index, item] of value
    .split(',')
    .map((s) => s.trim())
    .entries()) {
    if (!item) throw new Error(`key #${index + 1} is empty`)
    const colon = item.indexOf(':')
    const id = colon === -1 ? undefined : item.slice(0, colon)
    const encoded = colon === -1 ? item : item.slice(colon + 1)
    if (id !== undefined && !KEY_ID_PATTERN.test(id)) {
      throw new Error(`key #${index + 1}: the id must be 1-32 characters among A-Z a-z 0-9 _ -`)
    }
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new Error(`key #${index + 1} is not base64`)
    const key = Buffer.from(encoded, encoded.includes('-') || encoded.includes('_') ? 'base64url' : 'base64')
    if (key.length !== 32) throw new Error(`key #${index + 1} must decode to 32 bytes (got ${key.length})`)
    keys.push({ id: id ?? deriveKeyId(key), key })
  }
  const ids = keys.map((k) => k.id)
  if (new Set(ids).size !== ids.length) throw new Error('two keys have the same id')
  return keys
}

/** A stable, non-reversible name for a key: `k` + 8 hex characters of SHA-256(label ‖ key). */
export function deriveKeyId(key: Buffer): string {
  return `k${createHash('sha256').update('oauth-broker key id\0').update(key).digest('hex').slice(0, 8)}`
}

export function generateEncryptionKey(): string {
  return randomBytes(32).toString('base64')
}

/** Associated data for a sealed column: table, row id and column name. */
export function fieldContext(table: string, rowId: string, column: string): string {
  return `${table}/${rowId}/${column}`
}

export class Keyring {
  private readonly byId: Map<string, Buffer>
  readonly primaryId: string

  constructor(keys: EncryptionKey[]) {
    if (keys.length === 0) throw new Error('at least one encryption key is required')
    this.byId = new Map(keys.map((k) => [k.id, k.key]))
    this.primaryId = keys[0]!.id
  }

  seal(plaintext: string | Buffer, context: string): string {
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.byId.get(this.primaryId)!, nonce)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    return `v1.${this.primaryId}.${nonce.toString('base64url')}.${body.toString('base64url')}`
  }

  open(sealed: string, context: string): Buffer {
    const parts = sealed.split('.')
    if (parts.length !== 4 || parts[0] !== 'v1') throw new DecryptionError('not a sealed value')
    const key = this.byId.get(parts[1]!)
    if (!key) throw new DecryptionError(`sealed with unknown key id ${parts[1]}`)
    const nonce = Buffer.from(parts[2]!, 'base64url')
    const body = Buffer.from(parts[3]!, 'base64url')
    if (nonce.length !== 12 || body.length < 16) throw new DecryptionError('malformed sealed value')
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce)
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(body.subarray(body.length - 16))
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()])
    } catch {
      throw new DecryptionError('ciphertext failed authentication (tampered, or bound to another row)')
    }
  }

  openString(sealed: string, context: string): string {
    return this.open(sealed, context).toString('utf8')
  }

  /** The key id a sealed value names, without decrypting it. */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split('.')[1]
  }

  isPrimary(sealed: string): boolean {
    return Keyring.keyIdOf(sealed) === this.primaryId
  }
}
