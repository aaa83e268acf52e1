// The providers file: its schema, `${NAME}` interpolation, and the checks that turn an
// entry into a ready-to-use provider definition. A bad entry stops start-up with a
// message that names the exact path (`providers.acme.tokenUrl: ...`).
import { Type, type Static } from 'typebox'
import { DEFAULT_PARAM_PATTERN, placeholdersOf, type ParamSpec } from '../oauth/placeholders.js'
import { compileSchema, formatSchemaErrors, StringEnum } from '../validation.js'

/** Provider keys are also the callback path segment: `/oauth/callback/<key>`. */
export const PROVIDER_KEY_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$'

const Str = (max = 2048) => Type.String({ minLength: 1, maxLength: max })

export const ProviderEntrySchema = Type.Object(
  {
    displayName: Type.Optional(Str(100)),
    issuer: Type.Optional(Str()),
    authorizationUrl: Type.Optional(Str()),
    tokenUrl: Type.Optional(Str()),
    revocationUrl: Type.Optional(Str()),
    clientId: Type.Optional(Str(512)),
    clientSecret: Type.Optional(Str(4096)),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7E]+$' }), { maxItems: 100 })),
    scopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 3 })),
    responseScopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 3 })),
    pkce: Type.Optional(Type.Boolean()),
    tokenEndpointAuthMethod: Type.Optional(StringEnum(['client_secret_basic', 'client_secret_post'])),
    tokenRequestEncoding: Type.Optional(StringEnum(['form', 'json'])),
    authorizationParams: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.String({ maxLength: 1024 }), { additionalProperties: false }),
    ),
    params: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }),
        Type.Object({ pattern: Type.String({ minLength: 2, maxLength: 500 }), description: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type ProviderEntry = Static<typeof ProviderEntrySchema>

export const ProvidersFileSchema = Type.Object(
  {
    providers: Type.Record(Type.String({ pattern: PROVIDER_KEY_PATTERN }), ProviderEntrySchema, { additionalProperties: false }),
  },
  { additionalProperties: false },
)

/** A provider as the broker uses it: every field resolved, defaults applied. */
export interface OAuth2Provider {
  key: string
  mode: 'oauth2'
  displayName: string
  issuer: string | undefined
  authorizationUrl: string
  tokenUrl: string
  revocationUrl: string | undefined
  clientId: string
  clientSecret: string
  scopes: string[]
  scopeSeparator: string
  /** How the token response's `scope` is split (LiveChat answers comma-separated). */
  responseScopeSeparator: string
  pkce: boolean
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post'
  tokenRequestEncoding: 'form' | 'json'
  authorizationParams: Record<string, string>
  /** URL placeholders and the pattern each value must match. */
  params: Record<string, ParamSpec>
}
export type Provider = OAuth2Provider

export class ProvidersFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid providers file:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ProvidersFileError'
  }
}

const validateFile = compileSchema(ProvidersFileSchema)

/**
 * Replaces `${NAME}` in every string of the parsed document with the environment's
 * value. Interpolating after parsing means a secret's characters can never change the
 * document's structure.
 */
export function interpolate(value: unknown, env: Record<string, string | undefined>, path: string, problems: string[]): unknown {
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
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k, problems)]))
  }
  return value
}

/** Validates a parsed providers document and resolves every entry. Throws ProvidersFileError. */
export function resolveProviders(document: unknown, env: Record<string, string | undefined>): Map<string, Provider> {
  const problems: string[] = []
  const doc = interpolate(document, env, '', problems)
  if (problems.length) throw new ProvidersFileError(problems)
  if (!validateFile(doc)) throw new ProvidersFileError(formatSchemaErrors(validateFile.errors, ''))

  const providers = new Map<string, Provider>()
  for (const [key, entry] of Object.entries(doc.providers)) {
    const at = `providers.${key}`
    const provider = resolveOAuth2(key, entry, at, problems)
    if (provider) providers.set(key, provider)
  }
  if (problems.length) throw new ProvidersFileError(problems)
  return providers
}

function resolveOAuth2(key: string, entry: ProviderEntry, at: string, problems: string[]): OAuth2Provider | undefined {
  const before = problems.length
  for (const field of ['authorizationUrl', 'tokenUrl', 'clientId', 'clientSecret'] as const) {
    if (!entry[field]) problems.push(`${at}.${field}: required`)
  }
  for (const field of ['authorizationUrl', 'tokenUrl', 'revocationUrl', 'issuer'] as const) {
    const url = entry[field]
    if (url !== undefined) {
      const why = checkProviderUrl(url)
      if (why) problems.push(`${at}.${field}: ${why}`)
    }
  }
  const params: Record<string, ParamSpec> = { ...entry.params }
  for (const name of placeholdersOf(entry.authorizationUrl, entry.tokenUrl, entry.revocationUrl)) {
    params[name] ??= { pattern: DEFAULT_PARAM_PATTERN }
  }
  for (const [name, spec] of Object.entries(params)) {
    if (!spec.pattern.startsWith('^') || !spec.pattern.endsWith('$')) problems.push(`${at}.params.${name}.pattern: must be anchored (^...$)`)
    try {
      new RegExp(spec.pattern)
    } catch {
      problems.push(`${at}.params.${name}.pattern: not a valid regular expression`)
    }
  }
  if (entry.issuer && placeholdersOf(entry.issuer).length) problems.push(`${at}.issuer: must not contain placeholders`)
  if (problems.length > before) return undefined
  return {
    key,
    mode: 'oauth2',
    displayName: entry.displayName ?? key,
    issuer: entry.issuer,
    authorizationUrl: entry.authorizationUrl!,
    tokenUrl: entry.tokenUrl!,
    revocationUrl: entry.revocationUrl,
    clientId: entry.clientId!,
    clientSecret: entry.clientSecret!,
    scopes: entry.scopes ?? [],
    scopeSeparator: entry.scopeSeparator ?? ' ',
    responseScopeSeparator: entry.responseScopeSeparator ?? entry.scopeSeparator ?? ' ',
    pkce: entry.pkce ?? true,
    tokenEndpointAuthMethod: entry.tokenEndpointAuthMethod ?? 'client_secret_basic',
    tokenRequestEncoding: entry.tokenRequestEncoding ?? 'form',
    authorizationParams: entry.authorizationParams ?? {},
    params,
  }
}

/**
 * Provider URLs are https, except plain http on a loopback host (local development and
 * tests). `{placeholders}` are allowed in the host and path; they are validated when filled.
 */
export function checkProviderUrl(raw: string): string | undefined {
  const probe = raw.replace(/\{[a-zA-Z][a-zA-Z0-9_]*\}/g, 'placeholder')
  let url: URL
  try {
    url = new URL(probe)
  } catch {
    return 'must be an absolute URL'
  }
  if (url.username || url.password) return 'must not contain credentials'
  if (url.hash) return 'must not contain a fragment'
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined
  return 'must use https (plain http is accepted for loopback hosts only)'
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}
