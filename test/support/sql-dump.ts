// A plain-text dump of every row of every table of a database, read through SQL (no
// pg_dump on the machine needed): what the secrets checks search for plaintext secrets.
//
//   -- table public.connect_sessions
//   {"id":"cs_…","code_verifier":"v1.…",…}      one row_to_json line per row
//
// JSON keeps every value on one line, exactly as stored: text as is (only quotes,
// backslashes and control characters escaped), bytea as \x hex, as pg_dump shows them.
import pg from 'pg'

export async function dumpTables(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const tables = await client.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
       ORDER BY 1, 2`,
    )
    const parts: string[] = []
    for (const { schema, name } of tables.rows) {
      const qualified = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`
      const rows = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${qualified} t`)
      parts.push(`${tableHeader(`${schema}.${name}`)}\n${rows.rows.map((r) => `${r.row}\n`).join('')}`)
    }
    return parts.join('')
  } finally {
    await client.end()
  }
}

export const tableHeader = (qualifiedName: string) => `-- table ${qualifiedName}`

/** The rows of one table in a dump, parsed. */
export function rowsOf(dump: string, qualifiedName: string): Record<string, unknown>[] {
  const text = `\n${dump}`
  const at = text.indexOf(`\n${tableHeader(qualifiedName)}\n`)
  if (at < 0) return []
  const rows: Record<string, unknown>[] = []
  for (const line of text.slice(at + tableHeader(qualifiedName).length + 2).split('\n')) {
    if (!line.startsWith('{')) break
    rows.push(JSON.parse(line) as Record<string, unknown>)
  }
  return rows
}
