// One HTTP exchange with the broker: fetch, retries of 503 and 429 that honour Retry-After
// (plus jitter, so many clients do not come back in step), and typed errors.
import { BrokerUnreachableError, errorFor, type BrokerError } from './errors.js'

export interface RetryOptions {
  /** Retries after a 503 or 429 (default 3); 0 disables them. */
  maxRetries: number
  /** The longest single wait (default 10000 ms): a longer Retry-After is not waited for. */
  maxDelayMs: number
}

export interface Transport {
  fetch: typeof fetch
  retry: RetryOptions
  sleep: (ms: number) => Promise<void>
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends the request built by `make` (called again for each attempt), retrying 503 and 429. */
export async function exchange(transport: Transport, make: () => Request): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const request = make()
    let response: Response
    try {
      response = await transport.fetch(request)
    } catch (cause) {
      throw new BrokerUnreachableError(`${request.method} ${new URL(request.url).pathname}: ${String(cause)}`, {
        cause,
      })
    }
    if (response.ok) return response
    const wait = retryDelay(response, attempt, transport.retry)
    if (wait === undefined) throw await errorOf(response)
    await response.body?.cancel()
    await transport.sleep(wait)
  }
}

/** A successful answer's JSON; a body that is not JSON (a proxy's page) is not the API. */
export async function readJson<T>(response: Response): Promise<T> {
  try {
    return (await response.json()) as T
  } catch (cause) {
    const where = new URL(response.url || 'http://broker/').pathname
    throw new BrokerUnreachableError(`${where}: a ${response.status} answer that is not the broker's JSON`, { cause })
  }
}

/** How long to wait before the next attempt, or undefined when not to retry. */
export function retryDelay(response: Response, attempt: number, retry: RetryOptions): number | undefined {
  if ((response.status !== 503 && response.status !== 429) || attempt >= retry.maxRetries) return undefined
  const base = retryAfterMs(response.headers.get('retry-after')) ?? 250 * 2 ** attempt
  if (base > retry.maxDelayMs) return undefined
  // Never sooner than asked; up to half again (at most 1 s) later.
  return Math.min(retry.maxDelayMs, base + Math.random() * Math.min(base / 2, 1000))
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** The typed error of a failed answer: problem+json `code`, or RFC 6749 `error`. */
export async function errorOf(response: Response): Promise<BrokerError> {
  const requestId = response.headers.get('x-request-id') ?? undefined
  let body: Record<string, unknown> = {}
  try {
    const parsed: unknown = await response.json()
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>
  } catch {
    // Not JSON (a proxy's page): the status alone speaks.
  }
  const code = typeof body.code === 'string' ? body.code : typeof body.error === 'string' ? body.error : undefined
  const detail =
    typeof body.detail === 'string'
      ? body.detail
      : typeof body.error_description === 'string'
        ? body.error_description
        : undefined
  return errorFor({ code: code ?? `http_${response.status}`, status: response.status, detail, requestId })
}
