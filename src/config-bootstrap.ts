// The bootstrap service client of the environment (BOOTSTRAP_CLIENT_*), whose secret must
// work the first time: it survives the form-decoding of Basic credentials and is not a
// placeholder copied from an example.
import type { Config, EnvReader } from './config.js'
import { normalizeReturnUrl } from './service-clients/return-urls.js'

export function parseBootstrap(p: EnvReader, problems: string[]): Config['bootstrap'] {
  const clientId = p.string('BOOTSTRAP_CLIENT_ID')
  const clientSecret = p.secret('BOOTSTRAP_CLIENT_SECRET')
  const rawReturnUrls = p.string('BOOTSTRAP_RETURN_URLS')
  if (clientId === undefined && clientSecret === undefined) {
    if (rawReturnUrls !== undefined) problems.push('BOOTSTRAP_RETURN_URLS: set without BOOTSTRAP_CLIENT_ID and BOOTSTRAP_CLIENT_SECRET')
    return undefined
  }
  if (clientId === undefined) problems.push('BOOTSTRAP_CLIENT_ID: required when BOOTSTRAP_CLIENT_SECRET is set')
  else if (!/^[A-Za-z0-9._~-]{1,128}$/.test(clientId)) {
    problems.push('BOOTSTRAP_CLIENT_ID: 1-128 characters among A-Z a-z 0-9 . _ ~ -')
  }
  if (clientSecret === undefined) problems.push('BOOTSTRAP_CLIENT_SECRET: required when BOOTSTRAP_CLIENT_ID is set')
  else {
    const problem = bootstrapSecretProblem(clientSecret)
    if (problem) problems.push(`BOOTSTRAP_CLIENT_SECRET: ${problem}; generate one with \`openssl rand -hex 32\``)
  }
  const returnUrls: string[] = []
  for (const raw of (rawReturnUrls ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const normalized = normalizeReturnUrl(raw)
    if (typeof normalized === 'string') returnUrls.push(normalized)
    else problems.push(`BOOTSTRAP_RETURN_URLS: "${raw}" ${normalized.error}`)
  }
  if (clientId === undefined || clientSecret === undefined) return undefined
  return { clientId, clientSecret, returnUrls }
}

// Words and shapes of a value someone meant to replace (`REPLACE-with-…`, `changeme`, `xxxx`).
const PLACEHOLDER = /replace|change[-_ .]?me|example|placeholder|xxx|<|>/i

/** Why a bootstrap secret would not work, or not be secret; undefined when it is fine. */
export function bootstrapSecretProblem(secret: string): string | undefined {
  if (secret.length < 32) return 'must be at least 32 characters'
  // RFC 6749 §2.3.1: Basic credentials are form-encoded, so the token endpoint decodes
  // them; a client sending this secret as is (`curl -u id:secret`) would be refused.
  if (/[+%]/.test(secret)) {
    return 'contains "+" or "%", which the form-decoding of HTTP Basic credentials (RFC 6749 §2.3.1) changes, so a client sending it as is would get invalid_client'
  }
  if (PLACEHOLDER.test(secret) || new Set(secret).size < 8) return 'looks like a placeholder, not a random secret'
  return undefined
}
