// Structured logs (pino). Redaction is a safety net: code never logs a secret on purpose,
// and request logs carry the route pattern, never the raw URL (a callback's query holds
// `code` and `state`; a connect URL holds its session handle).
// (docs/security.md, checklist item 26)
//
// Every logged object passes through `redactSecrets` (pino's `formatters.log`): a value
// whose key names a secret is censored at any depth, and errors keep only an allow-list
// of members, so an HTTP client's error cannot carry its request headers or config into
// the log. One walk over the object is also far cheaper than pino's wildcard redact paths
// (which cost ~90 µs per request line with one level of wildcards).
import { hostname } from 'node:os'
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'

export const CENSOR = '[redacted]'
/** Deeper than this, values are dropped: no log line needs them. */
const MAX_DEPTH = 8

/**
 * Key names (lower case, without `-` and `_`) whose value is a secret wherever it appears,
 * by suffix: `accessToken`, `refresh_token`, `brokerToken`, `clientSecret`, `x-api-key`, ...
 */
export const SECRET_SUFFIXES = [
  'token',
  'secret',
  'password',
  'passwd',
  'apikey',
  'privatekey',
  'encryptionkey',
  'credential',
  'credentials',
  'authorization',
  'cookie',
  'codeverifier',
  'databaseurl',
  'connectionstring',
  'assertion',
  'confirmationcode',
]
/** Exact key names that are secrets wherever they appear. */
export const SECRET_KEYS = ['state', 'setcookie']
/** `code` is an error code in most log lines; it is the authorization code in these parents. */
export const CODE_PARENTS = ['body', 'query', 'params', 'form', 'searchparams']

/** Error members that are safe to log; everything else (headers, config, request, response, body) is dropped. */
export const ERROR_MEMBERS = ['code', 'errno', 'syscall', 'status', 'statusCode', 'failure', 'reason'] as const

const normalize = (key: string) => key.toLowerCase().replace(/[-_]/g, '')

export function isSecretKey(key: string, parentKey?: string): boolean {
  const k = normalize(key)
  if (SECRET_KEYS.includes(k)) return true
  if (k === 'code' && parentKey !== undefined) return CODE_PARENTS.includes(normalize(parentKey))
  return SECRET_SUFFIXES.some((suffix) => k.endsWith(suffix))
}

/** A copy of `value` with secret-named members censored and errors reduced to safe members. */
export function redactSecrets(value: unknown, depth = 0, parentKey?: string, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_DEPTH) return '[too deep]'
  if (seen.has(value)) return '[circular]'
  seen.add(value)
  try {
    if (value instanceof Error) return redactSecrets(serializeError(value), depth, parentKey, seen)
    if (value instanceof Date) return value
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`
    if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, parentKey, seen))
    let source: object = value
    const proto = Object.getPrototypeOf(value) as object | null
    if (proto !== Object.prototype && proto !== null) {
      // Class instances (sockets, requests, clients) are not log material: named, not walked.
      if (typeof (value as { toJSON?: unknown }).toJSON !== 'function')
        return `[${value.constructor?.name ?? 'object'}]`
      const json: unknown = (value as { toJSON(): unknown }).toJSON()
      if (json === null || typeof json !== 'object') return json
      source = json
    }
    const out: Record<string, unknown> = {}
    for (const [key, member] of Object.entries(source)) {
      out[key] =
        member !== undefined && member !== null && isSecretKey(key, parentKey)
          ? CENSOR
          : redactSecrets(member, depth + 1, key, seen)
    }
    return out
  } finally {
    seen.delete(value)
  }
}

function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack }
  const fields = err as unknown as Record<string, unknown>
  for (const member of ERROR_MEMBERS) {
    const v = fields[member]
    if (typeof v === 'string' || typeof v === 'number') out[member] = v
  }
  // The cause is walked like any value: an error is reduced the same way, an object redacted.
  if (err.cause !== undefined) out.cause = err.cause
  if (err instanceof AggregateError) out.errors = err.errors
  return out
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
    // Errors are already reduced by redactSecrets; pino's default serializer would take
    // the plain result for an error again.
    serializers: { err: (err: unknown) => err },
    // pid and hostname tell replicas (and a restarted process) apart in a shared log stream.
    base: { service: 'oauth-broker', pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level))
}
