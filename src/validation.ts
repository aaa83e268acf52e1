// JSON Schema validation shared by configuration and HTTP routes: one strict Ajv set-up
// (unknown properties are errors, never silently removed) and readable error paths.
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
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

const configAjv = createAjv({ allErrors: true, useDefaults: false })

export function compileSchema<T extends TSchema>(schema: T): ValidateFunction<import('typebox').Static<T>> {
  return configAjv.compile(schema) as ValidateFunction<import('typebox').Static<T>>
}

/** `{type: 'string', enum: [...]}`: reads better in errors and OpenAPI than a union of consts. */
export function StringEnum<const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/** Turns Ajv errors into `path.to.field: message` lines. */
export function formatSchemaErrors(errors: ErrorObject[] | null | undefined, root: string): string[] {
  const out = new Set<string>()
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue
    const path = [root, ...e.instancePath.split('/').slice(1).map(unescapePointer)].filter(Boolean).join('.') || '(root)'
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
