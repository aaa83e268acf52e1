// One delivery attempt over HTTP: a timeout on the whole exchange, no redirect followed,
// the response body read up to a cap and dropped (only its status matters). Link-local,
// multicast and unspecified addresses are refused: literal ones here, names inside the
// socket's DNS lookup (oauth/network.ts), so a name that resolves to one is caught too.
import { performance } from 'node:perf_hooks'
import { Agent, request, type Dispatcher } from 'undici'
import { guardedLookup, systemResolveHost, type ResolveHost } from '../oauth/network.js'
import { isReservedHost } from '../service-clients/webhook-urls.js'
import type { AttemptResult } from './delivery-store.js'

/** How much of a receiver's answer is read before the connection is dropped. */
export const MAX_RESPONSE_BYTES = 64 * 1024

/** Receivers may be on private networks (an admin allowed the URL); reserved addresses never. */
export function createWebhookDispatcher(resolveHost: ResolveHost = systemResolveHost): Dispatcher {
  return new Agent({ connections: 16, keepAliveTimeout: 10_000, connect: { lookup: guardedLookup(resolveHost, true) } })
}

export interface WebhookRequest {
  url: string
  headers: Record<string, string>
  body: string
}

export async function sendWebhook(
  req: WebhookRequest,
  options: { dispatcher: Dispatcher; timeoutMs: number },
): Promise<AttemptResult> {
  const started = performance.now()
  const took = () => performance.now() - started
  if (isReservedHost(new URL(req.url).hostname)) return { error: 'blocked_address', durationMs: 0 }
  const signal = AbortSignal.timeout(options.timeoutMs)
  let res: Dispatcher.ResponseData
  try {
    res = await request(req.url, {
      method: 'POST',
      headers: { 'user-agent': 'oauth-broker-webhooks', 'content-type': 'application/json', ...req.headers },
      body: req.body,
      signal,
      dispatcher: options.dispatcher,
    })
  } catch (err) {
    return { error: signal.aborted ? 'timeout' : errorClass(err), durationMs: took() }
  }
  await drain(res.body)
  return { responseStatus: res.statusCode, durationMs: took() }
}

/** Reads and drops the answer, at most MAX_RESPONSE_BYTES of it; a slow or endless body is cut off. */
async function drain(body: Dispatcher.ResponseData['body']): Promise<void> {
  let size = 0
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length
      if (size > MAX_RESPONSE_BYTES) break
    }
  } catch {
    // The status line decided the outcome; a broken body changes nothing.
  } finally {
    if (size > MAX_RESPONSE_BYTES || !body.readableEnded) body.destroy()
  }
}

/** A coarse class of a network failure: what GET …/deliveries shows. */
function errorClass(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } }
  const code = e.cause?.code ?? e.code ?? ''
  if (code === 'EBLOCKEDADDRESS') return 'blocked_address'
  if (code === 'ECONNREFUSED') return 'connection_refused'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'connection_reset'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns_failure'
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout'
  return 'network_error'
}
