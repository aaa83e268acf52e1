// Environment + providers file → one typed, validated Config, read once at start-up.
// Every problem is collected and reported together, each naming its variable or path;
// no value of a secret variable ever appears in a message.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEncryptionKeys, type EncryptionKey } from './store/encryption.js'
import { readProvidersFile } from './providers/providers-file.js'
import type { Provider } from './providers/schema.js'
import { normalizeReturnUrl } from './service-clients/return-urls.js'
import { normalizeWebhookUrl } from './service-clients/webhook-urls.js'
import { BrokerError } from './errors.js'
import { bootstrapSecretProblem } from './bootstrap-secret.js'
import { type Env, EnvReader, type ReadFile } from './env-reader.js'
import { readLimits, readProviderLimits, readWebhooks, type OperationalLimits } from './config-limits.js'

/** Besides these, the limits of config-limits.ts (bulkheads, database sessions, retention, webhooks). */
export interface Config extends OperationalLimits {
  port: number
  host: string
  /** External base URL without trailing slash: issuer, audience and redirect URIs derive from it. */
  publicUrl: string
  /** Unset: an embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined
  databasePoolSize: number
  dataDir: string
  /** Newest first; undefined means "generate one into dataDir" (embedded database only). */
  encryptionKeys: EncryptionKey[] | undefined
  providersFile: string | undefined
  providers: Map<string, Provider>
  bootstrap: { clientId: string; clientSecret: string; returnUrls: string[]; webhookUrls: string[] } | undefined
  providerTimeoutMs: number
  /** Extra CA certificates (PEM) trusted for provider calls (private intranet CAs). */
  providerCaPem: string | undefined
  /** Let user-supplied provider hosts resolve to internal addresses (tests, on-premises). */
  allowPrivateProviderAddresses: boolean
  brokerTokenTtlSeconds: number
  logLevel: string
  /** Fastify's trustProxy: false (default), true, a hop count or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[]
  shutdownTimeoutMs: number
  connectSessionTtlSeconds: number
  /** Proactive refresh: window (0 turns it off), pass interval, per-provider concurrency, batch size. */
  refresh: { windowSeconds: number; intervalSeconds: number; concurrencyPerProvider: number; batchSize: number }
  /** Requests per minute per client address; 0 turns a limit off. */
  rateLimits: { token: number; browser: number; admin: number }
}

export class ConfigError extends BrokerError<'invalid_configuration'> {
  constructor(readonly problems: string[]) {
    super('invalid_configuration', `invalid configuration:\n  - ${problems.join('\n  - ')}`)
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Documented in docs/configuration.md; test/config.test.ts checks its table lists each one. */
export const ENVIRONMENT_VARIABLES = [
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'DATABASE_URL',
  'DATABASE_URL_FILE',
  'DATABASE_POOL_SIZE',
  'DATA_DIR',
  'ENCRYPTION_KEY',
  'ENCRYPTION_KEY_FILE',
  'PROVIDERS_FILE',
  'BOOTSTRAP_CLIENT_ID',
  'BOOTSTRAP_CLIENT_SECRET',
  'BOOTSTRAP_CLIENT_SECRET_FILE',
  'BOOTSTRAP_RETURN_URLS',
  'PROVIDER_TIMEOUT_MS',
  'PROVIDER_CA_FILE',
  'ALLOW_PRIVATE_PROVIDER_ADDRESSES',
  'BROKER_TOKEN_TTL_SECONDS',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'SHUTDOWN_TIMEOUT_MS',
  'CONNECT_SESSION_TTL_SECONDS',
  'REFRESH_WINDOW_SECONDS',
  'REFRESH_INTERVAL_SECONDS',
  'REFRESH_CONCURRENCY',
  'REFRESH_BATCH_SIZE',
  'RATE_LIMIT_TOKEN',
  'RATE_LIMIT_BROWSER',
  'RATE_LIMIT_ADMIN',
  'PROVIDER_CONCURRENCY',
  'FORCE_REFRESH_MIN_INTERVAL_SECONDS',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
  'AUDIT_RETENTION_DAYS',
  'BOOTSTRAP_WEBHOOK_URLS',
  'WEBHOOK_RETRY_SCHEDULE_SECONDS',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_RETENTION_DAYS',
] as const

export interface LoadOptions {
  /** The server (main.ts) needs PUBLIC_URL with an external database; the ops tool does not. */
  server?: boolean
}

export function loadConfig(
  env: Env,
  readFile: ReadFile = (p) => readFileSync(p, 'utf8'),
  options: LoadOptions = {},
): Config {
  const problems: string[] = []
  const p = new EnvReader(env, readFile, problems)
  const port = p.integer('PORT', 3000, 0, 65535)
  const host = p.string('HOST') ?? '0.0.0.0'
  const publicUrl = parsePublicUrl(p.string('PUBLIC_URL') ?? `http://localhost:${port}`, problems)
  const databaseUrl = p.secret('DATABASE_URL')
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl))
    problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL')
  if (options.server) requirePublicUrl(p, databaseUrl, problems)
  const encryptionKeys = readEncryptionKeys(p, databaseUrl, problems)
  const bootstrap = readBootstrap(p, problems)
  const providersFile = p.string('PROVIDERS_FILE')
  const providers =
    providersFile === undefined
      ? new Map<string, Provider>()
      : readProvidersFile(providersFile, env, readFile, problems)
  const logLevel = p.string('LOG_LEVEL') ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`)
  const config: Config = {
    port,
    host,
    publicUrl,
    databaseUrl,
    databasePoolSize: p.integer('DATABASE_POOL_SIZE', 20, 2, 500),
    dataDir: resolve(p.string('DATA_DIR') ?? './.data'),
    encryptionKeys,
    providersFile,
    providers,
    bootstrap,
    providerTimeoutMs: p.integer('PROVIDER_TIMEOUT_MS', 10_000, 100, 120_000),
    providerCaPem: readPem(p.string('PROVIDER_CA_FILE'), readFile, problems),
    allowPrivateProviderAddresses: p.boolean('ALLOW_PRIVATE_PROVIDER_ADDRESSES', false),
    brokerTokenTtlSeconds: p.integer('BROKER_TOKEN_TTL_SECONDS', 300, 30, 86_400),
    logLevel,
    trustProxy: parseTrustProxy(p.string('TRUST_PROXY'), problems),
    shutdownTimeoutMs: p.integer('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    connectSessionTtlSeconds: p.integer('CONNECT_SESSION_TTL_SECONDS', 900, 60, 86_400),
    refresh: {
      windowSeconds: p.integer('REFRESH_WINDOW_SECONDS', 300, 0, 86_400),
      intervalSeconds: p.integer('REFRESH_INTERVAL_SECONDS', 2, 1, 3_600),
      concurrencyPerProvider: p.integer('REFRESH_CONCURRENCY', 8, 1, 100),
      batchSize: p.integer('REFRESH_BATCH_SIZE', 500, 1, 10_000),
    },
    rateLimits: {
      token: p.integer('RATE_LIMIT_TOKEN', 300, 0, 1_000_000),
      browser: p.integer('RATE_LIMIT_BROWSER', 60, 0, 1_000_000),
      admin: p.integer('RATE_LIMIT_ADMIN', 300, 0, 1_000_000),
    },
    ...readProviderLimits(p),
    ...readLimits(p),
    webhooks: readWebhooks(p, problems),
  }
  if (problems.length) throw new ConfigError(problems)
  return config
}

/** A deployment's tokens and redirect URIs must not silently name http://localhost. */
function requirePublicUrl(p: EnvReader, databaseUrl: string | undefined, problems: string[]): void {
  if (databaseUrl === undefined || p.string('PUBLIC_URL') !== undefined) return
  problems.push(
    'PUBLIC_URL: required with an external database (DATABASE_URL is ' +
      "set): the broker's external URL, e.g. https://broker.example.com",
  )
}

/** ENCRYPTION_KEY: required with an external database; unset means a generated development key. */
function readEncryptionKeys(
  p: EnvReader,
  databaseUrl: string | undefined,
  problems: string[],
): EncryptionKey[] | undefined {
  const rawKeys = p.secret('ENCRYPTION_KEY')
  if (rawKeys !== undefined) {
    try {
      return parseEncryptionKeys(rawKeys)
    } catch (err) {
      problems.push(`ENCRYPTION_KEY: ${(err as Error).message}`)
    }
  } else if (databaseUrl !== undefined) {
    problems.push(
      'ENCRYPTION_KEY: required with an external database (DATABASE_URL ' +
        'is set); generate one with `openssl rand -base64 32`',
    )
  }
  return undefined
}

/** The bootstrap service client (every scope), from BOOTSTRAP_CLIENT_ID and BOOTSTRAP_CLIENT_SECRET together. */
function readBootstrap(p: EnvReader, problems: string[]): Config['bootstrap'] {
  const bootstrapId = p.string('BOOTSTRAP_CLIENT_ID')
  const bootstrapSecret = p.secret('BOOTSTRAP_CLIENT_SECRET')
  if (bootstrapId !== undefined || bootstrapSecret !== undefined) {
    if (bootstrapId === undefined) problems.push('BOOTSTRAP_CLIENT_ID: required when BOOTSTRAP_CLIENT_SECRET is set')
    else if (!/^[A-Za-z0-9._~-]{1,128}$/.test(bootstrapId)) {
      problems.push('BOOTSTRAP_CLIENT_ID: 1-128 characters among A-Z a-z 0-9 . _ ~ -')
    }
    if (bootstrapSecret === undefined)
      problems.push('BOOTSTRAP_CLIENT_SECRET: required when BOOTSTRAP_CLIENT_ID is set')
    else {
      const problem = bootstrapSecretProblem(bootstrapSecret)
      if (problem) problems.push(`BOOTSTRAP_CLIENT_SECRET: ${problem}; generate one with \`openssl rand -hex 32\``)
    }
    const returnUrls = readUrls(p, 'BOOTSTRAP_RETURN_URLS', normalizeReturnUrl, problems)
    const webhookUrls = readUrls(p, 'BOOTSTRAP_WEBHOOK_URLS', normalizeWebhookUrl, problems)
    if (bootstrapId !== undefined && bootstrapSecret !== undefined) {
      return { clientId: bootstrapId, clientSecret: bootstrapSecret, returnUrls, webhookUrls }
    }
  } else {
    for (const name of ['BOOTSTRAP_RETURN_URLS', 'BOOTSTRAP_WEBHOOK_URLS'])
      if (p.string(name) !== undefined)
        problems.push(`${name}: set without BOOTSTRAP_CLIENT_ID and BOOTSTRAP_CLIENT_SECRET`)
  }
  return undefined
}

type Normalize = (raw: string) => string | { error: string }

/** A comma-separated list of URLs, each normalized or reported. */
function readUrls(p: EnvReader, name: string, normalize: Normalize, problems: string[]): string[] {
  const items = (p.string(name) ?? '').split(',').map((s) => s.trim())
  return items.filter(Boolean).flatMap((raw) => {
    const normalized = normalize(raw)
    if (typeof normalized === 'string') return [normalized]
    problems.push(`${name}: "${raw}" ${normalized.error}`)
    return []
  })
}

function readPem(path: string | undefined, readFile: ReadFile, problems: string[]): string | undefined {
  if (path === undefined) return undefined
  try {
    const pem = readFile(path)
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      problems.push(`PROVIDER_CA_FILE: ${path} holds no PEM certificate`)
    return pem
  } catch (err) {
    problems.push(`PROVIDER_CA_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

function parsePublicUrl(raw: string, problems: string[]): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    problems.push('PUBLIC_URL: must be an absolute http(s) URL')
    return raw
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push('PUBLIC_URL: must use http or https')
  // Over plain http cookies cannot be Secure and tokens cross the network in clear.
  else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    problems.push(
      'PUBLIC_URL: http is allowed only for loopback hosts (localhost, 127.0.0.0/8, [::1]); ' +
        `use https for ${url.hostname}`,
    )
  }
  if (url.search || url.hash || url.username || url.password) {
    problems.push('PUBLIC_URL: must not contain a query, fragment or credentials')
  }
  return url.href.replace(/\/+$/, '')
}

/** `hostname` as WHATWG URL parsing leaves it (IPv4 normalized, IPv6 in brackets). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

function parseTrustProxy(raw: string | undefined, problems: string[]): Config['trustProxy'] {
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw)
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (list.every((s) => /^[0-9a-fA-F.:/]+$/.test(s))) return list
  problems.push('TRUST_PROXY: false, true, a hop count, or a comma-separated list of addresses/CIDRs')
  return false
}
