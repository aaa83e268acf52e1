// The providers file (PROVIDERS_FILE): YAML or JSON, `${NAME}` interpolation from the
// environment, the file's schema, and each entry merged over its built-in catalog entry,
// then resolved (schema.ts).
import { Type } from 'typebox'
import { parse as parseYaml } from 'yaml'
import { compileSchema, formatSchemaErrors } from '../validation.js'
import { CATALOG } from './catalog.js'
import {
  PROVIDER_KEY_PATTERN,
  ProviderEntrySchema,
  ProvidersFileError,
  resolveEntry,
  type Provider,
  type ProviderEntry,
} from './schema.js'

export const ProvidersFileSchema = Type.Object(
  {
    providers: Type.Record(Type.String({ pattern: PROVIDER_KEY_PATTERN }), ProviderEntrySchema, {
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
)

const validateFile = compileSchema(ProvidersFileSchema)

type Env = Record<string, string | undefined>

/**
 * Replaces `${NAME}` in every string of the parsed document with the environment's
 * value. Interpolating after parsing means a secret's characters can never change the
 * document's structure.
 */
export function interpolate(value: unknown, env: Env, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        problems.push(`${path}: "\${${name}}" is not a valid variable reference`)
        return ''
      }
      const v = env[name]
      if (v === undefined || v === '') {
        problems.push(`${path}: environment variable ${name} is not set`)
        return ''
      }
      return v
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`, problems))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k, problems)]),
    )
  }
  return value
}

/** Validates a parsed providers document and resolves every entry. Throws ProvidersFileError. */
export function resolveProviders(document: unknown, env: Env): Map<string, Provider> {
  const problems: string[] = []
  const doc = interpolate(document, env, '', problems)
  if (problems.length) throw new ProvidersFileError(problems)
  if (!validateFile(doc)) throw new ProvidersFileError(formatSchemaErrors(validateFile.errors, ''))

  const providers = new Map<string, Provider>()
  for (const [key, entry] of Object.entries(doc.providers)) {
    // A catalog key inherits the built-in entry; the file adds credentials and may override.
    const merged: ProviderEntry = { ...CATALOG[key], ...entry }
    const provider = resolveEntry(key, merged, `providers.${key}`, problems)
    if (provider) providers.set(key, provider)
  }
  if (problems.length) throw new ProvidersFileError(problems)
  return providers
}

/** PROVIDERS_FILE: read, parsed and resolved; what is wrong lands in `problems`, prefixed with the path. */
export function readProvidersFile(
  path: string,
  env: Env,
  readFile: (path: string) => string,
  problems: string[],
): Map<string, Provider> {
  let text: string
  try {
    text = readFile(path)
  } catch (err) {
    problems.push(`PROVIDERS_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return new Map()
  }
  let document: unknown
  try {
    // YAML is a superset of JSON: one parser reads both.
    document = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 })
  } catch (err) {
    problems.push(`PROVIDERS_FILE: ${path} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`)
    return new Map()
  }
  try {
    return resolveProviders(document, env)
  } catch (err) {
    if (!(err instanceof ProvidersFileError)) throw err
    problems.push(...err.problems.map((m) => `PROVIDERS_FILE ${path}: ${m}`))
    return new Map()
  }
}
