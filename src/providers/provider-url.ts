// The rule for the URLs of a providers-file entry (schema.ts): https, or plain http on loopback.
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
