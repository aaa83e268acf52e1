// A TCP proxy in front of PostgreSQL that a test can cut: `down()` drops every open
// connection and refuses new ones, like a database that stopped; `reset()` does the same
// with a TCP RST; `up()` lets traffic through again; `retarget()` sends new connections to
// another server (a PostgreSQL that came back on another port, as behind a stable service
// address); `stall()` stops forwarding without closing anything (a silent partition: no
// FIN, no RST, new connections accepted and never answered) until `up()`. Used for faults
// no real database produces on demand at the right time.
import { createServer, connect, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** The database URL rewritten to go through the proxy. */
  url(databaseUrl: string): string
  down(): void
  /**
   * Like down(), but the clients' connections end with a TCP RST (ECONNRESET), as when a host or a middlebox drops
   * them.
   */
  reset(): void
  up(): void
  /** Open connections stop forwarding, silently and for good; new ones hang until up(). */
  stall(): void
  /** Sends new connections to `target`; open ones (to the old server) are dropped. */
  retarget(target: { host: string; port: number }): void
  close(): Promise<void>
}

export async function startTcpProxy(initial: { host: string; port: number }): Promise<TcpProxy> {
  let target = initial
  let isDown = false
  let isStalled = false
  const pairs = new Set<[Socket, Socket]>()
  const sockets = new Set<Socket>()
  const clients = new Set<Socket>()
  const dropAll = () => {
    for (const s of sockets) s.destroy()
    sockets.clear()
    clients.clear()
  }
  const server = createServer((client) => {
    if (isDown) return void client.destroy()
    if (isStalled) {
      sockets.add(client.pause())
      return
    }
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    clients.add(client)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const cleanup = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
      clients.delete(client)
    }
    client.on('error', cleanup).on('close', cleanup)
    upstream.on('error', cleanup).on('close', cleanup)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    url(databaseUrl) {
      const u = new URL(databaseUrl)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.href
    },
    down() {
      isDown = true
      dropAll()
    },
    reset() {
      isDown = true
      for (const c of clients) c.resetAndDestroy()
      dropAll()
    },
    up() {
      isDown = false
      isStalled = false
    },
    stall() {
      isStalled = true
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream).pause()
        upstream.unpipe(client).pause()
      }
    },
    retarget(next) {
      target = next
      dropAll()
    },
    async close() {
      isDown = true
      dropAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
