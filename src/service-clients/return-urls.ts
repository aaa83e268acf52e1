// Return URLs: where the broker sends an end user's browser after a connect attempt.
// A service client registers allowed return URLs; a connect session's returnUrl must
// have the exact origin of one of them and a path under its path. Parsing is strict so
// that `//evil`, `/\evil`, `https:evil`, `javascript:` or CR/LF cannot slip through
// (docs/security.md, checklist item 6).

export type UrlCheck = string | { error: string }

const ABSOLUTE_HTTP = /^https?:\/\/[^/\\]/

function parseStrict(raw: string): URL | { error: string } {
  if (raw.length > 2048) return { error: 'is longer than 2048 characters' }
  // Control characters, spaces and backslashes have no place in a return URL; browsers
  // and URL parsers disagree on them.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return { error: 'contains whitespace, control characters or backslashes' }
  if (!ABSOLUTE_HTTP.test(raw)) return { error: 'must be an absolute http(s) URL' }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { error: 'must be an absolute http(s) URL' }
  }
  if (url.username || url.password) return { error: 'must not contain credentials' }
  if (url.hash) return { error: 'must not contain a fragment' }
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    return { error: 'must use https (http only for loopback hosts)' }
  return url
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/** Validates an allowed return URL of a service client; returns its normalized form. */
export function normalizeReturnUrl(raw: string): UrlCheck {
  const url = parseStrict(raw)
  if (!(url instanceof URL)) return url
  if (url.search) return { error: 'must not contain a query (list the path prefix only)' }
  return url.href
}

/**
 * Is `candidate` allowed by one of `allowed`? Exact origin, and a path equal to the
 * allowed path or below it (`/app` allows `/app`, `/app/x`, not `/application`).
 * A query string is allowed; a fragment is not.
 */
export function isReturnUrlAllowed(candidate: string, allowed: readonly string[]): boolean {
  const url = parseStrict(candidate)
  if (!(url instanceof URL)) return false
  return allowed.some((entry) => {
    const base = new URL(entry)
    if (base.origin !== url.origin) return false
    const prefix = base.pathname
    if (url.pathname === prefix) return true
    return url.pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)
  })
}
