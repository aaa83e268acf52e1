// Provider definitions: the schema of a providers-file entry (also the shape of a built-in
// catalog entry), the Provider types, and the checks that turn an entry, merged over its
// catalog entry (providers-file.ts), into a ready-to-use Provider. A bad entry stops
// start-up with a message that names the exact path (`providers.acme.tokenUrl: ...`).
import { Type, type Static } from 'typebox'
import { DEFAULT_PARAM_PATTERN, placeholdersOf, type ParamSpec } from './templates.js'
import { compileSchema, StringEnum } from '../validation.js'
import { BrokerError } from '../errors.js'
import { checkProviderUrl } from './provider-url.js'

/** Provider keys are also the callback path segment: `/oauth/callback/<key>`. */
export const PROVIDER_KEY_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$'

export const AUTH_MODES = ['oauth2', 'api_key', 'credential_exchange'] as const
export type AuthMode = (typeof AUTH_MODES)[number]

/** How tokens are revoked at the provider: RFC 7009, DELETE with the token as Bearer, or not at all. */
export const REVOCATION_METHODS = ['rfc7009', 'bearer_delete', 'none'] as const
export type RevocationMethod = (typeof REVOCATION_METHODS)[number]

/** Names of connect parameters (URL placeholders) and of credential fields. */
export const PARAM_NAME_PATTERN = '^[a-zA-Z][a-zA-Z0-9_]{0,63}$'
export const CREDENTIAL_FIELD_KINDS = ['secret', 'url', 'text'] as const

/** A provider scope: visible ASCII, no space (RFC 6749 §3.3 scope-token). */
export const ProviderScope = Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' })

const Str = (max = 2048) => Type.String({ minLength: 1, maxLength: max })
const Headers = Type.Record(
  Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
  Type.String({ maxLength: 1024, pattern: '^[^\\r\\n]*$' }),
  { additionalProperties: false },
)

const CredentialFieldSchema = Type.Object(
  {
    name: Type.String({ pattern: PARAM_NAME_PATTERN }),
    label: Str(100),
    kind: StringEnum(CREDENTIAL_FIELD_KINDS),
    pattern: Type.Optional(Str(500)),
    help: Type.Optional(Str(300)),
  },
  { additionalProperties: false },
)
export type CredentialField = Static<typeof CredentialFieldSchema>

export const ProviderEntrySchema = Type.Object(
  {
    mode: Type.Optional(StringEnum(AUTH_MODES)),
    displayName: Type.Optional(Str(100)),
    docsUrl: Type.Optional(Str()),
    issuer: Type.Optional(Str()),
    authorizationUrl: Type.Optional(Str()),
    tokenUrl: Type.Optional(Str()),
    revocationUrl: Type.Optional(Str()),
    revocation: Type.Optional(
      StringEnum(REVOCATION_METHODS, { description: 'How tokens are revoked at the provider' }),
    ),
    clientId: Type.Optional(Str(512)),
    clientSecret: Type.Optional(Str(4096)),
    scopes: Type.Optional(Type.Array(ProviderScope, { maxItems: 100 })),
    scopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 3 })),
    sendScopes: Type.Optional(Type.Boolean({ description: 'false: scopes are configured at the provider, not sent' })),
    responseScopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 3 })),
    pkce: Type.Optional(Type.Boolean()),
    tokenEndpointAuthMethod: Type.Optional(StringEnum(['client_secret_basic', 'client_secret_post', 'none'])),
    tokenRequestEncoding: Type.Optional(StringEnum(['form', 'json'])),
    tokenRequestHeaders: Type.Optional(Headers),
    authorizationParams: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.String({ maxLength: 1024 }), {
        additionalProperties: false,
      }),
    ),
    params: Type.Optional(
      Type.Record(
        Type.String({ pattern: PARAM_NAME_PATTERN }),
        Type.Object(
          {
            pattern: Type.String({ minLength: 2, maxLength: 500 }),
            description: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        { additionalProperties: false },
      ),
    ),
    metadataFields: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), { maxItems: 50 })),
    defaultExpiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
    apiHeaders: Type.Optional(Headers),
    credentialFields: Type.Optional(Type.Array(CredentialFieldSchema, { minItems: 1, maxItems: 10 })),
    validationUrl: Type.Optional(Str()),
    exchange: Type.Optional(StringEnum(['interact'])),
    userSuppliedHosts: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type ProviderEntry = Static<typeof ProviderEntrySchema>

interface ProviderBase {
  key: string
  mode: AuthMode
  displayName: string
  docsUrl: string | undefined
  /** URL and header placeholders, and the pattern each value must match. */
  params: Record<string, ParamSpec>
  /** Headers the provider's API needs besides Authorization (templated from params), returned with tokens. */
  apiHeaders: Record<string, string>
}

/** How the broker talks to a token endpoint: shared by OAuth 2.0 and credential exchange. */
export interface TokenEndpoint {
  tokenUrl: string
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'none'
  clientId: string
  clientSecret: string
  tokenRequestEncoding: 'form' | 'json'
  /** Extra headers on token requests (templated from params), e.g. Interact's X-Tenant. */
  tokenRequestHeaders: Record<string, string>
  /** How the token response's `scope` is split (LiveChat answers comma-separated). */
  responseScopeSeparator: string
  /** Response fields kept as connection metadata; undefined: every non-secret scalar field. */
  metadataFields: string[] | undefined
  /** Lifetime assumed when a response has no `expires_in`; undefined: no known expiry. */
  defaultExpiresInSeconds: number | undefined
  /** Hosts come from user input: calls go through the private-address guard. */
  userSuppliedHosts: boolean
}

export interface OAuth2Provider extends ProviderBase, TokenEndpoint {
  mode: 'oauth2'
  issuer: string | undefined
  authorizationUrl: string
  revocationUrl: string | undefined
  revocation: RevocationMethod
  scopes: string[]
  scopeSeparator: string
  sendScopes: boolean
  pkce: boolean
  authorizationParams: Record<string, string>
}

export interface ApiKeyProvider extends ProviderBase {
  mode: 'api_key'
  credentialFields: CredentialField[]
  /** A cheap authenticated GET whose 2xx proves the key works; `{apiKey}` fills header templates. */
  validationUrl: string | undefined
}

export interface CredentialExchangeProvider extends ProviderBase, TokenEndpoint {
  mode: 'credential_exchange'
  credentialFields: CredentialField[]
  exchange: 'interact'
}

export type Provider = OAuth2Provider | ApiKeyProvider | CredentialExchangeProvider
export type RefreshableProvider = OAuth2Provider | CredentialExchangeProvider

export class ProvidersFileError extends BrokerError<'invalid_providers_file'> {
  constructor(readonly problems: string[]) {
    super('invalid_providers_file', `invalid providers file:\n  - ${problems.join('\n  - ')}`)
  }
}

export const validateEntry = compileSchema(ProviderEntrySchema)

/** Turns a complete entry into a Provider, or records why it cannot. */
export function resolveEntry(key: string, entry: ProviderEntry, at: string, problems: string[]): Provider | undefined {
  const before = problems.length
  checkEntry(entry, at, problems)
  const params = paramsOf(entry, at, problems)
  for (const field of entry.credentialFields ?? []) {
    if (field.pattern !== undefined && (!field.pattern.startsWith('^') || !field.pattern.endsWith('$'))) {
      problems.push(`${at}.credentialFields.${field.name}.pattern: must be anchored (^...$)`)
    }
  }
  if (problems.length > before) return undefined
  return buildProvider(key, entry, params)
}

/** The URLs, and the fields each mode requires or refuses. */
function checkEntry(entry: ProviderEntry, at: string, problems: string[]): void {
  const mode = entry.mode ?? 'oauth2'
  const required = (field: keyof ProviderEntry) => {
    if (entry[field] === undefined) problems.push(`${at}.${field}: required`)
  }
  for (const field of [
    'authorizationUrl',
    'tokenUrl',
    'revocationUrl',
    'issuer',
    'validationUrl',
    'docsUrl',
  ] as const) {
    const url = entry[field]
    if (url !== undefined) {
      const why = checkProviderUrl(url)
      if (why) problems.push(`${at}.${field}: ${why}`)
    }
  }
  if (mode === 'oauth2') {
    for (const field of ['authorizationUrl', 'tokenUrl', 'clientId', 'clientSecret'] as const) required(field)
    if (entry.tokenEndpointAuthMethod === 'none')
      problems.push(`${at}.tokenEndpointAuthMethod: oauth2 providers authenticate as confidential clients`)
    const revocation = entry.revocation ?? (entry.revocationUrl ? 'rfc7009' : 'none')
    if (revocation !== 'none' && !entry.revocationUrl)
      problems.push(`${at}.revocationUrl: required when revocation is ${revocation}`)
  } else {
    required('credentialFields')
    if (mode === 'credential_exchange') {
      required('exchange')
      required('tokenUrl')
    }
    if (entry.clientId !== undefined || entry.clientSecret !== undefined)
      problems.push(`${at}: ${mode} providers take no clientId/clientSecret (users supply credentials)`)
  }
  if (entry.issuer && placeholdersOf(entry.issuer).length) problems.push(`${at}.issuer: must not contain placeholders`)
}

/** The declared params plus every placeholder of the templates, each with an anchored, valid pattern. */
function paramsOf(entry: ProviderEntry, at: string, problems: string[]): Record<string, ParamSpec> {
  const params: Record<string, ParamSpec> = { ...entry.params }
  const templates = [
    entry.authorizationUrl,
    entry.tokenUrl,
    entry.revocationUrl,
    ...Object.values(entry.tokenRequestHeaders ?? {}),
    ...Object.values(entry.apiHeaders ?? {}),
  ]
  for (const name of placeholdersOf(...templates)) params[name] ??= { pattern: DEFAULT_PARAM_PATTERN }
  for (const [name, spec] of Object.entries(params)) {
    if (!spec.pattern.startsWith('^') || !spec.pattern.endsWith('$'))
      problems.push(`${at}.params.${name}.pattern: must be anchored (^...$)`)
    try {
      new RegExp(spec.pattern)
    } catch {
      problems.push(`${at}.params.${name}.pattern: not a valid regular expression`)
    }
  }
  return params
}

/** A checked entry with every default filled in. */
function buildProvider(key: string, entry: ProviderEntry, params: Record<string, ParamSpec>): Provider {
  const mode = entry.mode ?? 'oauth2'
  const base = {
    key,
    displayName: entry.displayName ?? key,
    docsUrl: entry.docsUrl,
    params,
    apiHeaders: entry.apiHeaders ?? {},
  }
  const tokenEndpoint = (): TokenEndpoint => ({
    tokenUrl: entry.tokenUrl!,
    tokenEndpointAuthMethod: entry.tokenEndpointAuthMethod ?? (mode === 'oauth2' ? 'client_secret_basic' : 'none'),
    clientId: entry.clientId ?? '',
    clientSecret: entry.clientSecret ?? '',
    tokenRequestEncoding: entry.tokenRequestEncoding ?? 'form',
    tokenRequestHeaders: entry.tokenRequestHeaders ?? {},
    responseScopeSeparator: entry.responseScopeSeparator ?? entry.scopeSeparator ?? ' ',
    metadataFields: entry.metadataFields,
    defaultExpiresInSeconds: entry.defaultExpiresInSeconds,
    userSuppliedHosts: entry.userSuppliedHosts ?? false,
  })
  if (mode === 'api_key') {
    return { ...base, mode, credentialFields: entry.credentialFields!, validationUrl: entry.validationUrl }
  }
  if (mode === 'credential_exchange') {
    return { ...base, ...tokenEndpoint(), mode, credentialFields: entry.credentialFields!, exchange: entry.exchange! }
  }
  return {
    ...base,
    ...tokenEndpoint(),
    mode: 'oauth2',
    issuer: entry.issuer,
    authorizationUrl: entry.authorizationUrl!,
    revocationUrl: entry.revocationUrl,
    revocation: entry.revocation ?? (entry.revocationUrl ? 'rfc7009' : 'none'),
    scopes: entry.scopes ?? [],
    scopeSeparator: entry.scopeSeparator ?? ' ',
    sendScopes: entry.sendScopes ?? true,
    pkce: entry.pkce ?? true,
    authorizationParams: entry.authorizationParams ?? {},
  }
}
