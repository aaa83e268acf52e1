// A TCP proxy like tcp-proxy.ts whose upstream can change: a PostgreSQL that stopped and
// came back on another port is reached again through the same URL, as a database behind a
// stable service address would be after a restart.
import { connect, createServer, type Socket } from 'node:net'
import type { TcpProxy } from './tcp-proxy.js'

export interface RetargetableProxy extends TcpProxy {
  /** Sends new connections to `target`; open ones (to the old server) are dropped. */
  retarget(target: { host: string; port: number }): void
  /** Like down(), but the clients' connections end with a TCP RST (ECONNRESET), as when a host or a middlebox drops them. */
  reset(): void
}

export async function startRetargetableProxy(initial: { host: string; port: number }): Promise<RetargetableProxy> {
  let target = initial
  let isDown = false
  const sockets = new Set<Socket>()
  const clients = new Set<Socket>()
  const dropAll = () => {
    for (const s of sockets) s.destroy()
    sockets.clear()
    clients.clear()
  }
  const server = createServer((client) => {
    if (isDown) return void client.destroy()
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    clients.add(client)
    const cleanup = () => {
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
    up() {
      isDown = false
    },
    reset() {
      isDown = true
      for (const c of clients) c.resetAndDestroy()
      dropAll()
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
