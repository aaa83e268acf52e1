// A webhook receiver on 127.0.0.1 for the webhook tests: it records every request (headers
// and body as sent) and answers as told per path: 2xx, an error status, a hang, a reset
// connection, an endless body, or a redirect (whose target records what reaches it).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type Behaviour = 'ok' | 'status500' | 'hang' | 'reset' | 'huge' | 'redirect'

export interface Received {
  path: string
  id: string
  timestamp: string
  signature: string
  headers: Record<string, string>
  body: string
  at: number
}

export interface Receiver {
  url: string
  received: Received[]
  /** Bytes written by 'huge' answers so far. */
  hugeBytesSent: () => number
  behave(path: string, behaviour: Behaviour): void
  /** The requests to `path` (every attempt, retries included). */
  at(path: string): Received[]
  waitFor(check: () => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const CHUNK = Buffer.alloc(64 * 1024, 120)

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = []
  const behaviours = new Map<string, Behaviour>()
  const sockets = new Set<Socket>()
  let hugeBytes = 0
  const answer = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const header = (name: string) => String(req.headers[name] ?? '')
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
    received.push({
      path,
      id: header('webhook-id'),
      timestamp: header('webhook-timestamp'),
      signature: header('webhook-signature'),
      headers,
      body,
      at: Date.now(),
    })
    const behaviour = behaviours.get(path) ?? 'ok'
    if (behaviour === 'ok') return res.writeHead(204).end()
    if (behaviour === 'status500') return res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')
    if (behaviour === 'hang') return
    if (behaviour === 'reset') return req.socket.resetAndDestroy()
    if (behaviour === 'redirect') return res.writeHead(302, { location: `${path}/redirected` }).end()
    // 'huge': a 1 GB answer, written as fast as the client reads it.
    res.writeHead(200, { 'content-length': String(1024 ** 3) })
    const pump = () => {
      while (!res.destroyed && hugeBytes < 1024 ** 3 && res.write(CHUNK)) hugeBytes += CHUNK.length
    }
    res.on('drain', pump)
    pump()
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')))
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    received,
    hugeBytesSent: () => hugeBytes,
    behave: (path, behaviour) => behaviours.set(path, behaviour),
    at: (path) => received.filter((r) => r.path === path),
    async waitFor(check, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs
      while (!check()) {
        if (Date.now() > until) throw new Error(`receiver: condition not met in ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
