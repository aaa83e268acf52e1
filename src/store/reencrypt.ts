// Re-encrypts every sealed column under the newest encryption key, row by row, each row
// in its own short transaction under a row lock, so the broker keeps serving (and
// refreshing) while it runs. After it reports zero rows left, older keys can be removed
// from ENCRYPTION_KEY.
import type { Logger } from 'pino'
import type { Database } from './db.js'
import { fieldContext, type Keyring } from './encryption.js'
import { notifyChange, type Topic } from './changes.js'
import { SECURITY_EVENTS } from '../security-events.js'

/** Every sealed column of the schema. A test checks this list against schema.prisma. */
export const SEALED_COLUMNS: Array<{ table: string; id: string; columns: string[]; topic?: Topic }> = [
  { table: 'signing_keys', id: 'kid', columns: ['private_key'], topic: 'signing_key' },
  { table: 'connections', id: 'id', columns: ['access_token', 'refresh_token'], topic: 'connection' },
  { table: 'connect_attempts', id: 'state_hash', columns: ['code_verifier'] },
  { table: 'pending_grants', id: 'connection_id', columns: ['tokens'] },
  { table: 'revocation_queue', id: 'id', columns: ['access_token', 'refresh_token'] },
  { table: 'secret_hash_keys', id: 'id', columns: ['hash_key'] },
  { table: 'webhook_endpoints', id: 'id', columns: ['secret', 'previous_secret'] },
]

export async function reencryptAll(db: Database, keyring: Keyring, log: Logger): Promise<{ rows: number }> {
  let rows = 0
  for (const spec of SEALED_COLUMNS) {
    const stale = spec.columns.map((c) => `(${c} IS NOT NULL AND split_part(${c}, '.', 2) <> $1)`).join(' OR ')
    const { rows: ids } = await db.pool.query<{ id: string }>(
      `SELECT ${spec.id} AS id FROM ${spec.table} WHERE ${stale}`,
      [keyring.primaryId],
    )
    for (const { id } of ids) {
      const client = await db.pool.connect()
      try {
        await client.query('BEGIN')
        const { rows: locked } = await client.query<Record<string, string | null>>(
          `SELECT ${spec.columns.join(', ')} FROM ${spec.table} WHERE ${spec.id} = $1 FOR UPDATE`,
          [id],
        )
        const row = locked[0]
        if (row) {
          const updates: string[] = []
          const values: unknown[] = [id]
          for (const column of spec.columns) {
            const sealed = row[column]
            if (sealed == null || keyring.isPrimary(sealed)) continue
            const context = fieldContext(spec.table, id, column)
            values.push(keyring.seal(keyring.open(sealed, context), context))
            updates.push(`${column} = $${values.length}`)
          }
          if (updates.length) {
            await client.query(`UPDATE ${spec.table} SET ${updates.join(', ')} WHERE ${spec.id} = $1`, values)
            if (spec.topic) await notifyChange(client, { topic: spec.topic, id })
            rows++
          }
        }
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw new Error(`re-encryption of ${spec.table} ${id} failed: ${(err as Error).message}`)
      } finally {
        client.release()
      }
    }
    log.info(
      { event: SECURITY_EVENTS.reencrypted, table: spec.table, rows: ids.length, keyId: keyring.primaryId },
      're-encrypted under the newest key',
    )
  }
  return { rows }
}

/** How many sealed values still name an older key. */
export async function countStale(db: Database, keyring: Keyring): Promise<number> {
  let total = 0
  for (const spec of SEALED_COLUMNS) {
    for (const c of spec.columns) {
      const { rows } = await db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${spec.table} WHERE ${c} IS NOT NULL AND split_part(${c}, '.', 2) <> $1`,
        [keyring.primaryId],
      )
      total += Number(rows[0]!.n)
    }
  }
  return total
}
