// Something other than the broker at the client's URL (an ingress's default page, a proxy
// answering 200 with HTML): the client raises BrokerUnreachableError, never a bare
// SyntaxError from parsing the page, and never a BrokerError with an invented code.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BrokerClient, BrokerError, BrokerUnreachableError } from '../../client/src/index.js'

let server: Server
let url: string

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Welcome</h1>'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('BrokerClient against something that is not the broker', () => {
  it('raises BrokerUnreachableError for a 200 page that is not JSON', async () => {
    const client = new BrokerClient({ url, clientId: 'svc', clientSecret: 's3cret-value' })
    const error = await client.providers().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BrokerUnreachableError)
    expect(error).not.toBeInstanceOf(BrokerError)
    expect(String(error)).toContain('/oauth/token')
    expect(String(error)).not.toContain('s3cret-value')
    const keyed = new BrokerClient({
      url,
      clientId: 'svc',
      privateKey: (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])).privateKey,
    })
    const metadata = await keyed.connections.get('conn_1').catch((e: unknown) => e)
    expect(metadata).toBeInstanceOf(BrokerUnreachableError)
    expect(String(metadata)).toContain('/.well-known/oauth-authorization-server')
  })
})
