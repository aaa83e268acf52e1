// A provider for the client tests: a token endpoint on 127.0.0.1 scripted by refresh token
// (`dead-*`: invalid_grant; `flaky-*`: one 503, then success; else success) and an API
// endpoint, /me, that records the Authorization header it was called with.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ScriptedProvider {
  url: string
  /** Token endpoint calls by refresh token. */
  refreshes: Map<string, number>
  /** Authorization headers /me was called with. */
  apiCalls: string[]
  /** The providers-file entry pointing at it. */
  entry: Record<string, unknown>
  close(): Promise<void>
}

function tokenAnswer(refreshToken: string, calls: number): [number, object] {
  if (refreshToken.startsWith('dead-')) return [400, { error: 'invalid_grant' }]
  if (refreshToken.startsWith('flaky-') && calls === 1) return [503, { error: 'temporarily_unavailable' }]
  return [200, { access_token: `fresh-${refreshToken}-${calls}`, token_type: 'Bearer', expires_in: 3600 }]
}

export async function startScriptedProvider(): Promise<ScriptedProvider> {
  const refreshes = new Map<string, number>()
  const apiCalls: string[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      if (req.url === '/me') {
        apiCalls.push(req.headers.authorization ?? '')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"Ada"}')
        return
      }
      const refreshToken = new URLSearchParams(body).get('refresh_token') ?? ''
      const calls = (refreshes.get(refreshToken) ?? 0) + 1
      refreshes.set(refreshToken, calls)
      const [status, answer] = tokenAnswer(refreshToken, calls)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    refreshes,
    apiCalls,
    entry: {
      displayName: 'Acme',
      authorizationUrl: `${url}/authorize`,
      tokenUrl: `${url}/token`,
      clientId: 'acme-client',
      clientSecret: 'acme-secret-for-tests',
      scopes: ['read'],
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
