// Typed errors: every failure the broker reports carries its problem `code` (or, from the
// token endpoint, its RFC 6749 `error`), the HTTP status and the request id to quote.

export interface ErrorDetails {
  code: string
  status: number
  detail?: string | undefined
  requestId?: string | undefined
}

/** An answer of the broker other than success. `code` is the broker's stable code. */
export class BrokerError extends Error {
  readonly code: string
  readonly status: number
  readonly detail: string | undefined
  readonly requestId: string | undefined

  constructor(details: ErrorDetails) {
    super(`${details.status} ${details.code}${details.detail ? `: ${details.detail}` : ''}`)
    this.name = new.target.name
    this.code = details.code
    this.status = details.status
    this.detail = details.detail
    this.requestId = details.requestId
  }
}

/** 409 reauthorization_required: the provider refused the refresh; send the user through a connect session again. */
export class ReauthorizationRequiredError extends BrokerError {}
/** 409 confirmation_pending: the connection waits for POST /v1/connections/:id/confirm. */
export class ConfirmationPendingError extends BrokerError {}
/** 404: no such connection, connect session, ... (or one outside the caller's namespaces). */
export class NotFoundError extends BrokerError {}
/** 502/503 from the provider side, after the client's retries. */
export class ProviderUnavailableError extends BrokerError {}
/** 401 or invalid_client: the client's credentials or broker token were refused. */
export class AuthenticationError extends BrokerError {}
/** 403: the client lacks the scope or the namespace. */
export class ForbiddenError extends BrokerError {}
/** 429 after the client's retries. */
export class RateLimitedError extends BrokerError {}
/** 400 invalid_confirmation: a wrong, reused or expired confirmation code. */
export class InvalidConfirmationError extends BrokerError {}

/** The broker could not be reached or answered something that is not the API (no `code` from it). */
export class BrokerUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BrokerUnreachableError'
  }
}

const BY_CODE: Record<string, new (details: ErrorDetails) => BrokerError> = {
  reauthorization_required: ReauthorizationRequiredError,
  confirmation_pending: ConfirmationPendingError,
  invalid_confirmation: InvalidConfirmationError,
  provider_unavailable: ProviderUnavailableError,
  provider_rejected: ProviderUnavailableError,
  invalid_client: AuthenticationError,
  rate_limited: RateLimitedError,
}

const BY_STATUS: Record<number, new (details: ErrorDetails) => BrokerError> = {
  401: AuthenticationError,
  403: ForbiddenError,
  404: NotFoundError,
  429: RateLimitedError,
}

/** The typed error for an answer: by code first, then by status. */
export function errorFor(details: ErrorDetails): BrokerError {
  const Type = BY_CODE[details.code] ?? BY_STATUS[details.status] ?? BrokerError
  return new Type(details)
}
