// Replica of Interact Software's intranet API authentication (not OAuth: a credential
// exchange). Two HTTPS servers, as in reality the intranet and the API live on different
// hosts:
//   intranet  https://localhost:P1   GET /info -> { ApiDomain, AuthMode, TenantGuid, Name }
//   ApiDomain https://127.0.0.1:P2   POST /token (X-Tenant, form body), GET /api/people
// Both use the test certificate in fixtures/ (trust `caPem`). Facts and sources:
// docs/providers.md.
import { randomUUID } from 'node:crypto'
import {
  bearerToken,
  field,
  safeEqual,
  startReplicaServer,
  TEST_TLS,
  TokenBook,
  type Exchange,
  type RecordedRequest,
  type Rejection,
  type Reply,
} from './common.js'
import { registerSecret } from '../support/secrets.js'

export interface InteractReplicaOptions {
  apiKey?: string
  apiSecret?: string
  tenantGuid?: string
  /** The intranet's short name, returned as Name by /info. */
  name?: string
  /** AuthMode returned by /info ("local" in the documented example). */
  authMode?: string
  /** Access token lifetime, seconds (undocumented). */
  accessTokenTtl?: number
  /** Undocumented; default true: each refresh answers with a new refresh token and spends the old one. */
  rotateRefreshTokens?: boolean
  /** The key/secret example posts to /token?personid=…; default false: optional. */
  requirePersonId?: boolean
  /**
   * What GET /info answers instead of the real discovery (a hostile or broken intranet):
   * a string is sent as is (text/plain), anything else as JSON; given the real body.
   */
  info?: (real: { ApiDomain: string; AuthMode: string; TenantGuid: string; Name: string }) => unknown
  clock?: () => number
}

export async function startInteractReplica(options: InteractReplicaOptions = {}) {
  const apiKey = options.apiKey ?? 'replica-api-key'
  const apiSecret = options.apiSecret ?? 'replica-api-secret-0123456789'
  registerSecret('replica Interact API key', apiKey, { random: false })
  registerSecret('replica Interact API secret', apiSecret, { random: false })
  const tenantGuid = options.tenantGuid ?? 'e822a190-a116-4779-ad0a-87631b51898a'
  const name = options.name ?? 'developer'
  const authMode = options.authMode ?? 'local'
  const accessTtl = options.accessTokenTtl ?? 3600
  const rotate = options.rotateRefreshTokens ?? true
  const requirePersonId = options.requirePersonId ?? false
  const clock = options.clock ?? Date.now
  const book = new TokenBook(clock)
  const requests: RecordedRequest[] = []
  const rejections: Rejection[] = []

  // OWIN-style token errors (JSON); tenant resolution failures come as text/plain, which the
  // docs warn about ("you may get a text/plain response in some cases of an error").
  const oauthError = (error: string, description?: string): Reply => ({
    status: 400,
    headers: { 'cache-control': 'no-cache' },
    body: description ? { error, error_description: description } : { error },
  })
  const plain = (status: number, text: string): Reply => ({
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: text,
  })
  const denied: Reply = { status: 401, body: { Message: 'Authorization has been denied for this request.' } }

  /** X-Tenant must name this intranet's TenantGuid on every ApiDomain call. */
  function tenantOk(ex: Exchange): boolean {
    const t = ex.req.headers['x-tenant']
    const value = Array.isArray(t) ? t[0] : t
    if (!value) {
      ex.reject('X-Tenant header missing', plain(400, 'Tenant could not be resolved'))
      return false
    }
    if (value.toLowerCase() !== tenantGuid.toLowerCase()) {
      ex.reject(`X-Tenant ${value} is not this intranet's TenantGuid`, plain(400, 'Tenant could not be resolved'))
      return false
    }
    return true
  }

  function tokenResponse(accessToken: string, refreshToken: string): Reply {
    return {
      status: 200,
      headers: { 'cache-control': 'no-cache' },
      body: { access_token: accessToken, token_type: 'bearer', expires_in: accessTtl, refresh_token: refreshToken },
    }
  }

  function token(ex: Exchange) {
    const req = ex.req
    if (req.method !== 'POST')
      return ex.reject(`${req.method} /token`, plain(405, 'The requested resource does not support http method.'))
    if (!tenantOk(ex)) return
    // The OWIN token endpoint only reads form bodies: anything else has no grant_type.
    if (req.encoding !== 'form') {
      return ex.reject(
        `token request body must be application/x-www-form-urlencoded, got ${req.contentType ?? 'none'}`,
        oauthError('unsupported_grant_type'),
      )
    }
    const grantType = field(req, 'grant_type')
    if (grantType === 'authorization_code') return keySecret(ex)
    if (grantType === 'refresh_token') return refresh(ex)
    if (grantType === 'password')
      return ex.reject(
        'password grant: not modelled by the replica (the broker uses key/secret)',
        oauthError('invalid_grant', 'The user name or password is incorrect.'),
      )
    return ex.reject(`unsupported grant_type ${grantType ?? '(missing)'}`, oauthError('unsupported_grant_type'))
  }

  function keySecret(ex: Exchange) {
    const req = ex.req
    if (field(req, 'context') !== 'KeySecret') {
      return ex.reject(
        `context must be "KeySecret", got ${field(req, 'context') ?? '(missing)'}`,
        oauthError('invalid_grant', 'Invalid authorization code.'),
      )
    }
    const code = field(req, 'code') ?? ''
    const sep = code.indexOf('__')
    const key = sep >= 0 ? code.slice(0, sep) : ''
    const secret = sep >= 0 ? code.slice(sep + 2) : ''
    if (sep < 0)
      return ex.reject('code must be "{key}__{secret}"', oauthError('invalid_grant', 'Invalid authorization code.'))
    if (key !== apiKey || !safeEqual(secret, apiSecret))
      return ex.reject('wrong API key or secret', oauthError('invalid_grant', 'Invalid authorization code.'))
    if (requirePersonId && !req.query.personid)
      return ex.reject('personid query parameter missing', oauthError('invalid_grant', 'Person not specified.'))
    const grant = book.newGrant(apiKey, ['api'], { personId: req.query.personid ?? '' })
    const access = book.issueAccess(grant, accessTtl)
    const refreshRec = book.issueRefresh(grant, undefined)
    ex.send(tokenResponse(access.token, refreshRec.token))
  }

  function refresh(ex: Exchange) {
    const presented = field(ex.req, 'refresh_token')
    if (!presented) return ex.reject('refresh_token missing', oauthError('invalid_grant'))
    const checked = book.checkRefresh(presented, apiKey)
    if ('error' in checked)
      return ex.reject(checked.error, oauthError('invalid_grant', 'The refresh token is invalid.'))
    const { record, grant } = checked
    book.refreshCount++
    book.usedRefreshTokens.push(presented)
    const access = book.issueAccess(grant, accessTtl)
    let refreshToken = presented
    if (rotate) {
      record.state = 'spent'
      refreshToken = book.issueRefresh(grant, undefined).token
    }
    ex.send(tokenResponse(access.token, refreshToken))
  }

  function people(ex: Exchange) {
    if (ex.req.method !== 'GET')
      return ex.reject(
        `${ex.req.method} /api/people`,
        plain(405, 'The requested resource does not support http method.'),
      )
    if (!tenantOk(ex)) return
    const a = book.liveAccess(bearerToken(ex.req.headers))
    if (!a) return ex.reject('API call with a missing, expired or revoked access token', denied)
    ex.send({ status: 200, body: { Results: [{ personId: 1, FullName: 'Replica Person' }], TotalCount: 1 } })
  }

  const intranet = await startReplicaServer({
    name: 'interact-intranet',
    tls: true,
    hostname: 'localhost',
    requests,
    rejections,
    handle(ex) {
      if (ex.req.path === '/info' && ex.req.method === 'GET') {
        const real = { ApiDomain: `127.0.0.1:${api.port}`, AuthMode: authMode, TenantGuid: tenantGuid, Name: name }
        if (!options.info) return ex.send({ status: 200, body: real })
        const body = options.info(real)
        return ex.send(
          typeof body === 'string'
            ? { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body }
            : { status: 200, body },
        )
      }
      if (ex.req.path === '/token')
        return ex.reject('/token called on the intranet URL: it lives on the ApiDomain from /info', {
          status: 404,
          headers: { 'content-type': 'text/html' },
          body: '<h1>Page not found</h1>',
        })
      ex.reject(`unknown intranet path ${ex.req.method} ${ex.req.path}`, {
        status: 404,
        headers: { 'content-type': 'text/html' },
        body: '<h1>Page not found</h1>',
      })
    },
  })
  const api = await startReplicaServer({
    name: 'interact-api',
    tls: true,
    hostname: '127.0.0.1',
    requests,
    rejections,
    handle(ex) {
      const p = ex.req.path
      if (p === '/token') return token(ex)
      if (p === '/api/people') return people(ex)
      if (p === '/info')
        return ex.reject('/info called on the ApiDomain: it lives on the intranet URL', plain(404, 'Not Found'))
      ex.reject(`unknown API path ${ex.req.method} ${p}`, {
        status: 404,
        body: { Message: `No HTTP resource was found that matches the request URI '${p}'.` },
      })
    },
  })

  const intranetUrl = intranet.origin
  const apiDomain = `127.0.0.1:${api.port}`
  return {
    servers: { intranet, api },
    urls: {
      intranetUrl,
      infoUrl: `${intranetUrl}/info`,
      /** As /info reports it: host[:port], no scheme. */
      apiDomain,
      tokenUrl: `https://${apiDomain}/token`,
      apiBaseUrl: `https://${apiDomain}/api`,
      peopleUrl: `https://${apiDomain}/api/people`,
    },
    /** What a user types into the connect form. */
    credentials: { intranetUrl, apiKey, apiSecret },
    tenantGuid,
    /** The test CA to trust for both servers. */
    caPem: TEST_TLS.caPem,
    quirks: {
      authMode: 'credential_exchange',
      tokenRequestEncoding: 'form',
      extraHeader: 'X-Tenant',
      errors: 'json or text/plain',
    } as const,
    requests,
    rejections,
    usedRefreshTokens: book.usedRefreshTokens,
    book,
    /** TCP connections each server accepted. */
    connectionCounts: () => ({ intranet: intranet.connectionCount(), api: api.connectionCount() }),
    isValid(accessToken: string) {
      return book.liveAccess(accessToken) !== undefined
    },
    refreshCount: () => book.refreshCount,
    expireAccessTokens: () => book.expireAccessTokens(),
    failNext: api.failNext,
    setLatency(ms: number) {
      intranet.setLatency(ms)
      api.setLatency(ms)
    },
    async close() {
      await Promise.all([intranet.close(), api.close()])
    },
  }
}

export type InteractReplica = Awaited<ReturnType<typeof startInteractReplica>>

/** A fresh random tenant GUID (for tests running several intranets). */
export const newTenantGuid = () => randomUUID()
