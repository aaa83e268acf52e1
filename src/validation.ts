// JSON Schema validation shared by configuration and HTTP routes: one strict Ajv set-up
// (unknown properties are errors, never silently removed) and readable error paths.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'

type DataValidationCxt = NonNullable<Parameters<ValidateFunction>[1]>
import addFormatsModule from 'ajv-formats'
import { Type, type TSchema, type TUnsafe } from 'typebox'

// ajv-formats ships CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    strict: true,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: false,
    ...options,
  })
  addFormats(ajv)
  // Documentation-only keywords that @fastify/swagger reads.
  ajv.addKeyword({ keyword: 'example' })
  return ajv
}

/** NUL (PostgreSQL text cannot hold it) or an unpaired UTF-16 surrogate (not Unicode; jsonb refuses it). */
const ILL_FORMED = /[\0\p{Cs}]/u

/** The JSON pointer of the first string or key that is not storable text, or number that is not finite. */
function illFormed(value: unknown, path: string): { path: string; message: string } | undefined {
  if (typeof value === 'string')
    return ILL_FORMED.test(value)
      ? { path, message: 'must not contain NUL or unpaired surrogate characters' }
      : undefined
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : { path, message: 'must be a finite number' }
  if (value === null || typeof value !== 'object') return undefined
  for (const [key, item] of Object.entries(value)) {
    const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
    if (ILL_FORMED.test(key)) return { path: at, message: 'has a name with NUL or unpaired surrogate characters' }
    const found = illFormed(item, at)
    if (found) return found
  }
  return undefined
}

/**
 * A compiled schema plus what JSON Schema cannot say about request input: every string is
 * text PostgreSQL can store, and every number is finite (Ajv's type coercion turns
 * `limit=1e400` into Infinity, which then passes `maximum`). Checked after the schema, on
 * the coerced value, so a bad value is a 400 naming the field instead of a database error.
 */
export function withWellFormedInput(validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown, context?: DataValidationCxt) => {
    if (!validate(data, context)) {
      wrapped.errors = validate.errors
      return false
    }
    // Coercion may have replaced the root value in its parent.
    const value = context ? (context.parentData as Record<string | number, unknown>)[context.parentDataProperty] : data
    const found = illFormed(value, '')
    wrapped.errors = found
      ? [{ instancePath: found.path, schemaPath: '#', keyword: 'wellFormed', params: {}, message: found.message }]
      : null
    return !found
  }) as ValidateFunction
  Object.assign(wrapped, { schema: validate.schema, schemaEnv: validate.schemaEnv })
  return wrapped
}

const configAjv = createAjv({ allErrors: true, useDefaults: false })

export function compileSchema<T extends TSchema>(schema: T): ValidateFunction<import('typebox').Static<T>> {
  return configAjv.compile(schema) as ValidateFunction<import('typebox').Static<T>>
}

/** `{type: 'string', enum: [...]}`: reads better in errors and OpenAPI than a union of consts. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/** Turns Ajv errors into `path.to.field: message` lines. */
export function formatSchemaErrors(errors: ErrorObject[] | null | undefined, root: string): string[] {
  const out = new Set<string>()
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue
    const path =
      [root, ...e.instancePath.split('/').slice(1).map(unescapePointer)].filter(Boolean).join('.') || '(root)'
    switch (e.keyword) {
      case 'additionalProperties':
        out.add(`${path}: unknown key "${String(e.params.additionalProperty)}"`)
        break
      case 'required':
        out.add(`${path}.${String(e.params.missingProperty)}: required`)
        break
      case 'enum':
        out.add(`${path}: must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`)
        break
      default:
        out.add(`${path}: ${e.message ?? 'is invalid'}`)
    }
  }
  return [...out]
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}
