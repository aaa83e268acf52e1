// Seeding for the scale benchmark (scripts/bench-scale.ts): realistic connection rows,
// written straight into the database in batched multi-row INSERTs (unnest of arrays), with
// tokens sealed by the broker's own Keyring. The associated data of a sealed column names
// the row id (store/encryption.ts fieldContext), so every row's tokens are sealed for that
// row: a ciphertext reused across rows would fail to open. Also the slow token endpoint the
// refresher phase talks to.
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type pg from 'pg'
import { newConnectionId } from '../src/connections/connection-view.js'
import { fieldContext, type Keyring } from '../src/store/encryption.js'

const BATCH = 5_000
export const NAMESPACES = ['default', 'billing', 'crm', 'support', 'analytics', 'sales', 'ops', 'hr']
export const SCOPES = ['openid', 'offline_access', 'api:read']

/** The owner of the i-th seeded connection: most owners hold two connections. */
export function ownerOf(i: number): string {
  return `user-${String(Math.floor(i / 2)).padStart(8, '0')}`
}

/** Status of the i-th row: about 1 % revoked (no tokens) and 1 % needing its user again. */
function statusOf(i: number): string {
  return i % 100 === 37 ? 'revoked' : i % 100 === 73 ? 'reauthorization_required' : 'active'
}

const INSERT_SQL = `
  INSERT INTO connections (id, provider, owner_id, namespace, status, scopes, access_token, refresh_token,
                           token_type, expires_at, token_obtained_at, version, params, metadata, created_by,
                           created_at, updated_at, revoked_at)
  SELECT id, $2, owner_id, namespace, status, $3::text[], NULLIF(access_token, ''), NULLIF(refresh_token, ''), 'Bearer',
         now() + interval '1 hour' + (random() * interval '1 hour'), now(), 1, '{}'::jsonb,
         jsonb_build_object('sub', owner_id), 'bench', now() - random() * interval '365 days',
         now(), CASE WHEN status = 'revoked' THEN now() END
    FROM unnest($1::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
      AS r(id, owner_id, namespace, status, access_token, refresh_token)`

/**
 * Inserts connections `from` .. `from + count - 1` of provider `provider`; returns the ids
 * of the active ones (those a caller can get a token for).
 */
export async function seedConnections(
  db: pg.Client,
  keyring: Keyring,
  options: { provider: string; from: number; count: number },
): Promise<string[]> {
  const active: string[] = []
  for (let start = options.from; start < options.from + options.count; start += BATCH) {
    const end = Math.min(start + BATCH, options.from + options.count)
    const cols: string[][] = [[], [], [], [], [], []]
    for (let i = start; i < end; i++) {
      const id = newConnectionId()
      const status = statusOf(i)
      const live = status !== 'revoked'
      cols[0]!.push(id)
      cols[1]!.push(ownerOf(i))
      cols[2]!.push(NAMESPACES[i % NAMESPACES.length]!)
      cols[3]!.push(status)
      // Token sizes of common providers: a ~300-character access token, a ~100-character refresh token.
      cols[4]!.push(
        live
          ? keyring.seal(randomBytes(225).toString('base64url'), fieldContext('connections', id, 'access_token'))
          : '',
      )
      cols[5]!.push(
        live
          ? keyring.seal(randomBytes(75).toString('base64url'), fieldContext('connections', id, 'refresh_token'))
          : '',
      )
      if (status === 'active') active.push(id)
    }
    await db.query(INSERT_SQL, [cols[0], options.provider, SCOPES, cols[1], cols[2], cols[3], cols[4], cols[5]])
  }
  // As autovacuum would leave a table of that age: statistics, visibility map, hint bits.
  await db.query('VACUUM ANALYZE connections')
  return active
}

/**
 * Makes `ids` due for a proactive refresh within the next `windowSeconds`: tokens an hour
 * old, expiring at moments spread evenly over the window.
 */
export async function makeDue(db: pg.Client, ids: string[], windowSeconds: number): Promise<void> {
  await db.query(
    `UPDATE connections c SET token_obtained_at = now() - interval '1 hour',
            expires_at = now() + make_interval(secs => 5 + (u.n - 1) * ($2::float8 - 10) / $3)
       FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) WHERE c.id = u.id`,
    [ids, windowSeconds, ids.length],
  )
}

/** A provider token endpoint that answers every refresh after `delayMs`, with rotated tokens. */
export async function slowTokenEndpoint(
  delayMs: number,
): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      calls++
      setTimeout(() => {
        res.setHeader('content-type', 'application/json')
        res.setHeader('cache-control', 'no-store')
        res.end(
          JSON.stringify({
            access_token: randomBytes(225).toString('base64url'),
            refresh_token: randomBytes(75).toString('base64url'),
            token_type: 'Bearer',
            expires_in: 3600,
          }),
        )
      }, delayMs)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/token`,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
