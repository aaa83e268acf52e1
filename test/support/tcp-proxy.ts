// A TCP proxy in front of PostgreSQL that a test can cut: `down()` drops every open
// connection and refuses new ones, like a database that stopped; `up()` lets traffic
// through again. Used for faults no real database produces on demand at the right time.
import { createServer, connect, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** The database URL rewritten to go through the proxy. */
  url(databaseUrl: string): string
  down(): void
  up(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let isDown = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (isDown) return void client.destroy()
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    const cleanup = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
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
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    up() {
      isDown = false
    },
    async close() {
      isDown = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
