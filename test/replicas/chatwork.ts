// Replica of Chatwork's OAuth 2.0 (confidential client) and of GET /v2/me.
// Real hosts: www.chatwork.com (consent page), oauth.chatwork.com (token), api.chatwork.com
// (API); here one server serves the three paths. Facts and sources: docs/providers.md.
import {
  appendQuery,
  basicAuth,
  ConsentDesk,
  consentDecision,
  driveConsent,
  field,
  isPkceString,
  providerErrorPage,
  s256,
  safeEqual,
  serveInternalErrorPage,
  startReplicaServer,
  TokenBook,
  type Exchange,
  type Reply,
} from './common.js'

/** Scopes Chatwork documents (offline_access: long-lived refresh token, confidential clients only). */
export const CHATWORK_SCOPES = [
  'offline_access',
  'users.all:read',
  'users.profile.me:read',
  'users.status.me:read',
  'users.tasks.me:read',
  'rooms.all:read_write',
  'rooms.all:read',
  'rooms.all:write',
  'rooms:write',
  'rooms.info:read',
  'rooms.info:write',
  'rooms.members:read',
  'rooms.members:write',
  'rooms.messages:read',
  'rooms.messages:write',
  'rooms.tasks:read',
  'rooms.tasks:write',
  'rooms.files:read',
  'rooms.files:write',
  'contacts.all:read_write',
  'contacts.all:read',
  'contacts.all:write',
] as const

export interface ChatworkReplicaOptions {
  clientId?: string
  clientSecret?: string
  /** Redirect URIs registered for the client (1 to 5 at Chatwork). */
  redirectUris?: string[]
  /** Scopes registered for the client; a request may ask for a subset. Default: all. */
  clientScopes?: string[]
  /**
   * Chatwork requires PKCE only from public clients; the broker must always send it, so a
   * missing challenge is recorded as a (soft) rejection. Default true.
   */
  requirePkce?: boolean
  /** Access token lifetime, seconds (the docs' example: "1800"). */
  accessTokenTtl?: number
  /** Refresh token lifetime without offline_access, seconds (docs: 14 days). */
  refreshTokenTtl?: number
  /** Authorization code lifetime, seconds (docs: 1 minute). */
  codeTtl?: number
  /**
   * The docs' example quotes expires_in ("1800"); a third-party OpenAPI types it as an
   * integer. Default "string"; "number" checks the broker copes with both.
   */
  expiresInType?: 'string' | 'number'
  /** Undocumented; default false: a refresh answers with the same refresh token. */
  rotateRefreshTokens?: boolean
  clock?: () => number
}

interface PendingAuth {
  clientId: string
  redirectUri: string
  redirectUriSent: string | undefined
  scopes: string[]
  state: string | undefined
  challenge: string | undefined
}

const AUTHORIZE_PATH = '/packages/oauth2/login.php'
const TOKEN_PATH = '/token'

export async function startChatworkReplica(options: ChatworkReplicaOptions = {}) {
  const clientId = options.clientId ?? 'chatwork-client-id'
  const clientSecret = options.clientSecret ?? 'chatwork-client-secret-0123456789'
  const redirectUris = [...(options.redirectUris ?? ['http://127.0.0.1/oauth/callback/chatwork'])]
  const clientScopes = options.clientScopes ?? [...CHATWORK_SCOPES]
  const requirePkce = options.requirePkce ?? true
  const accessTtl = options.accessTokenTtl ?? 1800
  const refreshTtl = options.refreshTokenTtl ?? 14 * 24 * 3600
  const codeTtl = options.codeTtl ?? 60
  const rotate = options.rotateRefreshTokens ?? false
  const expiresIn = options.expiresInType === 'number' ? accessTtl : String(accessTtl)
  const clock = options.clock ?? Date.now
  const book = new TokenBook(clock)
  const desk = new ConsentDesk<PendingAuth>()

  // RFC 6749 §5.2 errors as Chatwork sends them (JSON, error_uri null).
  const oauthError = (
    status: number,
    error: string,
    description: string,
    headers: Record<string, string> = {},
  ): Reply => ({
    status,
    headers: { 'cache-control': 'no-store', ...headers },
    body: { error, error_description: description, error_uri: null },
  })
  const apiError = (status: number, message: string): Reply => ({
    status,
    headers: status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {},
    body: { errors: [message] },
  })

  function authorize(ex: Exchange) {
    const q = ex.req.query
    if (ex.req.method !== 'GET')
      return ex.reject('authorization request must be a GET', { status: 405, body: 'Method Not Allowed' })
    // Every error except the user's refusal stays on Chatwork's page (docs).
    const fail = (reason: string, error = 'invalid_request') => ex.reject(reason, providerErrorPage(error, reason))
    if (ex.req.duplicateParams.length) return fail(`repeated parameters: ${ex.req.duplicateParams.join(', ')}`)
    if (q.client_id !== clientId) return fail(`unknown client_id ${q.client_id ?? '(missing)'}`, 'invalid_client')
    let redirectUri = q.redirect_uri
    if (redirectUri === undefined) {
      // Optional only while exactly one redirect URI is registered.
      if (redirectUris.length !== 1) return fail('redirect_uri is required when several are registered')
      redirectUri = redirectUris[0]!
    } else if (!redirectUris.includes(redirectUri)) {
      return fail(`redirect_uri ${redirectUri} is not registered`)
    }
    if (q.response_type !== 'code')
      return fail(`response_type must be "code", got ${q.response_type ?? '(missing)'}`, 'unsupported_response_type')
    if (!q.scope) return fail('scope is required', 'invalid_scope')
    const scopes = q.scope.split(' ')
    if (scopes.some((s) => s === ''))
      return fail(`scopes must be separated by single spaces: "${q.scope}"`, 'invalid_scope')
    const unknown = scopes.filter((s) => !clientScopes.includes(s))
    if (unknown.length) return fail(`scopes not registered for the client: ${unknown.join(', ')}`, 'invalid_scope')
    if (q.code_challenge !== undefined) {
      if (q.code_challenge_method !== 'S256') {
        return fail(
          `code_challenge_method must be S256 (the only method), got ${q.code_challenge_method ?? '(missing)'}`,
        )
      }
      if (!isPkceString(q.code_challenge)) return fail('code_challenge is not 43-128 unreserved characters')
    } else {
      if (q.code_challenge_method !== undefined) return fail('code_challenge_method without code_challenge')
      if (requirePkce)
        ex.note('no PKCE: the broker must send code_challenge + code_challenge_method=S256 (Chatwork supports S256)')
    }
    const id = desk.open({
      clientId,
      redirectUri,
      redirectUriSent: q.redirect_uri,
      scopes,
      state: q.state,
      challenge: q.code_challenge,
    })
    ex.send(desk.page(id, 'Chatwork: allow access?', [`Client ${clientId} asks for: ${scopes.join(', ')}`]))
  }

  function decide(ex: Exchange, id: string, allow: boolean) {
    const p = desk.take(id)
    if (!p) return ex.send({ status: 404, body: 'unknown consent' })
    if (!allow) {
      return ex.send({
        status: 302,
        headers: { location: appendQuery(p.redirectUri, { error: 'access_denied', state: p.state }) },
      })
    }
    const code = book.issueCode({
      clientId: p.clientId,
      redirectUri: p.redirectUri,
      redirectUriSent: p.redirectUriSent,
      scopes: p.scopes,
      challenge: p.challenge,
      method: p.challenge ? 'S256' : undefined,
      expiresAt: clock() + codeTtl * 1000,
      extra: {},
    })
    ex.send({ status: 302, headers: { location: appendQuery(p.redirectUri, { code, state: p.state }) } })
  }

  function tokenResponse(access: { token: string; scopes: string[] }, refreshToken: string): Reply {
    return {
      status: 200,
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
      // expires_in is a quoted string in Chatwork's documentation.
      body: {
        access_token: access.token,
        token_type: 'Bearer',
        expires_in: expiresIn,
        refresh_token: refreshToken,
        scope: access.scopes.join(' '),
      },
    }
  }

  function token(ex: Exchange) {
    const req = ex.req
    if (req.method !== 'POST')
      return ex.reject('token endpoint takes POST', oauthError(405, 'invalid_request', 'POST only'))
    if (req.encoding !== 'form') {
      return ex.reject(
        `token request body must be application/x-www-form-urlencoded, got ${req.contentType ?? 'none'}`,
        oauthError(400, 'invalid_request', 'Invalid request'),
      )
    }
    if (req.duplicateParams.length)
      return ex.reject(
        `repeated parameters: ${req.duplicateParams.join(', ')}`,
        oauthError(400, 'invalid_request', 'Invalid request'),
      )
    // Confidential clients authenticate with HTTP Basic, and only with it.
    const basic = basicAuth(req.headers)
    if (field(req, 'client_secret') !== undefined) {
      return ex.reject(
        'client_secret sent in the body: Chatwork authenticates confidential clients with HTTP Basic',
        oauthError(401, 'invalid_client', 'Client authentication failed', {
          'www-authenticate': 'Basic realm="oauth"',
        }),
      )
    }
    if (basic === undefined || basic === 'malformed') {
      return ex.reject(
        'missing or malformed HTTP Basic client authentication',
        oauthError(401, 'invalid_client', 'Client authentication failed', {
          'www-authenticate': 'Basic realm="oauth"',
        }),
      )
    }
    if (basic.id !== clientId || !safeEqual(basic.secret, clientSecret)) {
      return ex.reject(
        'wrong client credentials',
        oauthError(401, 'invalid_client', 'Client authentication failed', {
          'www-authenticate': 'Basic realm="oauth"',
        }),
      )
    }
    const bodyClientId = field(req, 'client_id')
    if (bodyClientId !== undefined && bodyClientId !== clientId) {
      return ex.reject(
        'client_id in the body differs from the authenticated client',
        oauthError(400, 'invalid_request', 'Invalid request'),
      )
    }
    const grantType = field(req, 'grant_type')
    if (grantType === 'authorization_code') return exchangeCode(ex)
    if (grantType === 'refresh_token') return refresh(ex)
    return ex.reject(
      `unsupported grant_type ${grantType ?? '(missing)'}`,
      oauthError(400, 'unsupported_grant_type', 'Unsupported grant type'),
    )
  }

  function exchangeCode(ex: Exchange) {
    const req = ex.req
    const code = field(req, 'code')
    if (!code) return ex.reject('code is missing', oauthError(400, 'invalid_request', 'Invalid request'))
    const taken = book.takeCode(code)
    if ('error' in taken)
      return ex.reject(
        `authorization code ${taken.error}`,
        oauthError(400, 'invalid_grant', 'The authorization code is invalid or expired'),
      )
    const rec = taken.record
    const redirectUri = field(req, 'redirect_uri')
    if (rec.redirectUriSent !== undefined && redirectUri !== rec.redirectUriSent) {
      return ex.reject(
        `redirect_uri ${redirectUri ?? '(missing)'} differs from the authorization request's`,
        oauthError(400, 'invalid_grant', 'redirect_uri mismatch'),
      )
    }
    const verifier = field(req, 'code_verifier')
    if (rec.challenge) {
      if (!verifier)
        return ex.reject(
          'code_verifier missing for a PKCE authorization',
          oauthError(400, 'invalid_grant', 'code_verifier is required'),
        )
      if (!isPkceString(verifier) || s256(verifier) !== rec.challenge) {
        return ex.reject(
          'code_verifier does not match the S256 code_challenge',
          oauthError(400, 'invalid_grant', 'code_verifier is invalid'),
        )
      }
    } else if (verifier !== undefined) {
      return ex.reject(
        'code_verifier sent although the authorization had no code_challenge',
        oauthError(400, 'invalid_grant', 'code_verifier is invalid'),
      )
    }
    const grant = book.newGrant(clientId, rec.scopes)
    rec.grantId = grant.id
    const access = book.issueAccess(grant, accessTtl)
    const refreshRec = book.issueRefresh(grant, rec.scopes.includes('offline_access') ? undefined : refreshTtl)
    ex.send(tokenResponse(access, refreshRec.token))
  }

  function refresh(ex: Exchange) {
    const req = ex.req
    const presented = field(req, 'refresh_token')
    if (!presented) return ex.reject('refresh_token is missing', oauthError(400, 'invalid_request', 'Invalid request'))
    const checked = book.checkRefresh(presented, clientId)
    if ('error' in checked)
      return ex.reject(checked.error, oauthError(400, 'invalid_grant', 'The refresh token is invalid'))
    const { record, grant } = checked
    let scopes = grant.scopes
    const scope = field(req, 'scope')
    if (scope !== undefined) {
      const asked = scope.split(' ')
      if (asked.some((s) => !grant.scopes.includes(s)))
        return ex.reject(
          `refresh asks for scopes beyond the grant: ${scope}`,
          oauthError(400, 'invalid_scope', 'Invalid scope'),
        )
      scopes = asked
    }
    book.refreshCount++
    book.usedRefreshTokens.push(presented)
    const access = book.issueAccess(grant, accessTtl, '', scopes)
    let refreshToken = presented
    if (rotate) {
      record.state = 'spent'
      refreshToken = book.issueRefresh(grant, grant.scopes.includes('offline_access') ? undefined : refreshTtl).token
    }
    ex.send(tokenResponse(access, refreshToken))
  }

  function me(ex: Exchange) {
    const req = ex.req
    if (req.method !== 'GET') return ex.reject('GET /v2/me only', apiError(405, 'Method Not Allowed'))
    if (req.headers['x-chatworktoken']) {
      return ex.reject(
        'x-chatworktoken carries personal API tokens, not OAuth access tokens',
        apiError(401, 'Invalid API token'),
      )
    }
    const auth = req.headers.authorization
    const m = auth ? /^Bearer (\S+)$/.exec(auth) : null
    if (!m?.[1]) return ex.reject('missing Authorization: Bearer', apiError(401, 'Invalid API token'))
    const access = book.liveAccess(m[1])
    if (!access) return ex.reject('invalid, expired or revoked access token', apiError(401, 'Invalid API token'))
    if (!access.scopes.some((s) => s === 'users.profile.me:read' || s === 'users.all:read')) {
      return ex.reject('token lacks users.profile.me:read', apiError(403, 'Insufficient scope'))
    }
    ex.send({
      status: 200,
      body: {
        account_id: 123456,
        room_id: 322,
        name: 'Replica User',
        chatwork_id: 'replica',
        organization_id: 101,
        organization_name: 'Replica Inc.',
        department: '',
        title: '',
        url: '',
        introduction: '',
        mail: 'replica@example.com',
        tel_organization: '',
        tel_extension: '',
        tel_mobile: '',
        skype: '',
        facebook: '',
        twitter: '',
        avatar_image_url: 'https://appdata.chatwork.com/avatar/replica.png',
        login_mail: 'replica@example.com',
      },
    })
  }

  const server = await startReplicaServer({
    name: 'chatwork',
    handle(ex) {
      const d = consentDecision(ex)
      if (d) return decide(ex, d.id, d.allow)
      if (serveInternalErrorPage(ex)) return
      if (ex.req.path === AUTHORIZE_PATH) return authorize(ex)
      if (ex.req.path === TOKEN_PATH) return token(ex)
      if (ex.req.path === '/v2/me') return me(ex)
      ex.reject(`unknown path ${ex.req.method} ${ex.req.path}`, apiError(404, 'Resource not found'))
    },
  })

  const o = server.origin
  return {
    server,
    urls: {
      authorizationUrl: `${o}${AUTHORIZE_PATH}`,
      tokenUrl: `${o}${TOKEN_PATH}`,
      apiBaseUrl: `${o}/v2`,
      meUrl: `${o}/v2/me`,
    },
    clientId,
    clientSecret,
    /** What the broker's catalog entry says about this provider (for assertions). */
    quirks: {
      tokenEndpointAuthMethod: 'client_secret_basic',
      tokenRequestEncoding: 'form',
      pkce: 'S256',
      scopeSeparator: ' ',
      expiresInType: typeof expiresIn,
    },
    requests: server.requests,
    rejections: server.rejections,
    /** Refresh tokens presented at successful refreshes, in order. */
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

export type ChatworkReplica = Awaited<ReturnType<typeof startChatworkReplica>>
