// Verifies a webhook delivery per Standard Webhooks: HMAC-SHA256 over
// `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the base64-decoded bytes after
// `whsec_`; `webhook-signature` holds space-separated `v1,<base64>` signatures (two while
// a secret rotates); the timestamp must be within the tolerance of now (replays).

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WebhookVerificationError'
  }
}

export interface WebhookEvent {
  type: string
  timestamp: string
  data: Record<string, unknown>
}

export interface VerifyWebhookOptions {
  /** The endpoint's secret (`whsec_...`), or several while rotating. */
  secret: string | string[]
  /** The request headers (a Headers object or a plain record, names in any case). */
  headers: Headers | Record<string, string | string[] | undefined>
  /** The raw body, exactly as received (not re-serialized JSON). */
  body: string | Uint8Array
  /** Accepted clock difference (default 300 s). */
  toleranceSeconds?: number
  /** For tests: the current time. */
  now?: Date
}

const encoder = new TextEncoder()

/** The verified event; throws WebhookVerificationError when the delivery is not authentic. */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<WebhookEvent> {
  const id = header(options.headers, 'webhook-id')
  const timestamp = header(options.headers, 'webhook-timestamp')
  const signatures = header(options.headers, 'webhook-signature')
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook headers')
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp')
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000)
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) {
    throw new WebhookVerificationError('webhook-timestamp outside the tolerance')
  }
  const body = typeof options.body === 'string' ? encoder.encode(options.body) : options.body
  const signed = concat(encoder.encode(`${id}.${timestamp}.`), body)
  const presented = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3))
  for (const secret of [options.secret].flat()) {
    const expected = await hmac(keyBytes(secret), signed)
    if (presented.some((candidate) => equal(candidate, expected))) return JSON.parse(new TextDecoder().decode(body))
  }
  throw new WebhookVerificationError('no matching signature')
}

function header(headers: VerifyWebhookOptions['headers'], name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined
  const record = headers as Record<string, string | string[] | undefined>
  const key = Object.keys(record).find((k) => k.toLowerCase() === name)
  const value = key === undefined ? undefined : record[key]
  return Array.isArray(value) ? value.join(' ') : value
}

function keyBytes(secret: string): Uint8Array<ArrayBuffer> {
  if (typeof secret !== 'string' || !secret.startsWith('whsec_')) {
    throw new TypeError('verifyWebhook: a secret starts with whsec_')
  }
  return Uint8Array.from(atob(secret.slice('whsec_'.length)), (c) => c.charCodeAt(0))
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, data))
  let binary = ''
  for (const byte of mac) binary += String.fromCharCode(byte)
  return btoa(binary)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** Compares in time independent of where the strings differ. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
