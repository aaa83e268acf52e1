// Answers of a provider that stays up but misbehaves at the transport level, for the token
// endpoint faults of test/support/authorization-server.ts: each stops when the client hangs up.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'

export const GIGABYTE = 1024 * 1024 * 1024

/** A 200 JSON answer that sends one byte a second, forever. */
export function trickle(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  const body = '{"access_token":"trickled-at","token_type":"Bearer","expires_in":3600}'
  let sent = 0
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer)
    res.write(body[sent++ % body.length]!)
  }, 1_000)
  res.write(body[sent++]!)
  res.on('close', () => clearInterval(timer))
}

/** A 200 JSON answer declaring and streaming 1 GB, as fast as the client reads it. */
export function gigabyte(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(GIGABYTE) })
  const chunk = Buffer.alloc(64 * 1024, 'a')
  chunk.write('{"access_token":"gigabyte-at","padding":"')
  let sent = 0
  const pump = () => {
    while (sent < GIGABYTE && !res.destroyed) {
      const part = sent === 0 ? chunk : chunk.fill('a')
      sent += part.length
      if (!res.write(part)) return void res.once('drain', pump)
    }
    if (!res.destroyed) res.end()
  }
  pump()
}

/** A 200 "JSON" answer of random bytes. */
export function garbage(res: ServerResponse): void {
  const body = randomBytes(4096)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
  res.end(body)
}

/** The TCP connection reset (RST) before any answer. */
export function reset(req: IncomingMessage): void {
  req.socket.resetAndDestroy()
}
