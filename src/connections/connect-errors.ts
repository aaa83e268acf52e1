// Outcomes of a connect attempt that end it with an error. The code travels to the
// service's return URL (`status=error&error=<code>`) or onto a fixed HTML page; nothing a
// provider or a request sent is ever reflected. (SECURITY.md item 5)
export const CONNECT_ERRORS = {
  session_not_found: 'This connect link is not valid.',
  session_expired: 'This connect link has expired. Start again from the application.',
  session_used: 'This connect link was already used. Start again from the application.',
  invalid_state: 'This answer from the provider does not belong to a connect attempt in progress.',
  browser_mismatch: 'This connect attempt was started in another browser.',
  provider_mismatch: 'The provider that answered is not the one this attempt was started for.',
  issuer_mismatch: 'The answer did not come from the expected authorization server.',
  invalid_request: 'The answer from the provider is malformed.',
  access_denied: 'Access was denied at the provider.',
  authorization_failed: 'The provider could not complete the authorization.',
  provider_rejected: "The provider refused the broker's client registration.",
  provider_unavailable: 'The provider is unavailable. Try again later.',
  connection_unavailable: 'The connection to re-authorize no longer exists.',
  internal_error: 'Something went wrong on our side. Try again later.',
} as const

export type ConnectErrorCode = keyof typeof CONNECT_ERRORS

export class ConnectError extends Error {
  constructor(
    readonly code: ConnectErrorCode,
    /** Where to send the browser, when the attempt is known and has one. */
    readonly returnUrl?: string | null,
    readonly status = 400,
  ) {
    super(code)
    this.name = 'ConnectError'
  }
}
