// Client authentication with a secret (RFC 6749 §2.3.1): the current secret, or the previous
// one during a rotation's overlap. An unknown id, or a client with keys only, costs the same
// scrypt work as a wrong secret, so the answer's timing does not reveal which ids exist.
import { unknownClientHash, verifySecret } from './secrets.js'

interface SecretColumns {
  secretHash: string | null
  previousSecretHash: string | null
  previousSecretExpiresAt: Date | null
}

/** Which of the row's secrets `secret` is; false for none (or no row). */
export async function secretMatch(
  row: SecretColumns | null,
  secret: string,
  now: Date,
): Promise<'current' | 'previous' | false> {
  if (row?.secretHash && (await verifySecret(secret, row.secretHash))) return 'current'
  if (!row?.secretHash) await verifySecret(secret, await unknownClientHash())
  const inOverlap = row?.previousSecretHash && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now
  if (!inOverlap || !(await verifySecret(secret, row.previousSecretHash!))) return false
  return 'previous'
}
