// schema.prisma and the hand-written migrations must describe the same database. The
// migrations are applied to an empty database, which is then introspected and compared
// with Prisma's own reading of the schema (DMMF): every table, column, type, nullability,
// default, primary key, index, unique constraint and foreign key, both ways.
import { readFileSync } from 'node:fs'
import internals from '@prisma/internals'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEALED_COLUMNS } from '../../src/store/reencrypt.js'
import { createDatabase } from '../support/db.js'

type DmmfField = {
  name: string
  dbName?: string | null
  kind: 'scalar' | 'object' | 'enum'
  type: string
  isList: boolean
  isRequired: boolean
  isId: boolean
  isUnique: boolean
  hasDefaultValue: boolean
  nativeType?: [string, string[]] | null
  relationFromFields?: string[]
  relationToFields?: string[]
  relationOnDelete?: string
}
type DmmfModel = { name: string; dbName: string | null; fields: DmmfField[] }
type DmmfIndex = {
  model: string
  type: 'id' | 'unique' | 'normal' | 'fulltext'
  fields: Array<{ name: string }>
  dbName?: string | null
}

const schemaText = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8')
let models: DmmfModel[]
let indexes: DmmfIndex[]
let enums: Array<{ name: string; dbName?: string | null; values: Array<{ name: string; dbName?: string | null }> }>
let client: pg.Client
let drop: () => Promise<void>

beforeAll(async () => {
  const dmmf = await internals.getDMMF({ datamodel: schemaText })
  models = dmmf.datamodel.models as unknown as DmmfModel[]
  indexes = dmmf.datamodel.indexes as unknown as DmmfIndex[]
  enums = dmmf.datamodel.enums as unknown as typeof enums
  const db = await createDatabase()
  drop = db.drop
  client = new pg.Client({ connectionString: db.url })
  await client.connect()
})
afterAll(async () => {
  await client?.end()
  await drop?.()
})

const tableOf = (m: DmmfModel) => m.dbName ?? m.name
const columnOf = (f: DmmfField) => f.dbName ?? f.name

function expectedType(f: DmmfField): string {
  const native = f.nativeType
  let base: string
  if (f.kind === 'enum') {
    const e = enums.find((x) => x.name === f.type)!
    base = e.dbName ?? e.name
  } else if (native) {
    const [name, args] = native
    base = {
      Timestamptz: `timestamp(${args[0] ?? 6}) with time zone`,
      Timestamp: `timestamp(${args[0] ?? 6}) without time zone`,
      VarChar: `character varying(${args[0]})`,
      Char: `character(${args[0]})`,
      Text: 'text',
      Uuid: 'uuid',
      SmallInt: 'smallint',
      Integer: 'integer',
      BigInt: 'bigint',
      JsonB: 'jsonb',
      Json: 'json',
      ByteA: 'bytea',
    }[name]!
    if (!base) throw new Error(`native type ${name} not mapped in this test`)
  } else {
    base = {
      String: 'text',
      Int: 'integer',
      BigInt: 'bigint',
      Boolean: 'boolean',
      Float: 'double precision',
      Decimal: 'numeric(65,30)',
      DateTime: 'timestamp(3) without time zone',
      Json: 'jsonb',
      Bytes: 'bytea',
    }[f.type]!
  }
  return f.isList ? `${base}[]` : base
}

/** Prisma's default constraint and index names. */
function defaultIndexName(table: string, columns: string[], type: DmmfIndex['type']): string {
  if (type === 'id') return `${table}_pkey`
  return `${table}_${columns.join('_')}_${type === 'unique' ? 'key' : 'idx'}`
}

describe('schema.prisma and prisma/migrations agree', () => {
  it('has the same tables', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE ' +
        `table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    )
    expect(rows.map((r) => r.table_name).sort()).toEqual(models.map(tableOf).sort())
  })

  it('has the same columns, types, nullability and defaults', async () => {
    for (const model of models) {
      const { rows } = await client.query<{ column: string; type: string; not_null: boolean; has_default: boolean }>(
        `SELECT a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
                a.atthasdef AS has_default
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
        [tableOf(model)],
      )
      const actual = Object.fromEntries(
        rows.map((r) => [r.column, { type: r.type, notNull: r.not_null, hasDefault: r.has_default }]),
      )
      const expected = Object.fromEntries(
        model.fields
          .filter((f) => f.kind !== 'object')
          .map((f) => [
            columnOf(f),
            // Prisma creates list columns without NOT NULL.
            { type: expectedType(f), notNull: f.isRequired && !f.isList, hasDefault: f.hasDefaultValue },
          ]),
      )
      expect(actual, tableOf(model)).toEqual(expected)
    }
  })

  it('has the same primary keys, unique constraints and indexes, with Prisma default names', async () => {
    const { rows } = await client.query<{
      table: string
      name: string
      unique: boolean
      primary: boolean
      columns: string[]
    }>(
      `SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
              array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                     ORDER BY k.ord)::text[] AS columns
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`,
    )
    const actual = rows
      .map((r) => `${r.table} ${r.name} ${r.primary ? 'id' : r.unique ? 'unique' : 'normal'} (${r.columns.join(',')})`)
      .sort()
    const expected: string[] = []
    for (const index of indexes) {
      const model = models.find((m) => m.name === index.model)!
      const table = tableOf(model)
      const columns = index.fields.map((f) => columnOf(model.fields.find((x) => x.name === f.name)!))
      expected.push(
        `${table} ${index.dbName ?? defaultIndexName(table, columns, index.type)} ${index.type} (${columns.join(',')})`,
      )
    }
    // Single-field @unique appears on the field, not always in `indexes`.
    for (const model of models) {
      for (const f of model.fields.filter((x) => x.isUnique)) {
        const line =
          `${tableOf(model)} ${defaultIndexName(tableOf(model), [columnOf(f)], 'unique')} ` + `unique (${columnOf(f)})`
        if (!expected.includes(line)) expected.push(line)
      }
    }
    expect(actual).toEqual(expected.sort())
  })

  it('has the same foreign keys', async () => {
    const { rows } = await client.query<{ def: string; table: string }>(
      'SELECT conrelid::regclass::text AS table, pg_get_constraintdef(oid) AS def ' +
        `FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
    )
    const actual = rows.map((r) => `${r.table}: ${r.def}`).sort()
    const expected: string[] = []
    for (const model of models) {
      for (const f of model.fields.filter((x) => x.kind === 'object' && x.relationFromFields?.length)) {
        const target = models.find((m) => m.name === f.type)!
        const from = f.relationFromFields!.map((n) => columnOf(model.fields.find((x) => x.name === n)!))
        const to = f.relationToFields!.map((n) => columnOf(target.fields.find((x) => x.name === n)!))
        const onDelete = {
          Cascade: ' ON DELETE CASCADE',
          SetNull: ' ON DELETE SET NULL',
          Restrict: ' ON DELETE RESTRICT',
          NoAction: '',
        }[f.relationOnDelete ?? 'Restrict']
        expected.push(
          `${tableOf(model)}: FOREIGN KEY (${from.join(', ')}) REFERENCES ` +
            `${tableOf(target)}(${to.join(', ')}) ON UPDATE CASCADE${onDelete}`,
        )
      }
    }
    expect(actual).toEqual(expected.sort())
  })

  it('lists every sealed column for re-encryption, and only those', () => {
    // Columns documented as sealed in schema.prisma carry the comment "// sealed".
    const sealedInSchema: string[] = []
    let model: DmmfModel | undefined
    for (const line of schemaText.split('\n')) {
      const m = /^model (\w+)/.exec(line)
      if (m) model = models.find((x) => x.name === m[1])
      const f = /^\s+(\w+)\s.*\/\/ sealed/.exec(line)
      if (f && model) sealedInSchema.push(`${tableOf(model)}.${columnOf(model.fields.find((x) => x.name === f[1])!)}`)
    }
    const listed = SEALED_COLUMNS.flatMap((s) => s.columns.map((c) => `${s.table}.${c}`))
    expect(listed.sort()).toEqual(sealedInSchema.sort())
  })
})
