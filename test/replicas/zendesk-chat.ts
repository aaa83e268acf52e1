// Replica of Zendesk Chat's OAuth 2.0 (per-account subdomain) and of a few Chat API calls.
// Real URLs: https://{subdomain}.zendesk.com/oauth2/chat/authorizations/new,
// .../oauth2/chat/token and .../api/v2/chat/... . Subdomains of 127.0.0.1 cannot resolve,
// so the replica takes the subdomain from the first path segment: the catalog's URLs keep
// the literal placeholder, e.g. http://127.0.0.1:PORT/{subdomain}/oauth2/chat/token.
// Facts and sources: docs/providers.md.
import {
  appendQuery,
  basicAuth,
  bearerToken,
  ConsentDesk,
  consentDecision,
  driveConsent,
  field,
  providerErrorPage,
  safeEqual,
  serveInternalErrorPage,
  startReplicaServer,
  TokenBook,
  type Exchange,
  type Reply,
} from './common.js'

export const ZENDESK_CHAT_SCOPES = ['read', 'write', 'chat'] as const
export const SUBDOMAIN_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/

export interface ZendeskChatReplicaOptions {
  clientId?: string
  clientSecret?: string
  /** Zendesk accounts that exist (default ["acme"]). */
  subdomains?: string[]
  redirectUris?: string[]
  /** Access token lifetime, seconds; undocumented (the token API example shows 10 h). */
  accessTokenTtl?: number
  /** Leave expires_in out of token responses (tests of a missing lifetime). */
  omitExpiresIn?: boolean
  /** Refresh tokens are single-use (default true). */
  rotateRefreshTokens?: boolean
  /** Reusing a spent refresh token also revokes the grant (default false; undocumented). */
  revokeGrantOnRefreshReuse?: boolean
  clock?: () => number
}

interface PendingAuth {
  subdomain: string
  redirectUri: string
  state: string | undefined
  scopes: string[]
}

export async function startZendeskChatReplica(options: ZendeskChatReplicaOptions = {}) {
  const clientId = options.clientId ?? 'zendesk_chat_client'
  const clientSecret = options.clientSecret ?? 'zendesk-chat-client-secret-0123456789'
  const subdomains = options.subdomains ?? ['acme']
  const redirectUris = [...(options.redirectUris ?? ['http://127.0.0.1/oauth/callback/zendesk-chat'])]
  const accessTtl = options.accessTokenTtl ?? 36000
  const omitExpiresIn = options.omitExpiresIn ?? false
  const rotate = options.rotateRefreshTokens ?? true
  const revokeOnReuse = options.revokeGrantOnRefreshReuse ?? false
  const clock = options.clock ?? Date.now
  const book = new TokenBook(clock)
  const desk = new ConsentDesk<PendingAuth>()
  const agentId = 100000204

  const oauthError = (status: number, error: string, description: string): Reply => ({
    status,
    headers: { 'cache-control': 'no-store' },
    body: { error, error_description: description },
  })
  const apiUnauthorized: Reply = {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="Zendesk Chat", error="invalid_token"' },
    body: {
      error: 'invalid_token',
      error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.',
    },
  }
  const noSuchAccount: Reply = {
    status: 404,
    headers: { 'content-type': 'text/html' },
    body: '<h1>Oops! This help center no longer exists</h1>',
  }

  function authorize(ex: Exchange, subdomain: string) {
    const q = ex.req.query
    if (ex.req.method !== 'GET')
      return ex.reject('authorization request must be a GET', { status: 405, body: 'Method Not Allowed' })
    // Client and redirect problems are shown on Zendesk's page; the rest go back with error= (RFC 6749 §4.1.2.1).
    if (ex.req.duplicateParams.length)
      return ex.reject(
        `repeated parameters: ${ex.req.duplicateParams.join(', ')}`,
        providerErrorPage('invalid_request', 'repeated parameters'),
      )
    if (q.client_id !== clientId)
      return ex.reject(
        `unknown client_id ${q.client_id ?? '(missing)'}`,
        providerErrorPage('invalid_client', 'unknown client'),
      )
    if (!q.redirect_uri || !redirectUris.includes(q.redirect_uri)) {
      return ex.reject(
        `redirect_uri ${q.redirect_uri ?? '(missing)'} is not registered`,
        providerErrorPage('invalid_request', 'redirect_uri mismatch'),
      )
    }
    const back = (reason: string, error: string) =>
      ex.reject(reason, {
        status: 302,
        headers: { location: appendQuery(q.redirect_uri!, { error, error_description: reason, state: q.state }) },
      })
    if (q.response_type !== 'code')
      return back(`response_type must be "code", got ${q.response_type ?? '(missing)'}`, 'unsupported_response_type')
    if (!q.scope) return back('scope is required ("read", "write", "chat", space-separated)', 'invalid_scope')
    const scopes = q.scope.split(' ')
    const unknown = scopes.filter((s) => !(ZENDESK_CHAT_SCOPES as readonly string[]).includes(s))
    if (unknown.length) return back(`unknown scopes (separator is a space): ${unknown.join(', ')}`, 'invalid_scope')
    if (q.code_challenge !== undefined || q.code_challenge_method !== undefined) {
      ex.note('PKCE parameters sent: Zendesk Chat does not document PKCE and ignores them')
    }
    const id = desk.open({ subdomain, redirectUri: q.redirect_uri, state: q.state, scopes })
    ex.send(desk.page(id, `Zendesk Chat (${subdomain}): allow access?`, [`Scopes: ${scopes.join(' ')}`]))
  }

  function decide(ex: Exchange, id: string, allow: boolean) {
    const p = desk.take(id)
    if (!p) return ex.send({ status: 404, body: 'unknown consent' })
    if (!allow) {
      return ex.send({
        status: 302,
        headers: {
          location: appendQuery(p.redirectUri, {
            error: 'access_denied',
            error_description: 'The end-user or authorization server denied the request.',
            state: p.state,
          }),
        },
      })
    }
    const code = book.issueCode({
      clientId,
      redirectUri: p.redirectUri,
      redirectUriSent: p.redirectUri,
      scopes: p.scopes,
      expiresAt: clock() + 120 * 1000,
      extra: { subdomain: p.subdomain },
    })
    ex.send({ status: 302, headers: { location: appendQuery(p.redirectUri, { code, state: p.state }) } })
  }

  function tokenResponse(access: { token: string; scopes: string[] }, refreshToken: string): Reply {
    const body: Record<string, unknown> = {
      access_token: access.token,
      token_type: 'Bearer',
      refresh_token: refreshToken,
      scope: access.scopes.join(' '),
    }
    if (!omitExpiresIn) body.expires_in = accessTtl
    return { status: 200, headers: { 'cache-control': 'no-store' }, body }
  }

  function token(ex: Exchange, subdomain: string) {
    const req = ex.req
    if (req.method !== 'POST')
      return ex.reject('token endpoint takes POST', oauthError(405, 'invalid_request', 'POST only'))
    if (req.encoding !== 'form') {
      return ex.reject(
        `token request body must be application/x-www-form-urlencoded, got ${req.contentType ?? 'none'}`,
        oauthError(400, 'invalid_request', 'The request is missing a required parameter.'),
      )
    }
    if (req.duplicateParams.length)
      return ex.reject(
        `repeated parameters: ${req.duplicateParams.join(', ')}`,
        oauthError(400, 'invalid_request', 'repeated parameter'),
      )
    if (basicAuth(req.headers) !== undefined) {
      return ex.reject(
        'HTTP Basic client authentication: Zendesk Chat takes client_id and client_secret in the body',
        oauthError(401, 'invalid_client', 'Client authentication failed.'),
      )
    }
    const id = field(req, 'client_id')
    const secret = field(req, 'client_secret')
    if (id !== clientId || !secret || !safeEqual(secret, clientSecret)) {
      return ex.reject(
        `client authentication failed (client_id ${id ?? 'missing'}, client_secret ${secret ? 'wrong' : 'missing'})`,
        oauthError(401, 'invalid_client', 'Client authentication failed.'),
      )
    }
    const grantType = field(req, 'grant_type')
    if (grantType === 'authorization_code') return exchangeCode(ex, subdomain)
    if (grantType === 'refresh_token') return refresh(ex, subdomain)
    return ex.reject(
      `unsupported grant_type ${grantType ?? '(missing)'}`,
      oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported.'),
    )
  }

  function exchangeCode(ex: Exchange, subdomain: string) {
    const req = ex.req
    const code = field(req, 'code')
    if (!code) return ex.reject('code is missing', oauthError(400, 'invalid_request', 'missing code'))
    const taken = book.takeCode(code)
    if ('error' in taken)
      return ex.reject(
        `authorization code ${taken.error}`,
        oauthError(400, 'invalid_grant', 'The provided authorization grant is invalid, expired, or revoked.'),
      )
    const rec = taken.record
    if (rec.extra.subdomain !== subdomain) {
      return ex.reject(
        `code issued for ${rec.extra.subdomain}, exchanged at ${subdomain}`,
        oauthError(400, 'invalid_grant', 'The provided authorization grant is invalid, expired, or revoked.'),
      )
    }
    if (field(req, 'redirect_uri') !== rec.redirectUri) {
      return ex.reject(
        `redirect_uri ${field(req, 'redirect_uri') ?? '(missing)'} differs from the authorization request's`,
        oauthError(400, 'invalid_grant', 'redirect_uri mismatch'),
      )
    }
    if (field(req, 'code_verifier') !== undefined)
      ex.note('code_verifier sent: Zendesk Chat does not document PKCE and ignores it')
    const scope = field(req, 'scope')
    if (scope?.split(' ').some((s) => !rec.scopes.includes(s))) {
      return ex.reject(
        `scope ${scope} exceeds the authorized scopes`,
        oauthError(400, 'invalid_scope', 'invalid scope'),
      )
    }
    const grant = book.newGrant(clientId, rec.scopes, { subdomain })
    rec.grantId = grant.id
    const access = book.issueAccess(grant, accessTtl)
    const refreshRec = book.issueRefresh(grant, undefined)
    ex.send(tokenResponse(access, refreshRec.token))
  }

  function refresh(ex: Exchange, subdomain: string) {
    const presented = field(ex.req, 'refresh_token')
    if (!presented)
      return ex.reject('refresh_token is missing', oauthError(400, 'invalid_request', 'missing refresh_token'))
    const checked = book.checkRefresh(presented, clientId)
    if ('error' in checked) {
      const rec = book.refresh.get(presented)
      if (rec?.state === 'spent' && revokeOnReuse) book.revokeGrant(rec.grantId)
      return ex.reject(
        checked.error,
        oauthError(400, 'invalid_grant', 'The provided authorization grant is invalid, expired, or revoked.'),
      )
    }
    const { record, grant } = checked
    if (grant.extra.subdomain !== subdomain) {
      return ex.reject(
        `refresh token of ${grant.extra.subdomain} presented at ${subdomain}`,
        oauthError(400, 'invalid_grant', 'The provided authorization grant is invalid, expired, or revoked.'),
      )
    }
    book.refreshCount++
    book.usedRefreshTokens.push(presented)
    const access = book.issueAccess(grant, accessTtl)
    let refreshToken = presented
    if (rotate) {
      record.state = 'spent'
      refreshToken = book.issueRefresh(grant, undefined).token
    }
    ex.send(tokenResponse(access, refreshToken))
  }

  function authed(ex: Exchange, subdomain: string, scope: string) {
    const a = book.liveAccess(bearerToken(ex.req.headers))
    if (!a || book.grants.get(a.grantId)?.extra.subdomain !== subdomain) {
      ex.reject('Chat API call with a missing, expired, revoked or other-account token', apiUnauthorized)
      return undefined
    }
    if (!a.scopes.includes(scope)) {
      ex.reject(`token lacks the "${scope}" scope`, {
        status: 403,
        body: { error: 'insufficient_scope', error_description: `requires ${scope}` },
      })
      return undefined
    }
    return a
  }

  function account(ex: Exchange, subdomain: string) {
    if (ex.req.method !== 'GET')
      return ex.reject('GET /api/v2/chat/account only', { status: 405, body: { error: 'method_not_allowed' } })
    if (!authed(ex, subdomain, 'read')) return
    ex.send({
      status: 200,
      body: {
        account_key: `${subdomain}-key`,
        status: 'active',
        create_date: '2020-01-01T00:00:00Z',
        plan: { name: 'enterprise', max_agents: 10 },
      },
    })
  }

  function tokenJson(a: {
    id: number
    token: string
    grantId: string
    scopes: string[]
    issuedAt: number
    expiresAt: number
  }) {
    const refresh = [...book.refresh.values()].find((r) => r.grantId === a.grantId && r.state === 'active')
    return {
      access_token: a.token,
      agent_id: agentId,
      client_identifier: clientId,
      create_date: new Date(a.issuedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      expire_date: new Date(a.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      id: a.id,
      refresh_token: refresh?.token ?? null,
      scopes: a.scopes.join(' '),
      token_type: 'Bearer',
    }
  }

  /** The Chat OAuth Tokens API: list the agent's tokens, show one, revoke one by id (Administrator). */
  function oauthTokens(ex: Exchange, subdomain: string, id: string | undefined) {
    if (!authed(ex, subdomain, 'read')) return
    const tokens = [...book.access.values()].filter(
      (a) => !a.revoked && book.grants.get(a.grantId)?.extra.subdomain === subdomain && a.expiresAt > clock(),
    )
    if (id === undefined) {
      if (ex.req.method !== 'GET')
        return ex.reject(`${ex.req.method} on the token list`, { status: 405, body: { error: 'method_not_allowed' } })
      return ex.send({ status: 200, body: tokens.map(tokenJson) })
    }
    const target = tokens.find((a) => String(a.id) === id)
    if (!target) return ex.reject(`no token with id ${id}`, { status: 404, body: { error: 'not_found' } })
    if (ex.req.method === 'GET') return ex.send({ status: 200, body: tokenJson(target) })
    if (ex.req.method !== 'DELETE')
      return ex.reject(`${ex.req.method} on a token`, { status: 405, body: { error: 'method_not_allowed' } })
    book.revokeGrant(target.grantId)
    ex.send({ status: 204 })
  }

  const server = await startReplicaServer({
    name: 'zendesk-chat',
    handle(ex) {
      const d = consentDecision(ex)
      if (d) return decide(ex, d.id, d.allow)
      if (serveInternalErrorPage(ex)) return
      const m = /^\/([^/]+)(\/.*)$/.exec(ex.req.path)
      const segment = m?.[1] ? decodeURIComponent(m[1]) : ''
      const rest = m?.[2] ?? ''
      if (segment === '{subdomain}') return ex.reject('the {subdomain} placeholder was not filled in', noSuchAccount)
      if (!SUBDOMAIN_PATTERN.test(segment) || !subdomains.includes(segment)) {
        return ex.reject(`no Zendesk account "${segment}"`, noSuchAccount)
      }
      if (rest === '/oauth2/chat/authorizations/new') return authorize(ex, segment)
      if (rest === '/oauth2/chat/token') return token(ex, segment)
      if (rest === '/api/v2/chat/account') return account(ex, segment)
      // Zendesk Support's own OAuth: its tokens cannot call the Chat API.
      if (rest === '/oauth/authorizations/new' || rest === '/oauth/tokens') {
        return ex.reject(`Zendesk Support OAuth path ${rest}: Chat needs /oauth2/chat/...`, {
          status: 404,
          body: { error: 'RecordNotFound', description: 'Not found' },
        })
      }
      const t = /^\/api\/v2\/chat\/oauth\/tokens(?:\/(\d+))?$/.exec(rest)
      if (t) return oauthTokens(ex, segment, t[1])
      ex.reject(`unknown path ${ex.req.method} ${ex.req.path}`, {
        status: 404,
        body: { error: 'RecordNotFound', description: 'Not found' },
      })
    },
  })

  const o = server.origin
  const urlsFor = (subdomain: string) => ({
    authorizationUrl: `${o}/${subdomain}/oauth2/chat/authorizations/new`,
    tokenUrl: `${o}/${subdomain}/oauth2/chat/token`,
    apiBaseUrl: `${o}/${subdomain}/api/v2/chat`,
    accountUrl: `${o}/${subdomain}/api/v2/chat/account`,
    oauthTokensUrl: `${o}/${subdomain}/api/v2/chat/oauth/tokens`,
  })
  return {
    server,
    /** URLs with the literal `{subdomain}` placeholder in the path, as a catalog entry would hold them. */
    urls: urlsFor('{subdomain}'),
    urlsFor,
    subdomain: subdomains[0]!,
    clientId,
    clientSecret,
    quirks: {
      tokenEndpointAuthMethod: 'client_secret_post',
      tokenRequestEncoding: 'form',
      pkce: 'unsupported',
      scopeSeparator: ' ',
      refreshTokenRotation: rotate,
    } as const,
    requests: server.requests,
    rejections: server.rejections,
    usedRefreshTokens: book.usedRefreshTokens,
    book,
    registerRedirectUri(uri: string) {
      if (!redirectUris.includes(uri)) redirectUris.push(uri)
    },
    authorize(authorizationUrl: string, opts: { deny?: boolean } = {}) {
      return driveConsent(authorizationUrl, opts.deny ? 'deny' : 'allow')
    },
    isValid(accessToken: string) {
      return book.liveAccess(accessToken) !== undefined
    },
    refreshCount: () => book.refreshCount,
    expireAccessTokens: () => book.expireAccessTokens(),
    failNext: server.failNext,
    setLatency: server.setLatency,
    close: () => server.close(),
  }
}

export type ZendeskChatReplica = Awaited<ReturnType<typeof startZendeskChatReplica>>
