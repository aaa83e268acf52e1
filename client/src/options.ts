// The client's options, checked when it is constructed: a mistake in configuration fails
// at start-up with a message naming the option, not at the first call.
import { isPrivateKey, type PrivateKey } from './client-assertion.js'
import type { RetryOptions } from './transport.js'

export interface BrokerClientOptions {
  /** The broker's base URL, e.g. https://broker.internal.example */
  url: string
  clientId: string
  /** The service client's secret; or give `privateKey`. */
  clientSecret?: string
  /** A private JWK or CryptoKey whose public half is registered with the client (RFC 7523 private_key_jwt). */
  privateKey?: PrivateKey
  /** The `kid` to put in client assertions (default: the JWK's own `kid`). */
  keyId?: string
  /** The broker's issuer identifier, the `aud` of client assertions (default: from its metadata). */
  issuer?: string
  /** Scopes to ask for (space-separated; default: all the client holds). */
  scope?: string
  /** Retries of 503 and 429 answers (defaults: 3 retries, waits of at most 10 s). */
  retry?: Partial<RetryOptions>
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch
}

export interface CheckedOptions extends BrokerClientOptions {
  retry: RetryOptions
  fetch: typeof fetch
}

function fail(message: string): never {
  throw new TypeError(`BrokerClient: ${message}`)
}

export function checkOptions(options: BrokerClientOptions): CheckedOptions {
  if (!options || typeof options !== 'object') fail('options are required')
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    fail('url must be an absolute http(s) URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('url must be an absolute http(s) URL')
  if (url.search || url.hash || url.username) fail('url must have no query, fragment or credentials')
  if (typeof options.clientId !== 'string' || options.clientId.length === 0) fail('clientId is required')
  const hasSecret = options.clientSecret !== undefined
  const hasKey = options.privateKey !== undefined
  if (hasSecret === hasKey) fail('give exactly one of clientSecret and privateKey')
  if (hasSecret && (typeof options.clientSecret !== 'string' || options.clientSecret.length === 0)) {
    fail('clientSecret must be a non-empty string')
  }
  if (hasKey && !isPrivateKey(options.privateKey)) fail('privateKey must be a private JWK or a private CryptoKey')
  const retry = { maxRetries: 3, maxDelayMs: 10_000, ...options.retry }
  if (!Number.isInteger(retry.maxRetries) || retry.maxRetries < 0 || retry.maxRetries > 10) {
    fail('retry.maxRetries must be an integer from 0 to 10')
  }
  if (!Number.isFinite(retry.maxDelayMs) || retry.maxDelayMs < 0 || retry.maxDelayMs > 300_000) {
    fail('retry.maxDelayMs must be from 0 to 300000')
  }
  const fetchFn = options.fetch ?? globalThis.fetch
  if (typeof fetchFn !== 'function') fail('no fetch available: pass options.fetch')
  return { ...options, url: url.href.replace(/\/+$/, ''), retry, fetch: (input, init) => fetchFn(input, init) }
}
