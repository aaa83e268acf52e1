// The one way the broker calls a provider: a timeout on the whole exchange, a cap on the
// response size, no redirect following (docs/security.md, checklist item 16). Failures to get a complete
// response are transient ProviderErrors; what the response says is for the caller to judge.
// Each call first takes a slot of its provider's bulkhead (oauth/provider-slots.ts): the wait
// for it counts against the same timeout, so a caller never waits longer than timeoutMs.
import { request, type Dispatcher } from 'undici'
import { ProviderError } from './provider-error.js'
import type { ProviderSlots } from './provider-slots.js'

export const MAX_RESPONSE_BYTES = 1024 * 1024

/**
 * At most this share of the timeout is spent waiting for a slot: a call that gets one has at
 * least a tenth of the timeout left, instead of starting with none.
 */
export const MAX_SLOT_WAIT_SHARE = 0.9

export interface ProviderRequest {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  headers: Record<string, string>
  body?: string
}

export interface ProviderResponse {
  status: number
  contentType: string
  body: string
}

export interface ProviderHttpOptions {
  timeoutMs: number
  /** oauth/network.ts: the standard one, or the guarded one for user-supplied hosts. */
  dispatcher: Dispatcher
  /** The provider's bulkhead; absent: unbounded (a call outside any provider's budget). */
  slots?: ProviderSlots
  /** Told each exchange's outcome (`http_2xx`..., or the failure code) and duration (the metrics). */
  observe?: (outcome: string, seconds: number) => void
}

export async function sendProviderRequest(
  req: ProviderRequest,
  options: ProviderHttpOptions,
): Promise<ProviderResponse> {
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  try {
    const res = await sendInSlot(req, options)
    options.observe?.(`http_${Math.floor(res.status / 100)}xx`, seconds())
    return res
  } catch (err) {
    options.observe?.(err instanceof ProviderError ? err.code : 'error', seconds())
    throw err
  }
}

/** Takes a slot of the provider's bulkhead, then makes the exchange in the time left. */
async function sendInSlot(req: ProviderRequest, options: ProviderHttpOptions): Promise<ProviderResponse> {
  const started = Date.now()
  const release = await options.slots?.acquire(options.timeoutMs * MAX_SLOT_WAIT_SHARE)
  try {
    return await exchange(req, options.dispatcher, Math.max(1, options.timeoutMs - (Date.now() - started)))
  } finally {
    release?.()
  }
}

async function exchange(req: ProviderRequest, dispatcher: Dispatcher, timeoutMs: number): Promise<ProviderResponse> {
  const signal = AbortSignal.timeout(timeoutMs)
  let res: Dispatcher.ResponseData
  try {
    res = await request(req.url, {
      method: req.method,
      headers: { 'user-agent': 'oauth-broker', accept: 'application/json', ...req.headers },
      body: req.body,
      signal,
      dispatcher,
    })
  } catch (err) {
    throw networkError(err, signal)
  }
  try {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > MAX_RESPONSE_BYTES) {
        res.body.destroy()
        throw new ProviderError('transient', 'response_too_large', `response larger than ${MAX_RESPONSE_BYTES} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    const contentType = String(res.headers['content-type'] ?? '')
    return { status: res.statusCode, contentType, body: Buffer.concat(chunks).toString('utf8') }
  } catch (err) {
    if (err instanceof ProviderError) throw err
    throw networkError(err, signal)
  }
}

function networkError(err: unknown, signal: AbortSignal): ProviderError {
  if (signal.aborted) return new ProviderError('transient', 'timeout', 'the provider did not answer in time')
  if (err instanceof ProviderError) return err
  const code =
    (err as { code?: string; cause?: { code?: string } }).cause?.code ??
    (err as { code?: string }).code ??
    'network_error'
  // A user-supplied host that resolves to an internal address: refused, not retried.
  if (code === 'EBLOCKEDADDRESS')
    return new ProviderError('configuration', 'blocked_address', 'the host resolves to an internal address')
  // NXDOMAIN (a DNS outage is EAI_AGAIN): still transient for a configured provider.
  if (code === 'ENOTFOUND')
    return new ProviderError('transient', 'host_not_found', 'the provider host does not resolve')
  return new ProviderError('transient', 'network_error', `request to the provider failed (${code})`)
}
