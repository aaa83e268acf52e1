// Client authentication with a secret (RFC 6749 §2.3.1): the current secret, or the previous
// one during a rotation's overlap. An unknown id, or a client with keys only, costs the
// same fast-hash work as a wrong generated secret. Only operator-chosen secrets (and
// hashes from before the fast hash, until their client's next success) reach scrypt:
// those cannot be told from a generated secret by its shape (a former bootstrap client
// keeps its operator-chosen secret), so they are checked as stored.
import type { Logger } from 'pino'
import type { Database } from '../store/db.js'
import { type ClientSecrets, isFastHash } from './secrets.js'

export interface SecretColumns {
  id: string
  secretHash: string | null
  previousSecretHash: string | null
  previousSecretExpiresAt: Date | null
}

/** The secret columns of a client, null for an unknown id: one plain query, as refusals are the cheap path. */
export async function readSecretColumns(db: Database, clientId: string): Promise<SecretColumns | null> {
  const { rows } = await db.pool.query<SecretColumns>(
    `SELECT id, secret_hash AS "secretHash", previous_secret_hash AS "previousSecretHash",
       previous_secret_expires_at AS "previousSecretExpiresAt" FROM service_clients WHERE id = $1`,
    [clientId],
  )
  return rows[0] ?? null
}

/** Which of the row's secrets `secret` is; false for none (or no row). */
export async function secretMatch(
  secrets: ClientSecrets,
  row: SecretColumns | null,
  secret: string,
  now: Date,
): Promise<'current' | 'previous' | false> {
  if (!row?.secretHash) {
    await secrets.verifyNothing(secret)
    return false
  }
  if (await secrets.verify(secret, row.secretHash)) return 'current'
  const inOverlap = row.previousSecretHash && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now
  if (!inOverlap || !(await secrets.verify(secret, row.previousSecretHash!))) return false
  return 'previous'
}

/**
 * After a successful authentication with a slow hash of a generated secret: store its
 * fast hash instead (compare-and-set, so a rotation in between wins).
 */
export async function migrateToFastHash(
  db: Database,
  secrets: ClientSecrets,
  success: { row: SecretColumns; match: 'current' | 'previous'; secret: string },
  log: Logger,
): Promise<void> {
  const { row, match, secret } = success
  const column = match === 'current' ? 'secret_hash' : 'previous_secret_hash'
  const stored = match === 'current' ? row.secretHash : row.previousSecretHash
  if (!stored || isFastHash(stored)) return
  const { rowCount } = await db.pool.query(
    `UPDATE service_clients SET ${column} = $1 WHERE id = $2 AND ${column} = $3`,
    [await secrets.fastHash(secret), row.id, stored],
  )
  if (rowCount === 1) log.info({ clientId: row.id, column }, 'client secret hash moved to the fast hash')
}
