// Webhook URLs: where the broker may send a service client's lifecycle events. An admin
// sets a client's allowed webhook URLs (origin and path prefix, like return URLs); an
// endpoint's URL must fall under one. Receivers are internal, so http and private or
// loopback addresses are fine; link-local (cloud metadata), multicast and unspecified
// addresses are not, here for literal addresses and at connect time for names.
import { isIP } from 'node:net'
import { classifyAddress } from '../oauth/network.js'

export type WebhookUrlCheck = URL | { error: string }

/** Parses a webhook URL strictly; refuses what could aim the broker somewhere unexpected. */
export function parseWebhookUrl(raw: string): WebhookUrlCheck {
  if (raw.length > 2048) return { error: 'is longer than 2048 characters' }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return { error: 'contains whitespace, control characters or backslashes' }
  if (!/^https?:\/\/[^/\\]/.test(raw)) return { error: 'must be an absolute http(s) URL' }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { error: 'must be an absolute http(s) URL' }
  }
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(raw)) return { error: 'must not contain credentials' }
  if (url.hash) return { error: 'must not contain a fragment' }
  if (url.port === '0') return { error: 'has an invalid port' }
  if (isReservedHost(url.hostname)) return { error: 'points to a link-local, multicast or unspecified address' }
  return url
}

/** A literal address the broker never sends to (the classes oauth/network.ts calls reserved). */
export function isReservedHost(hostname: string): boolean {
  const ip = hostname.replace(/^\[|\]$/g, '')
  return isIP(ip) !== 0 && classifyAddress(ip) === 'reserved'
}

/** An allowed webhook URL as stored: normalized, without query. */
export function normalizeWebhookUrl(raw: string): string | { error: string } {
  const url = parseWebhookUrl(raw)
  if (!(url instanceof URL)) return url
  if (url.search) return { error: 'must not contain a query (list the path prefix only)' }
  return url.href
}

/** Is `candidate` under one of `allowed`: exact origin, and the same path or one below it? */
export function isWebhookUrlAllowed(candidate: string, allowed: readonly string[]): boolean {
  const url = parseWebhookUrl(candidate)
  if (!(url instanceof URL)) return false
  return allowed.some((entry) => {
    const base = new URL(entry)
    if (base.origin !== url.origin) return false
    const prefix = base.pathname
    return url.pathname === prefix || url.pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)
  })
}
