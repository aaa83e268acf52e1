// The key of the fast hash of generated client secrets: 32 random bytes generated into
// the database by whichever replica starts first, sealed under ENCRYPTION_KEY (and so
// re-sealed by key rotation, store/reencrypt.ts), read by every replica at start.
import { randomBytes } from 'node:crypto'
import type { Database } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'

/** One key for now; its id is part of every hash so another could sit beside it later. */
export const SECRET_HASH_KEY_ID = 'k1'

export async function loadSecretHashKey(db: Database, keyring: Keyring): Promise<{ id: string; key: Buffer }> {
  const id = SECRET_HASH_KEY_ID
  const context = fieldContext('secret_hash_keys', id, 'hash_key')
  // Replicas starting together: the first insert wins, the others read its key.
  await db.pool.query('INSERT INTO secret_hash_keys (id, hash_key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
    id,
    keyring.seal(randomBytes(32), context),
  ])
  const { rows } = await db.pool.query<{ hash_key: string }>('SELECT hash_key FROM secret_hash_keys WHERE id = $1', [
    id,
  ])
  try {
    return { id, key: keyring.open(rows[0]!.hash_key, context) }
  } catch (err) {
    throw new Error(
      `cannot decrypt the client-secret hash key: ${(err as Error).message}. Is ENCRYPTION_KEY ` +
        'the key this database was written with (old keys must stay listed until re-encryption)?',
    )
  }
}
