// A real OAuth 2.0 authorization server (oidc-provider v9) started in-process on
// 127.0.0.1, for tests of the broker's provider side. It plays a third-party provider:
// one confidential client, authorization code + PKCE S256, refresh-token rotation,
// RFC 7009 revocation, RFC 7662 introspection, RFC 9207 `iss`. A tiny interaction UI
// (login, consent) can be driven by fetch (`authorize()`) or by a headless browser, and
// faults can be injected in front of the token and revocation endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { generateKeyPair, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
// oidc-provider publishes no type declarations (DefinitelyTyped lags behind v9); the few
// members used here are typed locally below. Should types get installed, the build says
// so and the local types can go.
// @ts-expect-error TS7016: oidc-provider has no type declarations
import OidcProviderModule from 'oidc-provider'
import { registerSecret } from './secrets.js'
import { garbage, gigabyte, reset, trickle } from './hostile-answers.js'

export interface TokenRequestRecord {
  grantType: string | undefined
  params: Record<string, string> // parsed form (or JSON) body
  authorization: string | undefined // raw Authorization header
  contentType: string | undefined
  at: number // Date.now()
}

export interface RequestRecord {
  method: string
  path: string
  /** Query parameters, merged with the parsed body at the token, revocation and introspection endpoints. */
  params: Record<string, string>
  authorization: string | undefined
  contentType: string | undefined
  at: number
}

export type TokenFault =
  | 'status503'
  | 'status500'
  | 'html'
  | 'hang'
  | 'invalid_grant'
  /** 401 invalid_client, as when the broker's client secret at the provider is wrong. */
  | 'invalid_client'
  | 'no_access_token'
  | 'wrong_types'
  | 'huge'
  /** A 302 to `redirectTarget` (another host name, a live server answering a token). */
  | 'redirect'
  /** The real answer with its refresh_token removed (use with rotateRefreshTokens: false on refreshes). */
  | 'no_refresh_token'
  /** 200, then one byte a second (test/support/hostile-answers.ts). */
  | 'trickle'
  /** 200 with a 1 GB body, streamed. */
  | 'gigabyte'
  /** 200 application/json with random bytes. */
  | 'garbage'
  /** The TCP connection reset before any answer. */
  | 'reset'

export type RevocationFault = 'status503' | 'hang'

export interface AuthorizationServer {
  issuer: string
  authorizationUrl: string
  tokenUrl: string
  revocationUrl: string
  introspectionUrl: string
  userinfoUrl: string
  clientId: string
  clientSecret: string
  /** Plays the user at the provider: starts from the authorization URL the broker redirected to,
   *  logs in as `user` (default 'alice'), allows (or denies when deny=true) consent, and returns
   *  the final redirect URL pointing back at the client's redirect_uri (NOT followed). */
  authorize(authorizationUrl: string, options?: { user?: string; deny?: boolean }): Promise<URL>
  /** Every request that reached the token endpoint (including faulted ones), oldest first. */
  tokenRequests: TokenRequestRecord[]
  /** Every request the server received on any endpoint (user agent and client alike), oldest
   *  first; the harness's own introspect() and userinfo() calls are left out. */
  requests: RequestRecord[]
  /** Number of grant_type=refresh_token requests received so far. */
  refreshCount(): number
  /** The next `times` token-endpoint requests (default 1) get this fault instead of the real answer. */
  fault(kind: TokenFault, times?: number): void
  /** The same for the revocation endpoint. */
  revocationFault(kind: RevocationFault, times?: number): void
  clearFaults(): void
  /** Where the 'redirect' fault points: another host name (localhost, while the issuer is
   *  127.0.0.1) served by a live server that answers any request with a valid-looking token
   *  response, so a client that followed the redirect would visibly succeed. */
  redirectTarget: { url: string; requests: RequestRecord[] }
  /** RFC 7662 introspection of any token through the real endpoint (authenticated as the client). */
  introspect(token: string): Promise<{ active: boolean; [k: string]: unknown }>
  /** GET userinfo with the access token as Bearer; returns the status and parsed body. */
  userinfo(accessToken: string): Promise<{ status: number; body: unknown }>
  close(): Promise<void>
}

export interface AuthorizationServerOptions {
  redirectUris: string[]
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' // default basic
  accessTokenTtlSeconds?: number // default 3600
  refreshTokenTtlSeconds?: number // default 14 days
  /** Rotate refresh tokens on every use (default true); false: the old one stays valid. */
  rotateRefreshTokens?: boolean
}

// --- the slice of oidc-provider's API used here ---------------------------------------

interface OidcGrant {
  addOIDCScope(scope: string): void
  addOIDCClaims(claims: string[]): void
  addResourceScope(indicator: string, scope: string): void
  save(): Promise<string>
}
interface InteractionDetails {
  uid: string
  grantId?: string
  params: Record<string, unknown>
  session?: { accountId?: string }
  prompt: {
    name: string
    details: {
      missingOIDCScope?: string[]
      missingOIDCClaims?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
  }
}
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => unknown
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>
  Client: { find(id: string): Promise<unknown> }
  Grant: {
    new (init: { accountId: string; clientId: string }): OidcGrant
    find(id: string): Promise<OidcGrant | undefined>
  }
  on(event: string, listener: (...args: unknown[]) => void): unknown
}
type OidcProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider

const Provider = OidcProviderModule as OidcProviderConstructor

// Route paths, fixed so the URLs below do not depend on oidc-provider's defaults.
const ROUTES = {
  authorization: '/auth',
  token: '/token',
  revocation: '/token/revocation',
  introspection: '/token/introspection',
  userinfo: '/me',
  jwks: '/jwks',
} as const

const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'api:read']
const INTERNAL_HEADER = 'x-test-harness'
const MAX_BODY = 1024 * 1024
const HUGE_BODY_BYTES = 10 * 1024 * 1024

export async function startAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  // The issuer needs the port, so listen first and attach the handler afterwards.
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  try {
    return await setUp(server, options)
  } catch (error) {
    server.close() // a bad option (say, a redirect URI oidc-provider refuses) must not leak the port
    throw error
  }
}

async function setUp(server: Server, options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  const authMethod = options.tokenEndpointAuthMethod ?? 'client_secret_basic'
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 3600
  const refreshTokenTtl = options.refreshTokenTtlSeconds ?? 14 * 24 * 3600
  const clientId = `client_${randomBytes(8).toString('hex')}`
  const clientSecret = randomBytes(32).toString('base64url')
  const port = (server.address() as { port: number }).port
  const issuer = `http://127.0.0.1:${port}`

  // An EC key: generated in a millisecond, unlike RSA (ID tokens are signed ES256).
  const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' })
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-es256', use: 'sig', alg: 'ES256' }

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // oidc-provider v9 uses the token endpoint method for revocation and introspection too.
        token_endpoint_auth_method: authMethod,
        id_token_signed_response_alg: 'ES256',
        scope: SCOPES.join(' '),
      },
    ],
    // One store per server (no state shared between servers in a test process), and no
    // size limit, unlike oidc-provider's built-in LRU development adapter.
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: ROUTES,
    scopes: SCOPES,
    claims: {
      acr: null,
      auth_time: null,
      iss: null,
      sid: null,
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) =>
          token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        allowedPolicy: async () => true,
      },
      // No resource indicators: access tokens are opaque and meant for userinfo.
      resourceIndicators: { enabled: false },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    pkce: { required: () => true }, // v9 supports S256 only
    // Like most third-party providers: a refresh token on every code exchange, not only
    // when offline_access was granted (oidc-provider drops offline_access unless
    // prompt=consent is sent), rotated on every use unless told otherwise.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(grant: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    // Tokens outlive the provider's browser session (the default ties them to it without
    // offline_access), as a third-party provider's tokens would.
    expiresWithSession: async () => false,
    // Revocation (RFC 7009), as oidc-provider v9 does it by default and the tests rely on:
    // revoking a refresh token OR an access token deletes every token of its grant (access
    // and refresh tokens, codes); revoking a refresh token also destroys the grant itself
    // (default revokeGrantPolicy). So after revoking the refresh token, its access tokens
    // introspect as inactive and userinfo refuses them. Nothing to configure.
    ttl: {
      AccessToken: () => accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: () => refreshTokenTtl,
      Grant: Math.max(refreshTokenTtl, 3600),
      Interaction: 600,
      Session: 3600,
    },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({
        sub,
        name: sub.charAt(0).toUpperCase() + sub.slice(1),
        email: `${sub}@example.test`,
        email_verified: true,
      }),
    }),
    clientBasedCORS: () => false,
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html'
      ctx.body = page(
        'Error',
        Object.entries(out)
          .map(
            ([k, v]) =>
              `<p><b>${escapeHtml(k)}</b>: <span class="${escapeHtml(k)}">${escapeHtml(String(v))}</span></p>`,
          )
          .join(''),
      )
    },
  })
  // oidc-provider validates static clients on first use; fail here, not at the first request.
  await provider.Client.find(clientId)
  // 5xx answers would otherwise be silent (oidc-provider only emits an event).
  provider.on('server_error', (_ctx, error) => console.error('authorization server error:', error))

  const providerHandler = provider.callback()
  const tokenRequests: TokenRequestRecord[] = []
  const requests: RequestRecord[] = []
  // Marks the harness's own calls so that `requests` shows only what others sent.
  const internalMark = randomBytes(8).toString('hex')
  let faults: TokenFault[] = []
  let revocationFaults: RevocationFault[] = []
  const redirectTarget = await startRedirectTarget()

  // Token, revocation and introspection: the endpoints where the client authenticates.
  async function handleClientEndpoint(req: IncomingMessage, res: ServerResponse, path: string, record?: RequestRecord) {
    const raw = await readBody(req)
    if (raw === undefined) return answer(res, 413, 'application/json', '{"error":"invalid_request"}')
    const contentType = req.headers['content-type']
    const params = parseParams(raw, contentType)
    if (record) Object.assign(record.params, params)
    // The harness's own calls (record undefined) are neither recorded nor faulted.
    if (path === ROUTES.token && record) {
      registerProviderSeen(params)
      tokenRequests.push({
        grantType: params.grant_type,
        params,
        authorization: req.headers.authorization,
        contentType,
        at: Date.now(),
      })
      const fault = faults.shift()
      if (fault) return applyFault(fault, req, res, raw)
    }
    if (path === ROUTES.revocation && record) {
      const fault = revocationFaults.shift()
      if (fault === 'status503')
        return answer(res, 503, 'application/json', JSON.stringify({ error: 'temporarily_unavailable' }))
      if (fault === 'hang') return // never answered; close() drops the connection
    }
    // oidc-provider v9 accepts client_secret_basic and client_secret_post interchangeably
    // for any secret-based client; a real provider may not, so the harness holds the
    // client to its registered method and a broker using the wrong one fails here.
    const usedBasic = /^basic /i.test(req.headers.authorization ?? '')
    const usedPost = 'client_secret' in params
    if (authMethod === 'client_secret_basic' ? usedPost : usedBasic) {
      res.setHeader('www-authenticate', `Basic realm="${issuer}"`)
      return answer(
        res,
        401,
        'application/json',
        JSON.stringify({
          error: 'invalid_client',
          error_description: `client authentication must use ${authMethod}`,
        }),
      )
    }
    // The stream is consumed; oidc-provider then reads the body from req.body (its documented
    // fallback for upstream body parsers, which logs one warning per process).
    ;(req as IncomingMessage & { body?: string }).body = raw.toString('utf8')
    await providerHandler(req, res)
  }

  async function applyFault(fault: TokenFault, req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    switch (fault) {
      case 'status503':
        return answer(
          res,
          503,
          'application/json',
          JSON.stringify({ error: 'temporarily_unavailable', error_description: 'injected fault' }),
        )
      case 'status500':
        return answer(res, 500, 'text/plain', 'Internal Server Error')
      case 'html':
        return answer(res, 200, 'text/html; charset=utf-8', '<html><body><h1>Down for maintenance</h1></body></html>')
      case 'hang':
        return // never answered; close() drops the connection
      case 'trickle':
        return trickle(res)
      case 'gigabyte':
        return gigabyte(res)
      case 'garbage':
        return garbage(res)
      case 'reset':
        return reset(req)
      case 'invalid_grant':
        return answer(res, 400, 'application/json', JSON.stringify({ error: 'invalid_grant' }))
      case 'invalid_client':
        return answer(res, 401, 'application/json', JSON.stringify({ error: 'invalid_client' }))
      case 'no_access_token':
        return answer(
          res,
          200,
          'application/json',
          JSON.stringify({ token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-without-at' }),
        )
      case 'wrong_types':
        return answer(
          res,
          200,
          'application/json',
          JSON.stringify({ access_token: 12345, token_type: 'Bearer', expires_in: { seconds: 3600 } }),
        )
      case 'huge': {
        // A well-formed token response but for its size, so only a size limit can refuse it.
        const head = '{"access_token":"huge-at","token_type":"Bearer","expires_in":3600,"padding":"'
        const tail = '"}'
        const body = Buffer.alloc(HUGE_BODY_BYTES, 'a')
        body.write(head, 0)
        body.write(tail, HUGE_BODY_BYTES - tail.length)
        return answer(res, 200, 'application/json', body)
      }
      case 'redirect':
        res.writeHead(302, { location: redirectTarget.url, 'content-length': '0' })
        return void res.end()
      case 'no_refresh_token': {
        // The real answer, asked of this server as its own (unrecorded, unfaulted) call.
        const real = await fetch(issuer + ROUTES.token, {
          method: 'POST',
          headers: {
            ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}),
            ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
            [INTERNAL_HEADER]: internalMark,
          },
          body: raw,
          signal: AbortSignal.timeout(5000),
        })
        const body = (await real.json()) as Record<string, unknown>
        delete body.refresh_token
        return answer(res, real.status, 'application/json', JSON.stringify(body))
      }
    }
  }

  // --- interaction UI --------------------------------------------------------------

  async function handleInteraction(req: IncomingMessage, res: ServerResponse, path: string) {
    const match = /^\/interaction\/([^/]+)(?:\/(login|consent))?$/.exec(path)
    if (!match) return answer(res, 404, 'text/html', page('Not found', '<p>not found</p>'))
    const [, uid, action] = match
    let details: InteractionDetails
    try {
      details = await provider.interactionDetails(req, res)
    } catch (error) {
      // Missing or expired interaction cookie (SessionNotFound and friends).
      return answer(res, 400, 'text/html', page('Error', `<p class="error">${escapeHtml(String(error))}</p>`))
    }
    if (details.uid !== uid)
      return answer(res, 400, 'text/html', page('Error', '<p class="error">interaction mismatch</p>'))
    const prompt = details.prompt.name

    if (req.method === 'GET' && !action) {
      if (prompt === 'login') return answer(res, 200, 'text/html', loginPage(uid!))
      if (prompt === 'consent') return answer(res, 200, 'text/html', consentPage(uid!, details))
      return answer(
        res,
        400,
        'text/html',
        page('Error', `<p class="error">unsupported prompt ${escapeHtml(prompt)}</p>`),
      )
    }
    if (req.method !== 'POST') return answer(res, 405, 'text/html', page('Error', '<p>method not allowed</p>'))

    const raw = await readBody(req)
    const form = new URLSearchParams(raw?.toString('utf8') ?? '')
    if (action === 'login' && prompt === 'login') {
      const login = form.get('login')?.trim()
      if (!login) return answer(res, 400, 'text/html', loginPage(uid!, 'Enter a user name.'))
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false })
    }
    if (action === 'consent' && prompt === 'consent') {
      if (form.get('decision') !== 'allow') {
        return provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'End-User denied the request' },
          { mergeWithLastSubmission: false },
        )
      }
      // As in oidc-provider's example: extend the existing grant, or start a new one.
      const accountId = details.session?.accountId
      if (!accountId) return answer(res, 400, 'text/html', page('Error', '<p class="error">no session</p>'))
      const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined
      const grant = existing ?? new provider.Grant({ accountId, clientId: String(details.params.client_id) })
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '))
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims)
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '))
      }
      const grantId = await grant.save()
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
    }
    return answer(
      res,
      400,
      'text/html',
      page('Error', `<p class="error">unexpected ${escapeHtml(action ?? '')} for prompt ${escapeHtml(prompt)}</p>`),
    )
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer)
    const path = url.pathname
    let record: RequestRecord | undefined
    if (req.headers[INTERNAL_HEADER] !== internalMark) {
      record = {
        method: req.method ?? 'GET',
        path,
        params: Object.fromEntries(url.searchParams),
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        at: Date.now(),
      }
      requests.push(record)
      if (path === ROUTES.authorization) registerProviderSeen(record.params)
    }
    const handled =
      path === ROUTES.token || path === ROUTES.revocation || path === ROUTES.introspection
        ? handleClientEndpoint(req, res, path, record)
        : path.startsWith('/interaction/')
          ? handleInteraction(req, res, path)
          : Promise.resolve(providerHandler(req, res))
    handled.catch((error: unknown) => {
      console.error('authorization server harness error:', error)
      if (!res.headersSent) answer(res, 500, 'text/plain', 'harness error')
      else res.destroy()
    })
  })

  const clientAuth = (params: URLSearchParams): Record<string, string> => {
    if (authMethod === 'client_secret_post') {
      params.set('client_id', clientId)
      params.set('client_secret', clientSecret)
      return {}
    }
    // RFC 6749 §2.3.1: both parts form-encoded before Base64.
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
    return { authorization: `Basic ${basic}` }
  }

  let closed = false
  return {
    issuer,
    authorizationUrl: issuer + ROUTES.authorization,
    tokenUrl: issuer + ROUTES.token,
    revocationUrl: issuer + ROUTES.revocation,
    introspectionUrl: issuer + ROUTES.introspection,
    userinfoUrl: issuer + ROUTES.userinfo,
    clientId,
    clientSecret,
    tokenRequests,
    requests,
    redirectTarget: { url: redirectTarget.url, requests: redirectTarget.requests },
    authorize: (url, opts) => playUser(issuer, options.redirectUris, url, opts?.user ?? 'alice', opts?.deny ?? false),
    refreshCount: () => tokenRequests.filter((r) => r.grantType === 'refresh_token').length,
    fault(kind, times = 1) {
      for (let i = 0; i < times; i++) faults.push(kind)
    },
    revocationFault(kind, times = 1) {
      for (let i = 0; i < times; i++) revocationFaults.push(kind)
    },
    clearFaults() {
      faults = []
      revocationFaults = []
    },
    async introspect(token) {
      const body = new URLSearchParams({ token })
      const headers = clientAuth(body)
      const res = await fetch(issuer + ROUTES.introspection, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', [INTERNAL_HEADER]: internalMark },
        body,
        signal: AbortSignal.timeout(5000),
      })
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}: ${await res.text()}`)
      return (await res.json()) as { active: boolean; [k: string]: unknown }
    },
    async userinfo(accessToken) {
      const res = await fetch(issuer + ROUTES.userinfo, {
        headers: { authorization: `Bearer ${accessToken}`, [INTERNAL_HEADER]: internalMark },
        signal: AbortSignal.timeout(5000),
      })
      const text = await res.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body }
    },
    async close() {
      if (closed) return
      closed = true
      faults = []
      revocationFaults = []
      const done = new Promise<void>((resolve) => server.close(() => resolve()))
      // Drop keep-alive and in-flight connections at once instead of waiting for them.
      server.closeAllConnections()
      await Promise.all([done, redirectTarget.close()])
    },
  }
}

// --- the redirect fault's target -------------------------------------------------------

/**
 * A server on 127.0.0.1 reached as http://localhost:<port>: another host name than the
 * issuer's. It records every request and answers each with a valid-looking token
 * response, so a client following the 'redirect' fault would get "tokens" from it.
 */
async function startRedirectTarget(): Promise<{ url: string; requests: RequestRecord[]; close(): Promise<void> }> {
  const requests: RequestRecord[] = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      at: Date.now(),
    })
    req.resume()
    answer(
      res,
      200,
      'application/json',
      JSON.stringify({
        access_token: 'redirected-at',
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: 'redirected-rt',
      }),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    url: `http://localhost:${port}/token`,
    requests,
    close: () => {
      const done = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      return done
    },
  }
}

// --- the user agent ----------------------------------------------------------------

// Follows the provider's redirects and submits its forms like a browser would, with a
// cookie jar of its own (a fresh user agent per call: no SSO between calls).
async function playUser(
  issuer: string,
  redirectUris: string[],
  start: string,
  user: string,
  deny: boolean,
): Promise<URL> {
  const jar = new CookieJar()
  const origin = new URL(issuer).origin
  const isClient = (url: URL) =>
    url.origin !== origin ||
    redirectUris.some((r) => new URL(r).origin === url.origin && new URL(r).pathname === url.pathname)

  let url = new URL(start)
  let init: { method: string; body?: URLSearchParams } = { method: 'GET' }
  for (let step = 0; step < 20; step++) {
    if (isClient(url)) return url
    const res = await fetch(url, {
      method: init.method,
      headers: {
        ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(jar.header(url) ? { cookie: jar.header(url)! } : {}),
      },
      body: init.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(5000),
    })
    jar.store(url, res.headers.getSetCookie())
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel()
      url = new URL(location, url)
      init = { method: 'GET' }
      continue
    }
    const html = await res.text()
    if (res.status !== 200) throw new Error(`authorization failed at ${url.pathname}: ${res.status} ${textOf(html)}`)
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]
    if (!action) throw new Error(`unexpected page at ${url.pathname}: ${textOf(html)}`)
    const target = new URL(decodeHtml(action), url)
    if (html.includes('id="sign-in"')) {
      init = { method: 'POST', body: new URLSearchParams({ login: user }) }
    } else if (html.includes('id="allow"')) {
      init = { method: 'POST', body: new URLSearchParams({ decision: deny ? 'deny' : 'allow' }) }
    } else {
      throw new Error(`unexpected page at ${url.pathname}: ${textOf(html)}`)
    }
    url = target
  }
  throw new Error('authorization did not come back to the client after 20 steps')
}

interface Cookie {
  name: string
  value: string
  path: string
}

class CookieJar {
  #cookies: Cookie[] = []

  store(url: URL, setCookies: string[]) {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/'
      let expired = false
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.split('=').map((s) => s.trim())
        const k = key.toLowerCase()
        if (k === 'path' && val.startsWith('/')) path = val
        if (k === 'max-age' && Number(val) <= 0) expired = true
        if (k === 'expires' && Date.parse(val) <= Date.now()) expired = true
      }
      this.#cookies = this.#cookies.filter((c) => !(c.name === name && c.path === path))
      if (!expired) this.#cookies.push({ name, value, path })
    }
  }

  header(url: URL): string | undefined {
    const p = url.pathname
    const matching = this.#cookies.filter(
      (c) => p === c.path || (p.startsWith(c.path) && (c.path.endsWith('/') || p[c.path.length] === '/')),
    )
    if (!matching.length) return undefined
    // RFC 6265: longer paths first.
    matching.sort((a, b) => b.path.length - a.path.length)
    return matching.map((c) => `${c.name}=${c.value}`).join('; ')
  }
}

// --- storage -------------------------------------------------------------------------

type Payload = Record<string, unknown>

const ISSUED = new Set(['AuthorizationCode', 'AccessToken', 'RefreshToken'])

/**
 * The broker's state and PKCE verifier as the provider sees them (32 random bytes, base64url; tests' own values are
 * left out).
 */
function registerProviderSeen(params: Record<string, string>) {
  for (const name of ['state', 'code_verifier']) {
    if (/^[A-Za-z0-9_-]{43}$/.test(params[name] ?? '')) registerSecret(`${name} seen at the provider`, params[name])
  }
}

/** oidc-provider's adapter interface over one Map; expired entries read as missing. */
function memoryAdapter() {
  const entries = new Map<string, { payload: Payload; expiresAt: number }>()
  const read = (key: string) => {
    const entry = entries.get(key)
    if (entry && entry.expiresAt <= Date.now()) entries.delete(key)
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined
  }
  const findBy = (model: string, field: string, value: string) => {
    for (const [key, { payload }] of entries) {
      if (key.startsWith(`${model}:`) && payload[field] === value) return read(key)
    }
    return undefined
  }
  return (model: string) => ({
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      // Opaque tokens and codes are their own id: the run-wide secrets check must never find one.
      if (ISSUED.has(model)) registerSecret(`provider ${model}`, id)
      entries.set(`${model}:${id}`, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity })
    },
    async find(id: string) {
      return read(`${model}:${id}`)
    },
    async findByUid(uid: string) {
      return findBy(model, 'uid', uid)
    },
    async findByUserCode(userCode: string) {
      return findBy(model, 'userCode', userCode)
    },
    async consume(id: string) {
      const payload = read(`${model}:${id}`)
      if (payload) payload.consumed = Math.floor(Date.now() / 1000)
    },
    async destroy(id: string) {
      entries.delete(`${model}:${id}`)
    },
    async revokeByGrantId(grantId: string) {
      for (const [key, { payload }] of entries) {
        if (key.startsWith(`${model}:`) && payload.grantId === grantId) entries.delete(key)
      }
    },
  })
}

// --- helpers -------------------------------------------------------------------------

/** The whole body, or undefined when it exceeds MAX_BODY. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function parseParams(raw: Buffer, contentType: string | undefined): Record<string, string> {
  const text = raw.toString('utf8')
  if (contentType?.toLowerCase().includes('json')) {
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(
          Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        )
      }
    } catch {
      // recorded as no parameters; the provider refuses it anyway
    }
    return {}
  }
  const params: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(text)) if (!(k in params)) params[k] = v
  return params
}

function answer(res: ServerResponse, status: number, contentType: string, body: string | Buffer) {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  })
  res.end(body)
}

function page(title: string, body: string) {
  return (
    '<!DOCTYPE html><html><head><meta ' +
    `charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
  )
}

function loginPage(uid: string, error?: string) {
  return page(
    'Sign in',
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${encodeURIComponent(uid)}/login" autocomplete="off">
  <label for="login">User name</label>
  <input type="text" name="login" id="login" autofocus required>
  <button type="submit" id="sign-in">Sign in</button>
</form>`,
  )
}

function consentPage(uid: string, details: InteractionDetails) {
  const scopes = [
    ...(details.prompt.details.missingOIDCScope ?? []),
    ...Object.values(details.prompt.details.missingResourceScopes ?? {}).flat(),
  ]
  return page(
    'Authorize',
    `<p><span id="client">${escapeHtml(String(details.params.client_id))}</span>
asks for: <span id="scopes">${escapeHtml(scopes.join(' '))}</span></p>
<form method="post" action="/interaction/${encodeURIComponent(uid)}/consent">
  <button type="submit" name="decision" value="allow" id="allow">Allow</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`,
  )
}

function escapeHtml(s: string) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function decodeHtml(s: string) {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&')
}

function textOf(html: string) {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300)
}

/**
 * The providers-file entry that points the broker at this server: PKCE, HTTP Basic,
 * RFC 9207 issuer, RFC 7009 revocation, and `prompt=consent` (without it oidc-provider
 * drops offline_access).
 */
export function providerEntryFor(
  as: AuthorizationServer,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    displayName: 'Test IdP',
    issuer: as.issuer,
    authorizationUrl: as.authorizationUrl,
    tokenUrl: as.tokenUrl,
    revocationUrl: as.revocationUrl,
    clientId: as.clientId,
    clientSecret: as.clientSecret,
    scopes: ['openid', 'offline_access', 'api:read'],
    authorizationParams: { prompt: 'consent' },
    ...overrides,
  }
}
