// How a failed call to a provider is classified (SECURITY.md item 15). Only `grant`
// failures say something about the connection itself (its user must authorize again);
// `configuration` failures are the broker's client registration being refused (the same
// for every connection of the provider: never a reason to drop a user's grant);
// `transient` failures (timeouts, 5xx, HTML, malformed bodies) keep the stored tokens.
export type FailureClass = 'grant' | 'configuration' | 'transient'

export class ProviderError extends Error {
  constructor(
    readonly failure: FailureClass,
    /** A short stable code: the OAuth `error` value, or e.g. `timeout`, `http_503`, `malformed_response`. */
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ProviderError'
  }
}

/** OAuth error codes that mean the grant itself is gone (RFC 6749 §5.2). */
const GRANT_ERRORS = new Set(['invalid_grant', 'invalid_scope'])

export function classifyOAuthError(status: number, error: string): FailureClass {
  if (status >= 500) return 'transient'
  if (GRANT_ERRORS.has(error)) return 'grant'
  // temporarily_unavailable / slow_down are the provider asking for patience.
  if (error === 'temporarily_unavailable' || error === 'slow_down') return 'transient'
  return 'configuration'
}
