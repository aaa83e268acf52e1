// Replica of respond.io's Developer API v2 as far as an API-key connection needs it:
// workspace access tokens (static, no OAuth, no refresh, no revocation API) sent as
// `Authorization: Bearer`, validated with a cheap call. Real base: https://api.respond.io/v2.
// Facts and sources: docs/providers.md.
import { randomBytes } from 'node:crypto'
import { registerJwt } from '../support/secrets.js'
import { bearerToken, startReplicaServer, type Exchange, type Reply } from './common.js'

export interface RespondIoReplicaOptions {
  /** Workspace id encoded in generated tokens. */
  spaceId?: number
  /** Requests allowed per window, reported in X-RateLimit-* headers. */
  rateLimit?: number
}

/** respond.io access tokens are JWTs ({ iat, id, spaceId, type: "api", orgId }); the replica mints look-alikes. */
function mintToken(spaceId: number, id: number): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const payload = { iat: Math.floor(Date.now() / 1000), id, spaceId, type: 'api', orgId: 80 }
  const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}.${randomBytes(32).toString('base64url')}`
  registerJwt('replica respond.io API key', token)
  return token
}

export async function startRespondIoReplica(options: RespondIoReplicaOptions = {}) {
  const spaceId = options.spaceId ?? 106312
  const limit = options.rateLimit ?? 5
  let seq = 22035
  const keys = new Set<string>()
  const apiKey = mintToken(spaceId, seq++)
  keys.add(apiKey)

  // Errors are JSON { code, message } with the HTTP status repeated in code.
  const error = (status: number, message: string): Reply => ({ status, body: { code: status, message } })
  const rateHeaders = () => ({ 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(limit - 1) })

  function authed(ex: Exchange): boolean {
    const auth = ex.req.headers.authorization
    const token = bearerToken(ex.req.headers)
    if (!auth) {
      ex.reject('no Authorization header', error(401, 'Unauthorized'))
      return false
    }
    if (!token) {
      ex.reject('Authorization is not "Bearer <token>"', error(401, 'Unauthorized'))
      return false
    }
    if (!keys.has(token)) {
      ex.reject('unknown or deleted access token', error(401, 'Unauthorized'))
      return false
    }
    return true
  }

  function listUsers(ex: Exchange) {
    if (ex.req.method !== 'GET') return ex.reject(`${ex.req.method} /space/user`, error(404, 'Not Found'))
    if (!authed(ex)) return
    const l = ex.req.query.limit === undefined ? 10 : Number(ex.req.query.limit)
    if (!Number.isInteger(l) || l < 1 || l > 100)
      return ex.reject(`limit must be 1-100, got ${ex.req.query.limit}`, error(400, 'limit must be between 1 and 100'))
    ex.send({
      status: 200,
      headers: rateHeaders(),
      body: {
        items: [
          {
            id: 1,
            firstName: 'Replica',
            lastName: 'Owner',
            email: 'owner@example.com',
            role: 'owner',
            team: null,
            restrictions: [],
          },
        ].slice(0, l),
        pagination: { next: '', previous: '' },
      },
    })
  }

  function listChannels(ex: Exchange) {
    if (!authed(ex)) return
    ex.send({
      status: 200,
      headers: rateHeaders(),
      body: {
        items: [{ id: 431307, name: 'WhatsApp', source: 'whatsapp_cloud', created_at: 1700000000 }],
        pagination: { next: '', previous: '' },
      },
    })
  }

  const server = await startReplicaServer({
    name: 'respond.io',
    handle(ex) {
      const p = ex.req.path
      if (p === '/v2/space/user') return listUsers(ex)
      if (p === '/v2/space/channel') return listChannels(ex)
      if (p.startsWith('/oauth'))
        return ex.reject(`${p}: respond.io has no OAuth endpoints (API keys only)`, error(404, 'Not Found'))
      ex.reject(`unknown path ${ex.req.method} ${p}`, error(404, 'Not Found'))
    },
  })

  const o = server.origin
  return {
    server,
    urls: {
      apiBaseUrl: `${o}/v2`,
      /** The cheapest authenticated call: one workspace user. */
      validationUrl: `${o}/v2/space/user?limit=1`,
    },
    /** A valid workspace API access token. */
    apiKey,
    /** Another token for the same workspace (respond.io allows up to 10). */
    mintKey() {
      const k = mintToken(spaceId, seq++)
      keys.add(k)
      return k
    },
    /** Deleting a token in respond.io's settings: it stops working at once. */
    deleteKey(key: string) {
      keys.delete(key)
    },
    quirks: { authMode: 'api_key', header: 'Authorization: Bearer', refresh: false, revocation: false } as const,
    requests: server.requests,
    rejections: server.rejections,
    isValid: (key: string) => keys.has(key),
    /** API-key connections never refresh. */
    refreshCount: () => 0,
    failNext: server.failNext,
    setLatency: server.setLatency,
    close: () => server.close(),
  }
}

export type RespondIoReplica = Awaited<ReturnType<typeof startRespondIoReplica>>
