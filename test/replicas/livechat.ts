// Replica of LiveChat's (Text, Inc.) Global Accounts OAuth 2.1 server for a server-side
// app (authorization code, client secret in the body) and of the calls that prove a
// token works. Real hosts: accounts.livechat.com (authorize at "/", /v2/token, /v2/info,
// /v2/accounts/me) and api.livechatinc.com (/v3.6/...); here one server serves both.
// Facts and sources: docs/providers.md.
import {
  appendQuery,
  basicAuth,
  bearerToken,
  ConsentDesk,
  consentDecision,
  driveConsent,
  field,
  isPkceString,
  s256,
  safeEqual,
  startReplicaServer,
  TokenBook,
  type Exchange,
  type GrantRecord,
  type Reply,
} from './common.js'

export interface LiveChatReplicaOptions {
  clientId?: string
  clientSecret?: string
  /** Redirect URIs configured in the Developer Console (matching rules: docs/providers.md). */
  redirectUris?: string[]
  /** Scopes configured for the app in the Developer Console (not sent at authorization). */
  appScopes?: string[]
  /** Data-centre prefix of codes and tokens ("dal" or "fra"). */
  region?: string
  accountId?: string
  organizationId?: string
  /** Access token lifetime, seconds (docs: 28800 by default). */
  accessTokenTtl?: number
  /** Server-side apps: refresh tokens do not rotate (default false); web apps: they do. */
  rotateRefreshTokens?: boolean
  /** At most this many access (and refresh) tokens per client per user; the oldest is revoked (docs: 25). */
  tokenLimit?: number
  /** Several integrations post JSON and LiveChat seems to accept it; the docs show form. Default false. */
  acceptJson?: boolean
  /**
   * PKCE is optional for server-side apps; the broker must always send it with
   * code_challenge_method=S256 explicitly (the default method is plain). Default true:
   * a missing challenge or method is recorded as a (soft) rejection.
   */
  requirePkce?: boolean
  clock?: () => number
}

interface PendingAuth {
  redirectUri: string
  state: string | undefined
  challenge: string | undefined
  method: 'S256' | 'plain' | undefined
  scopes: string[]
}

export async function startLiveChatReplica(options: LiveChatReplicaOptions = {}) {
  const clientId = options.clientId ?? '9cbf3a968289727cb3cdfe83ab1d9836'
  const clientSecret = options.clientSecret ?? 'livechat-client-secret-0123456789'
  const redirectUris = [...(options.redirectUris ?? ['http://127.0.0.1/oauth/callback/livechat'])]
  const appScopes = options.appScopes ?? ['chats--all:ro', 'customers:ro', 'agents--my:ro', 'accounts--my:ro']
  const region = options.region ?? 'dal'
  const prefix = `${region}:`
  const accountId = options.accountId ?? 'b7eff798-f8df-4364-8059-649c35c9ed0c'
  const organizationId = options.organizationId ?? '390e44e6-f1e6-0368c-z6ddb-74g14508c2ex'
  const accessTtl = options.accessTokenTtl ?? 28800
  const rotate = options.rotateRefreshTokens ?? false
  const tokenLimit = options.tokenLimit ?? 25
  const acceptJson = options.acceptJson ?? false
  const requirePkce = options.requirePkce ?? true
  const clock = options.clock ?? Date.now
  const book = new TokenBook(clock)
  const desk = new ConsentDesk<PendingAuth>()
  let origin = ''

  // Authorization errors land on LiveChat's own error page, never on the redirect URI.
  const ooops = (exception: string, details?: string): Reply => ({
    status: 302,
    headers: { location: appendQuery(`${origin}/ooops`, { oauth_exception: exception, exception_details: details }) },
  })
  // Token endpoint errors: RFC 6749 shape (the docs list the error codes, not the body).
  const oauthError = (status: number, error: string, description: string): Reply => ({
    status,
    headers: { 'cache-control': 'no-store' },
    body: { error, error_description: description },
  })

  /**
   * LiveChat's redirect rules: same scheme and host[:port]; configured path a prefix of the requested; no query,
   * fragment or traversal.
   */
  function redirectAllowed(requested: string): boolean {
    let r: URL
    try {
      r = new URL(requested)
    } catch {
      return false
    }
    if (
      r.search ||
      r.hash ||
      requested.includes('#') ||
      /(^|\/)\.\.?(\/|$)/.test(requested.replace(/^[a-z]+:\/\/[^/]+/i, ''))
    )
      return false
    return redirectUris.some((c) => {
      const cu = new URL(c)
      return (
        cu.protocol === r.protocol && cu.host === r.host && r.pathname.startsWith(cu.pathname.replace(/\/$/, '') || '/')
      )
    })
  }

  function authorize(ex: Exchange) {
    const q = ex.req.query
    if (ex.req.method !== 'GET') return ex.reject('authorization request must be a GET', ooops('invalid_request'))
    if (ex.req.duplicateParams.length)
      return ex.reject(`repeated parameters: ${ex.req.duplicateParams.join(', ')}`, ooops('invalid_request'))
    if (!q.client_id) return ex.reject('client_id is missing', ooops('unauthorized_client', 'client_id_not_found'))
    if (q.client_id !== clientId)
      return ex.reject(`unknown client_id ${q.client_id}`, ooops('unauthorized_client', 'client_id_not_found'))
    if (!q.redirect_uri || !redirectAllowed(q.redirect_uri)) {
      return ex.reject(
        `redirect_uri ${q.redirect_uri ?? '(missing)'} is not allowed for the client`,
        ooops('unauthorized_client', 'invalid_redirect_uri'),
      )
    }
    if (q.response_type !== 'code') {
      // "token" (implicit) exists at LiveChat but is not for a server-side broker.
      return ex.reject(
        `response_type must be "code", got ${q.response_type ?? '(missing)'}`,
        ooops('unsupported_response_type'),
      )
    }
    // Scopes come from the app's configuration in the Developer Console; a `scope`
    // parameter is not part of LiveChat's authorization request, so it is ignored.
    if (q.scope !== undefined)
      ex.note(
        `scope parameter sent ("${q.scope}"): LiveChat takes scopes ` +
          `from the app's configuration in the Developer Console`,
      )
    const scopes = appScopes
    let method: 'S256' | 'plain' | undefined
    if (q.code_challenge !== undefined) {
      if (!isPkceString(q.code_challenge))
        return ex.reject('code_challenge must be 43-128 characters', ooops('invalid_request'))
      const m = q.code_challenge_method
      if (m === undefined) {
        method = 'plain'
        ex.note(
          'code_challenge_method missing: LiveChat assumes "plain", so an ' +
            'S256 verifier will not match; send code_challenge_method=S256',
        )
      } else if (m.toLowerCase() === 's256') {
        method = 'S256'
      } else if (m === 'plain') {
        method = 'plain'
        ex.note('code_challenge_method=plain: the broker must use S256')
      } else {
        return ex.reject(`unknown code_challenge_method ${m}`, ooops('invalid_request'))
      }
    } else if (requirePkce) {
      ex.note('no PKCE: the broker must send code_challenge with code_challenge_method=S256')
    }
    const id = desk.open({ redirectUri: q.redirect_uri, state: q.state, challenge: q.code_challenge, method, scopes })
    ex.send(desk.page(id, 'LiveChat: grant access?', [`The app asks for: ${scopes.join(', ')}`]))
  }

  function decide(ex: Exchange, id: string, allow: boolean) {
    const p = desk.take(id)
    if (!p) return ex.send({ status: 404, body: 'unknown consent' })
    // Refusing is an authorization error too: LiveChat's error page, not the callback.
    if (!allow) return ex.send(ooops('access_denied'))
    const code = book.issueCode(
      {
        clientId,
        redirectUri: p.redirectUri,
        redirectUriSent: p.redirectUri,
        scopes: p.scopes,
        challenge: p.challenge,
        method: p.method,
        expiresAt: clock() + 5 * 60 * 1000,
        extra: {},
      },
      prefix,
    )
    ex.send({ status: 302, headers: { location: appendQuery(p.redirectUri, { code, state: p.state }) } })
  }

  /** Enforces the per-client, per-user limit: the oldest tokens are revoked. */
  function enforceLimit(grant: GrantRecord) {
    const live = book
      .accessTokensOf(grant.id)
      .filter((a) => !a.revoked)
      .sort((a, b) => a.id - b.id)
    while (live.length > tokenLimit) live.shift()!.revoked = true
  }

  function tokenResponse(grant: GrantRecord, accessToken: string, refreshToken: string): Reply {
    return {
      status: 200,
      headers: { 'cache-control': 'no-store' },
      body: {
        access_token: accessToken,
        account_id: accountId,
        expires_in: accessTtl,
        organization_id: organizationId,
        refresh_token: refreshToken,
        scope: grant.scopes.join(','),
        token_type: 'Bearer',
      },
    }
  }

  function tokenEndpoint(ex: Exchange) {
    const req = ex.req
    if (req.method === 'DELETE') return revoke(ex)
    if (req.method !== 'POST')
      return ex.reject(`${req.method} on /v2/token`, oauthError(400, 'invalid_request', 'wrong HTTP method'))
    if (!(req.encoding === 'form' || (acceptJson && req.encoding === 'json')) || !req.body) {
      return ex.reject(
        `token request body must be application/x-www-form-urlencoded, got ${req.contentType ?? 'none'}`,
        oauthError(400, 'invalid_request', 'invalid HTTP body encoding'),
      )
    }
    if (req.duplicateParams.length)
      return ex.reject(
        `repeated parameters: ${req.duplicateParams.join(', ')}`,
        oauthError(400, 'invalid_request', 'parameter repeated'),
      )
    if (basicAuth(req.headers) !== undefined) {
      return ex.reject(
        'HTTP Basic client authentication: LiveChat takes client_id and client_secret in the body',
        oauthError(400, 'invalid_request', 'unexpected Authorization header'),
      )
    }
    const id = field(req, 'client_id')
    if (!id)
      return ex.reject('client_id missing from the body', oauthError(400, 'unauthorized_client', 'missing client ID'))
    if (id !== clientId)
      return ex.reject(`unknown client_id ${id}`, oauthError(400, 'unauthorized_client', 'client ID not found'))
    const secret = field(req, 'client_secret')
    if (!secret || !safeEqual(secret, clientSecret)) {
      // Server-side apps must always present the secret.
      return ex.reject(
        secret ? 'wrong client_secret' : 'client_secret missing from the body',
        oauthError(400, 'unauthorized_client', 'invalid client secret'),
      )
    }
    const grantType = field(req, 'grant_type')
    if (grantType === 'authorization_code') return exchangeCode(ex)
    if (grantType === 'refresh_token') return refresh(ex)
    return ex.reject(
      `unsupported grant_type ${grantType ?? '(missing)'}`,
      oauthError(400, 'unsupported_grant_type', 'grant type not supported'),
    )
  }

  function exchangeCode(ex: Exchange) {
    const req = ex.req
    const code = field(req, 'code')
    if (!code) return ex.reject('code is missing', oauthError(400, 'invalid_request', 'missing code'))
    const taken = book.takeCode(code)
    if ('error' in taken)
      return ex.reject(
        `authorization code ${taken.error}`,
        oauthError(400, 'invalid_grant', 'code not found or expired'),
      )
    const rec = taken.record
    const redirectUri = field(req, 'redirect_uri')
    if (redirectUri !== rec.redirectUri) {
      return ex.reject(
        `redirect_uri ${redirectUri ?? '(missing)'} differs from the authorization request's`,
        oauthError(400, 'unauthorized_client', 'invalid redirect URI'),
      )
    }
    const verifier = field(req, 'code_verifier')
    if (rec.challenge) {
      if (!verifier)
        return ex.reject(
          'code_verifier missing for a PKCE authorization',
          oauthError(400, 'invalid_grant', 'missing code_verifier'),
        )
      const ok = rec.method === 'S256' ? s256(verifier) === rec.challenge : verifier === rec.challenge
      if (!isPkceString(verifier) || !ok) {
        return ex.reject(
          `code_verifier does not match the ${rec.method} code_challenge`,
          oauthError(400, 'invalid_grant', 'invalid code_verifier'),
        )
      }
    }
    const grant = book.newGrant(clientId, rec.scopes)
    rec.grantId = grant.id
    const access = book.issueAccess(grant, accessTtl, prefix)
    const refreshRec = book.issueRefresh(grant, undefined, prefix)
    enforceLimit(grant)
    ex.send(tokenResponse(grant, access.token, refreshRec.token))
  }

  function refresh(ex: Exchange) {
    const presented = field(ex.req, 'refresh_token')
    if (!presented)
      return ex.reject('refresh_token is missing', oauthError(400, 'invalid_request', 'missing refresh_token'))
    const checked = book.checkRefresh(presented, clientId)
    if ('error' in checked) {
      const code = checked.error.startsWith('unknown') ? 'unauthorized_client' : 'invalid_grant'
      return ex.reject(
        checked.error,
        oauthError(400, code, code === 'unauthorized_client' ? 'refresh token not found' : 'refresh token expired'),
      )
    }
    const { record, grant } = checked
    book.refreshCount++
    book.usedRefreshTokens.push(presented)
    const access = book.issueAccess(grant, accessTtl, prefix)
    let refreshToken = presented
    if (rotate) {
      record.state = 'spent'
      refreshToken = book.issueRefresh(grant, undefined, prefix).token
    }
    enforceLimit(grant)
    ex.send(tokenResponse(grant, access.token, refreshToken))
  }

  /** DELETE /v2/token with the token as Bearer (or ?code=): revokes the pair. */
  function revoke(ex: Exchange) {
    const token = bearerToken(ex.req.headers) ?? ex.req.query.code
    if (!token)
      return ex.reject(
        'revocation without a token (Authorization: Bearer or ?code=)',
        oauthError(400, 'invalid_request', 'missing token'),
      )
    const access = book.access.get(token)
    const refreshRec = book.refresh.get(token)
    const grantId = access?.grantId ?? refreshRec?.grantId
    const dead =
      !grantId ||
      book.grants.get(grantId)?.revoked ||
      access?.revoked ||
      (refreshRec !== undefined && refreshRec.state !== 'active')
    if (dead || !grantId) {
      return ex.reject(
        'revocation of an unknown or already revoked token',
        oauthError(400, 'invalid_request', 'token not found'),
      )
    }
    book.revokeGrant(grantId)
    ex.send({ status: 200, body: {} })
  }

  function liveFromBearer(ex: Exchange) {
    return book.liveAccess(bearerToken(ex.req.headers))
  }

  function info(ex: Exchange) {
    const a = liveFromBearer(ex)
    if (ex.req.method !== 'GET')
      return ex.reject('GET /v2/info only', oauthError(400, 'invalid_request', 'wrong HTTP method'))
    if (!a)
      return ex.reject(
        '/v2/info with a missing, expired or revoked token',
        oauthError(401, 'unauthorized', 'invalid access token'),
      )
    ex.send({
      status: 200,
      body: {
        access_token: a.token,
        account_id: accountId,
        client_id: clientId,
        expires_in: Math.max(0, Math.floor((a.expiresAt - clock()) / 1000)),
        organization_id: organizationId,
        scope: a.scopes.join(','),
        token_type: 'Bearer',
      },
    })
  }

  function accountsMe(ex: Exchange) {
    const a = liveFromBearer(ex)
    if (!a)
      return ex.reject(
        '/v2/accounts/me with a missing, expired or revoked token',
        oauthError(401, 'unauthorized', 'invalid access token'),
      )
    ex.send({
      status: 200,
      body: {
        account_id: accountId,
        email: 'agent@example.com',
        name: 'Replica Agent',
        organization_id: organizationId,
      },
    })
  }

  /** Agent Chat API v3.6 list_chats: POST with a JSON body; its errors have their own shape. */
  function listChats(ex: Exchange) {
    const a = liveFromBearer(ex)
    const err = (status: number, type: string, message: string): Reply => ({
      status,
      body: { error: { type, message } },
    })
    if (ex.req.method !== 'POST')
      return ex.reject('Agent Chat API actions are POST', err(405, 'wrong_method', 'Method not allowed'))
    if (!a)
      return ex.reject(
        'Agent Chat API call with a missing, expired or revoked token',
        err(401, 'authentication', 'Invalid access token'),
      )
    if (!a.scopes.includes('chats--all:ro'))
      return ex.reject('token lacks chats--all:ro', err(403, 'authorization', 'Missing required scope'))
    ex.send({ status: 200, body: { chats_summary: [], found_chats: 0, previous_page_id: '' } })
  }

  const server = await startReplicaServer({
    name: 'livechat',
    handle(ex) {
      const d = consentDecision(ex)
      if (d) return decide(ex, d.id, d.allow)
      const p = ex.req.path
      if (p === '/') return authorize(ex)
      if (p === '/ooops')
        return ex.send({
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: `<p>${ex.req.query.oauth_exception ?? ''}</p>`,
        })
      if (p === '/v2/token') return tokenEndpoint(ex)
      if (p === '/v2/info') return info(ex)
      if (p === '/v2/accounts/me') return accountsMe(ex)
      if (p === '/v3.6/agent/action/list_chats') return listChats(ex)
      ex.reject(`unknown path ${ex.req.method} ${p}`, {
        status: 404,
        body: { error: { type: 'not_found', message: 'Not found' } },
      })
    },
  })
  origin = server.origin

  return {
    server,
    urls: {
      authorizationUrl: `${origin}/`,
      tokenUrl: `${origin}/v2/token`,
      revocationUrl: `${origin}/v2/token`,
      infoUrl: `${origin}/v2/info`,
      accountsMeUrl: `${origin}/v2/accounts/me`,
      apiBaseUrl: `${origin}/v3.6`,
      errorPageUrl: `${origin}/ooops`,
    },
    clientId,
    clientSecret,
    accountId,
    organizationId,
    region,
    quirks: {
      tokenEndpointAuthMethod: 'client_secret_post',
      tokenRequestEncoding: 'form',
      pkce: 'S256',
      sendScopes: false,
      responseScopeSeparator: ',',
      revocation: 'DELETE with Bearer',
      metadataFields: ['account_id', 'organization_id'],
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

export type LiveChatReplica = Awaited<ReturnType<typeof startLiveChatReplica>>
