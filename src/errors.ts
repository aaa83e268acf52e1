// One registry of the broker's error codes: each code has one HTTP status and one title.
// Routes throw `problem(code, detail?)`; the HTTP layer renders application/problem+json.
// test/http/errors.test.ts keeps this registry, openapi.yaml and the README's table in step.

export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request is malformed' },
  invalid_return_url: { status: 400, title: 'The return URL is not allowed for this service client' },
  invalid_params: { status: 400, title: 'A connect parameter is missing or malformed' },
  invalid_scope: { status: 400, title: 'A requested scope is unknown or not allowed' },
  unknown_provider: { status: 400, title: 'The provider is not configured' },
  invalid_connection: { status: 400, title: 'The connection cannot be re-authorized by this session' },
  invalid_credentials: { status: 400, title: 'The credentials are malformed or the provider refused them' },
  unauthorized: { status: 401, title: 'A valid broker token is required' },
  insufficient_scope: { status: 403, title: 'The broker token lacks the scope this route needs' },
  not_found: { status: 404, title: 'No such route' },
  service_client_not_found: { status: 404, title: 'No such service client' },
  connection_not_found: { status: 404, title: 'No such connection' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'The resource already exists' },
  reauthorization_required: { status: 409, title: 'The connection needs its user to authorize again' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body has an unsupported content type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  secret_unreadable: { status: 500, title: 'A stored secret failed its integrity check and was not used' },
  provider_rejected: { status: 502, title: "The provider refused the broker's client credentials or request" },
  provider_unavailable: { status: 503, title: 'The provider is unavailable or answered with an unusable response' },
  database_unavailable: { status: 503, title: 'The broker database is unavailable' },
  shutting_down: { status: 503, title: 'The broker is shutting down; retry, another replica will answer' },
} as const satisfies Record<string, { status: number; title: string }>

export type ProblemCode = keyof typeof PROBLEMS

/** An error meant for the caller: its code, status and detail are safe to show. */
export class ProblemError extends Error {
  readonly code: ProblemCode
  readonly status: number
  readonly detail: string | undefined
  /** Extra members for the problem document (never secrets). */
  readonly extra: Record<string, unknown> | undefined

  constructor(code: ProblemCode, detail?: string, extra?: Record<string, unknown>) {
    super(detail ?? PROBLEMS[code].title)
    this.name = 'ProblemError'
    this.code = code
    this.status = PROBLEMS[code].status
    this.detail = detail
    this.extra = extra
  }
}

export function problem(code: ProblemCode, detail?: string, extra?: Record<string, unknown>): ProblemError {
  return new ProblemError(code, detail, extra)
}
