// One registry of the broker's error codes. Each code has one HTTP status and one title;
// where one applies, the RFC 6749 §5.2 error the token endpoint answers with (`oauth`) and
// the security event its refusal is logged as (`event`).
// - PROBLEMS: the API's codes, rendered as application/problem+json.
// - CONNECT_ERRORS: the codes a connect attempt ends with. The code travels to the service's
//   return URL (`status=error&error=<code>`) or onto a fixed HTML page; nothing a provider or
//   a request sent is ever reflected (docs/security.md, checklist item 5).
// Throw sites name only the code: `problem(code, detail?)`, `new ConnectError(code)`.
// test/http/errors.test.ts keeps this registry, openapi.yaml and the README's tables in step.
import { SECURITY_EVENTS, type SecurityEvent } from './security-events.js'

/** RFC 6749 §5.2 error codes and the statuses the token endpoint answers them with. */
export const OAUTH_ERRORS = {
  invalid_request: 400,
  invalid_client: 401,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  // RFC 6749 §5.2 and RFC 8693 §2.2.2: the token exchange's refusals.
  invalid_grant: 400,
  invalid_target: 400,
} as const

export type OAuthErrorCode = keyof typeof OAUTH_ERRORS

interface Entry {
  status: number
  title: string
  /** The token endpoint's answer for this code; `null`: answered as problem+json (no RFC 6749 error fits). */
  oauth?: OAuthErrorCode | null
  /** The security event a refusal with this code is logged as. */
  event?: SecurityEvent
}

const bad = 'invalid_request' as const
const retry = 'temporarily_unavailable' as const

export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request is malformed', oauth: bad },
  invalid_return_url: { status: 400, title: 'The return URL is not allowed for this service client', oauth: bad },
  invalid_webhook_url: {
    status: 400,
    title: 'The webhook URL is not allowed for this service client',
    oauth: bad,
  },
  invalid_params: { status: 400, title: 'A connect parameter is missing or malformed', oauth: bad },
  invalid_scope: { status: 400, title: 'A requested scope is unknown or not allowed', oauth: bad },
  unknown_provider: { status: 400, title: 'The provider is not configured', oauth: bad },
  invalid_connection: { status: 400, title: 'The connection cannot be re-authorized by this session', oauth: bad },
  invalid_credentials: { status: 400, title: 'The credentials are malformed or the provider refused them', oauth: bad },
  namespace_required: {
    status: 400,
    title: 'The request must name a namespace: the service client holds several',
    oauth: bad,
  },
  invalid_jwks: { status: 400, title: 'The JWK Set is not a small set of public signature keys', oauth: bad },
  invalid_confirmation: {
    status: 400,
    title: 'The confirmation code is wrong, used or expired',
    oauth: bad,
    event: SECURITY_EVENTS.confirmationRefused,
  },
  unauthorized: {
    status: 401,
    title: 'A valid broker token is required',
    oauth: bad,
    event: SECURITY_EVENTS.brokerTokenRefused,
  },
  insufficient_scope: {
    status: 403,
    title: 'The broker token lacks the scope this route needs',
    oauth: bad,
    event: SECURITY_EVENTS.brokerTokenInsufficientScope,
  },
  namespace_forbidden: {
    status: 403,
    title: 'The service client does not hold this namespace',
    oauth: bad,
    event: SECURITY_EVENTS.namespaceForbidden,
  },
  not_found: { status: 404, title: 'No such route', oauth: bad },
  service_client_not_found: { status: 404, title: 'No such service client', oauth: bad },
  connection_not_found: { status: 404, title: 'No such connection', oauth: bad },
  connect_session_not_found: { status: 404, title: 'No such connect session', oauth: bad },
  webhook_endpoint_not_found: { status: 404, title: 'No such webhook endpoint', oauth: bad },
  method_not_allowed: { status: 405, title: 'Method not allowed', oauth: bad },
  conflict: { status: 409, title: 'The resource already exists', oauth: bad },
  reauthorization_required: { status: 409, title: 'The connection needs its user to authorize again', oauth: bad },
  confirmation_pending: {
    status: 409,
    title: 'The connection waits for the service to confirm its end user',
    oauth: bad,
  },
  payload_too_large: { status: 413, title: 'The request body is too large', oauth: bad },
  unsupported_media_type: { status: 415, title: 'The request body has an unsupported content type', oauth: bad },
  // RFC 6749 has no error for "slow down" at the token endpoint: the problem document stays.
  rate_limited: { status: 429, title: 'Too many requests', oauth: null },
  internal_error: { status: 500, title: 'Internal error', oauth: 'server_error' },
  secret_unreadable: {
    status: 500,
    title: 'A stored secret failed its integrity check and was not used',
    oauth: 'server_error',
    event: SECURITY_EVENTS.secretUnreadable,
  },
  provider_rejected: {
    status: 502,
    title: "The provider refused the broker's client credentials or request",
    oauth: 'server_error',
  },
  provider_unavailable: {
    status: 503,
    title: 'The provider is unavailable or answered with an unusable response',
    oauth: retry,
  },
  database_unavailable: { status: 503, title: 'The broker database is unavailable', oauth: retry },
  shutting_down: {
    status: 503,
    title: 'The broker is shutting down; retry, another replica will answer',
    oauth: retry,
  },
} as const satisfies Record<string, Entry>

export type ProblemCode = keyof typeof PROBLEMS

const state = SECURITY_EVENTS.stateRefused
const refused = SECURITY_EVENTS.callbackRefused

/** Connect-attempt codes: the title is the sentence the user reads on the error page. */
export const CONNECT_ERRORS = {
  session_not_found: { status: 404, title: 'This connect link is not valid.' },
  session_expired: {
    status: 400,
    title: 'This connect link has expired. Start again from the application.',
    event: state,
  },
  session_used: { status: 400, title: 'This connect link was already used. Start again from the application.' },
  too_many_attempts: {
    status: 400,
    title: 'This connect link was opened too many times. Start again from the application.',
  },
  invalid_state: {
    status: 400,
    title: 'This answer from the provider does not belong to a connect attempt in progress.',
    event: state,
  },
  browser_mismatch: { status: 400, title: 'This connect attempt was started in another browser.', event: state },
  provider_mismatch: {
    status: 400,
    title: 'The provider that answered is not the one this attempt was started for.',
    event: refused,
  },
  issuer_mismatch: {
    status: 400,
    title: 'The answer did not come from the expected authorization server.',
    event: SECURITY_EVENTS.issuerMismatch,
  },
  invalid_request: { status: 400, title: 'The answer from the provider is malformed.', event: refused },
  access_denied: { status: 400, title: 'Access was denied at the provider.', event: refused },
  authorization_failed: { status: 400, title: 'The provider could not complete the authorization.', event: refused },
  provider_rejected: { status: 502, title: "The provider refused the broker's client registration.", event: refused },
  provider_unavailable: { status: 503, title: 'The provider is unavailable. Try again later.', event: refused },
  connection_unavailable: { status: 409, title: 'The connection to re-authorize no longer exists.', event: refused },
  internal_error: { status: 500, title: 'Something went wrong on our side. Try again later.' },
} as const satisfies Record<string, Entry>

export type ConnectErrorCode = keyof typeof CONNECT_ERRORS

/** The base of the broker's own errors: a stable code that callers, pages and logs match on. */
export class BrokerError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message?: string,
  ) {
    super(message ?? code)
    this.name = new.target.name
  }
}

/** An error meant for the API caller: its code, status and detail are safe to show. */
export class ProblemError extends BrokerError<ProblemCode> {
  readonly status: number
  readonly detail: string | undefined
  /** Extra members for the problem document (never secrets). */
  readonly extra: Record<string, unknown> | undefined
  /** The security event the refusal is logged as: the code's, unless this refusal has its own. */
  readonly event: SecurityEvent | undefined

  constructor(code: ProblemCode, detail?: string, extra?: Record<string, unknown>, event?: SecurityEvent) {
    super(code, detail ?? PROBLEMS[code].title)
    this.status = PROBLEMS[code].status
    this.detail = detail
    this.extra = extra
    this.event = event ?? securityEventOf(code, 'problem')
  }
}

export function problem(code: ProblemCode, detail?: string, extra?: Record<string, unknown>): ProblemError {
  return new ProblemError(code, detail, extra)
}

/**
 * A connection outside the caller's namespaces: the caller gets exactly what a missing
 * connection gets (`code`, with no detail), only the log tells them apart.
 */
export function hiddenConnection(
  code: 'connection_not_found' | 'invalid_connection' = 'connection_not_found',
  detail?: string,
): ProblemError {
  return new ProblemError(code, detail, undefined, SECURITY_EVENTS.namespaceHidden)
}

/** A connect attempt ended with an error: a redirect to `returnUrl` when known, else a page. */
export class ConnectError extends BrokerError<ConnectErrorCode> {
  readonly status: number

  constructor(
    code: ConnectErrorCode,
    /** Where to send the browser, when the attempt is known and has one. */
    readonly returnUrl?: string | null,
  ) {
    super(code)
    this.status = CONNECT_ERRORS[code].status
  }
}

/** The RFC 6749 §5.2 error a token-endpoint failure with this code is answered with, or none. */
export function oauthErrorOf(code: ProblemCode): OAuthErrorCode | null {
  return PROBLEMS[code].oauth
}

/** The security event a refusal with this code is logged as, if any. */
export function securityEventOf(
  code: ProblemCode | ConnectErrorCode,
  registry: 'problem' | 'connect',
): SecurityEvent | undefined {
  const entry: Entry | undefined =
    registry === 'problem' ? PROBLEMS[code as ProblemCode] : CONNECT_ERRORS[code as ConnectErrorCode]
  return entry?.event
}
