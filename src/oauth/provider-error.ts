// How a failed call to a provider is classified (docs/security.md, checklist item 15). Only `grant`
// failures say something about the connection itself (its user must authorize again);
// `configuration` failures are the broker's client registration being refused (the same
// for every connection of the provider: never a reason to drop a user's grant);
// `transient` failures (timeouts, 5xx, HTML, malformed bodies) keep the stored tokens.
import { BrokerError } from '../errors.js'

export type FailureClass = 'grant' | 'configuration' | 'transient'

/** `code` is the provider's: a known OAuth `error` value, or e.g. `timeout`, `http_503`, `malformed_response`. */
export class ProviderError extends BrokerError {
  constructor(
    readonly failure: FailureClass,
    code: string,
    message: string,
  ) {
    super(code, message)
  }
}

/** OAuth error codes that mean the grant itself is gone (RFC 6749 §5.2). */
const GRANT_ERRORS = new Set(['invalid_grant', 'invalid_scope'])
/** The rest of RFC 6749 §5.2: the provider refuses the broker's request or client. */
const CONFIGURATION_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
])
/**
 * The provider asking for patience: RFC 6749 §4.1.2.1 (temporarily_unavailable, server_error), RFC 8628 §3.5
 * (slow_down).
 */
const TRANSIENT_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down'])

/**
 * The code kept from a provider's `error` member: a known OAuth code as it is, anything
 * else `http_<status>`. Provider text never reaches logs, rows or problem details.
 */
export function oauthErrorCode(error: unknown, status: number): string {
  const known =
    typeof error === 'string' &&
    (GRANT_ERRORS.has(error) || CONFIGURATION_ERRORS.has(error) || TRANSIENT_ERRORS.has(error))
  return known ? error : `http_${status}`
}

/**
 * The class of a failure of the token endpoint by its code alone, so that a code read
 * back from a row (`last_error_code`) classifies as the failure did when it happened.
 * Unknown codes are transient: the safe side (tokens kept, no grant dropped).
 */
export function failureOf(code: string): FailureClass {
  if (GRANT_ERRORS.has(code)) return 'grant'
  if (CONFIGURATION_ERRORS.has(code) || code === 'blocked_address' || /^http_4\d\d$/.test(code)) return 'configuration'
  return 'transient'
}
