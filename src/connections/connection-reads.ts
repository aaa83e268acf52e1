// The two reads on the request paths that scale with the table: one row by id (a token for
// a connection the cache does not hold) and a page of the list. They go straight through
// the pg pool: Prisma's query compiler costs about 0.7 ms of CPU per query on top of the
// database's own ~0.1 ms, which made a cache miss cost five times a hit (docs/performance.md).
// Writes stay with Prisma in the connection store. Column names follow the schema's @map
// convention (owner_id ↔ ownerId); test/connections/connection-reads.test.ts checks that
// a row read here equals Prisma's.
import type pg from 'pg'
import type { ConnectionRow as Row, ViewedRow as ListedRow } from './connection-view.js'

export interface ListFilter {
  provider?: string
  ownerId?: string
  status?: string
  /** Undefined: every namespace. */
  namespaces: string[] | undefined
  cursor?: string
  limit: number
}

const camelNames = new Map<string, string>()

/** `owner_id` → `ownerId`, memoized (a handful of column names). */
function camel(column: string): string {
  let name = camelNames.get(column)
  if (name === undefined) {
    name = column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
    camelNames.set(column, name)
  }
  return name
}

function toRow<T>(raw: Record<string, unknown>): T {
  const row: Record<string, unknown> = {}
  for (const key in raw) row[camel(key)] = raw[key]
  return row as T
}

export async function readConnection(pool: pg.Pool, id: string): Promise<Row | undefined> {
  // Not a named (prepared) statement: `SELECT *` in a plan cached by a session fails once a
  // newer replica's migration adds a column, which a rolling deploy does.
  const { rows } = await pool.query<Record<string, unknown>>('SELECT * FROM connections WHERE id = $1', [id])
  return rows[0] ? toRow<Row>(rows[0]) : undefined
}

/**
 * A page ordered by id (keyset: `cursor` is the last id of the previous page), reading
 * about `limit` rows whatever the table's size: the primary key, or (owner_id, id), gives
 * the order. A caller's namespaces are read one by one on (namespace, id), at most `limit`
 * rows each, and merged: an IN list would make PostgreSQL walk the primary key and skip
 * every row of the other namespaces, or sort all of the caller's.
 */
export async function listConnections(
  pool: pg.Pool,
  filter: ListFilter,
): Promise<{ items: ListedRow[]; nextCursor: string | null }> {
  const where: string[] = []
  const params: unknown[] = []
  const add = (sql: string, value: unknown) => {
    params.push(value)
    where.push(sql.replace('?', `$${params.length}`))
  }
  if (filter.provider !== undefined) add('provider = ?', filter.provider)
  if (filter.ownerId !== undefined) add('owner_id = ?', filter.ownerId)
  if (filter.status !== undefined) add('status = ?', filter.status)
  else where.push(`status <> 'revoked'`)
  if (filter.cursor !== undefined) add('id > ?', filter.cursor)
  params.push(filter.limit + 1)
  const limit = `$${params.length}`
  let sql = `SELECT ${LISTED_COLUMNS} FROM connections WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${limit}`
  if (filter.namespaces !== undefined) {
    params.push(filter.namespaces)
    sql =
      `SELECT page.* FROM (SELECT DISTINCT unnest($${params.length}::text[])) AS held(namespace), LATERAL (` +
      sql.replace(' WHERE ', ' WHERE namespace = held.namespace AND ') +
      `) AS page ORDER BY page.id LIMIT ${limit}`
  }
  const { rows } = await pool.query<Record<string, unknown>>(sql, params)
  const items = rows.slice(0, filter.limit).map((r) => toRow<ListedRow>(r))
  return { items, nextCursor: rows.length > filter.limit ? items[items.length - 1]!.id : null }
}

/** ISO 8601 in UTC with milliseconds, as Date.prototype.toISOString writes a timestamptz(3). */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`

/**
 * What the view shows (connection-view.ts ViewedRow): never the sealed tokens. Timestamps
 * come formatted: parsing four dates per row into Date objects, only to format them
 * again, was a fifth of a list page's CPU (docs/performance.md).
 */
const LISTED_COLUMNS = `id, provider, owner_id, namespace, status, scopes, ${iso('expires_at')}, ${iso('created_at')},
  ${iso('updated_at')}, ${iso('last_refreshed_at')}, last_error_code, metadata, params`
