// Security events (docs/security.md, checklist item 27): each is one log line with a stable `event` field
// that alerting can match on, and never a secret value (no token, state, code, verifier or
// key; a broker token's `kid` is public). docs/decisions.md "Security events" lists them.
export const SECURITY_EVENTS = {
  /** A callback's state was missing, unknown (forged), replayed, expired, or came from another browser. */
  stateRefused: 'connect.state_refused',
  /** The callback's RFC 9207 `iss` was missing or not the provider's issuer. */
  issuerMismatch: 'connect.issuer_mismatch',
  /** The provider refused the code exchange (a wrong PKCE verifier, a reused or foreign code). */
  codeExchangeFailed: 'connect.code_exchange_failed',
  /** Any other refused callback (wrong provider path, provider `error=`, malformed answer). */
  callbackRefused: 'connect.callback_refused',
  /** A /v1 request without a valid broker token. */
  brokerTokenRefused: 'broker_token.refused',
  /** A valid broker token without the route's scope. */
  brokerTokenInsufficientScope: 'broker_token.insufficient_scope',
  /** Wrong or unknown client credentials at POST /oauth/token. */
  clientAuthenticationFailed: 'client_authentication.failed',
  /** A caller named a namespace it does not hold (403 namespace_forbidden). */
  namespaceForbidden: 'namespace.forbidden',
  /** A caller named a connection of a namespace it does not hold: answered as a missing one. */
  namespaceHidden: 'namespace.connection_hidden',
  /** A client assertion (RFC 7523 private_key_jwt) refused: header, algorithm, claims, signature or key. */
  clientAssertionRefused: 'client_assertion.refused',
  /** A client assertion whose jti was already used, on any replica: a replay. */
  clientAssertionReplayed: 'client_assertion.replayed',
  connectionRevoked: 'connection.revoked',
  /** A wrong confirmation code for a pending grant (never the code itself); the 5th discards the grant. */
  confirmationRefused: 'connection.confirmation_refused',
  signingKeyCreated: 'signing_key.created',
  signingKeyRotated: 'signing_key.rotated',
  /** Sealed values of one table re-encrypted under the newest encryption key. */
  reencrypted: 'encryption.reencrypted',
  /** A stored ciphertext failed authentication (tampered or moved): never used. */
  secretUnreadable: 'secret.unreadable',
} as const

export type SecurityEvent = (typeof SECURITY_EVENTS)[keyof typeof SECURITY_EVENTS]
