// Connect sessions and the authorization-code dance (RFC 6749 §4.1, RFC 7636, RFC 9207):
//   create (service client) → start (user's browser: binding cookie + redirect to the
//   provider) → callback (consume the attempt once, check browser, provider and issuer,
//   exchange the code, store the connection).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { problem } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { buildAuthorizationUrl, redirectUriFor } from '../oauth/authorization-request.js'
import { CredentialsRefused, checkCredentialFields, exchangeInteract, obtainApiKey, type ObtainedCredentials } from '../oauth/credentials.js'
import { sendProviderRequest } from '../oauth/http.js'
import { codeChallengeS256, generateCodeVerifier } from '../oauth/pkce.js'
import { checkParams } from '../providers/templates.js'
import { ProviderError } from '../oauth/provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from '../oauth/token-endpoint.js'
import type { ApiKeyProvider, CredentialExchangeProvider, Provider } from '../providers/schema.js'
import { isReturnUrlAllowed } from '../service-clients/return-urls.js'
import type { ServiceClient } from '../service-clients/service-clients.js'
import { notifyChange } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import type { ConnectionCache } from './connection-cache.js'
import { connectionView, newConnectionId, type ConnectionRow, type ConnectionStore, type ConnectionView } from './connection-store.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { ConnectError, type ConnectErrorCode } from './connect-errors.js'
import { SECURITY_EVENTS, type SecurityEvent } from '../security-events.js'

export interface NewConnectSession {
  provider: string
  ownerId: string
  returnUrl?: string
  params?: Record<string, string>
  scopes?: string[]
  connectionId?: string
}

export interface CallbackQuery {
  state?: string
  code?: string
  iss?: string
  error?: string
}

export interface BrowserBinding {
  name: string
  value: string
  maxAgeSeconds: number
}

/** What the connect URL leads to: the provider's consent page, or the broker's own form. */
export type ConnectStart =
  | { kind: 'redirect'; redirectUrl: string; binding: BrowserBinding }
  | { kind: 'form'; provider: ApiKeyProvider | CredentialExchangeProvider; attempt: string; binding: BrowserBinding }

/** The form's input was refused (bad credentials): shown again with the reason, the session stays usable. */
export class FormRefused extends Error {
  constructor(
    readonly provider: ApiKeyProvider | CredentialExchangeProvider,
    readonly attempt: string,
    readonly reason: string,
    readonly status: number,
  ) {
    super(reason)
    this.name = 'FormRefused'
  }
}

export interface NewConnection {
  provider: string
  ownerId: string
  credentials: Record<string, unknown>
  params?: Record<string, string>
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')
const random = () => randomBytes(32).toString('base64url')

/** The cookie that binds an attempt to the browser that started it: one per attempt, so tabs do not collide. */
export function bindingCookieName(state: string): string {
  return `broker_attempt_${sha256(state).slice(0, 16)}`
}

export class Connect {
  constructor(
    private db: Database,
    private store: ConnectionStore,
    private cache: ConnectionCache,
    private keyring: Keyring,
    private providers: Map<string, Provider>,
    private config: Config,
    private audit: AuditLog,
    private clock: Clock,
    private metrics: Metrics,
    private log: Logger,
    private network: ProviderNetwork,
  ) {}

  async createSession(caller: ServiceClient, input: NewConnectSession): Promise<{ id: string; connectUrl: string; expiresAt: string }> {
    const provider = this.providers.get(input.provider)
    if (!provider) throw problem('unknown_provider', `no provider "${input.provider}" is configured`)
    if (input.returnUrl !== undefined && !isReturnUrlAllowed(input.returnUrl, caller.allowedReturnUrls)) {
      throw problem('invalid_return_url', 'returnUrl must start with one of the allowed return URLs of this service client')
    }
    const params = input.params ?? {}
    if (provider.mode === 'oauth2') {
      const paramProblems = checkParams(provider.params, params)
      if (paramProblems.length) throw problem('invalid_params', paramProblems.join('; '))
      // Silently dropping them would hand the caller a grant without the scopes it asked for.
      if (!provider.sendScopes && input.scopes?.length) {
        throw problem('invalid_scope', `${provider.key} takes its scopes from the app's configuration at the provider, not from the request; omit scopes`)
      }
      if (input.scopes?.some((s) => s.includes(provider.scopeSeparator))) {
        throw problem('invalid_scope', `a scope must not contain the provider's separator "${provider.scopeSeparator}"`)
      }
    } else {
      // The user supplies everything on the connect form; placeholders come from discovery.
      if (Object.keys(params).length) throw problem('invalid_params', `${provider.key} takes no params`)
      if (input.scopes?.length) throw problem('invalid_scope', `${provider.key} has no scopes`)
    }
    if (input.connectionId !== undefined) {
      const existing = await this.store.get(input.connectionId)
      if (!existing || existing.status === 'revoked') throw problem('invalid_connection', 'connectionId does not name a connection')
      if (existing.provider !== provider.key || existing.ownerId !== input.ownerId) {
        throw problem('invalid_connection', 'connectionId names a connection of another provider or owner')
      }
    }
    const token = random()
    const id = `cs_${randomBytes(12).toString('base64url')}`
    const expiresAt = new Date(this.clock.now().getTime() + this.config.connectSessionTtlSeconds * 1000)
    await this.db.prisma.connectSession.create({
      data: {
        id,
        tokenHash: sha256(token),
        provider: provider.key,
        ownerId: input.ownerId,
        clientId: caller.clientId,
        returnUrl: input.returnUrl ?? null,
        params,
        scopes: input.scopes ?? (provider.mode === 'oauth2' ? provider.scopes : []),
        connectionId: input.connectionId ?? null,
        createdAt: this.clock.now(),
        expiresAt,
      },
    })
    this.log.info({ sessionId: id, provider: provider.key, clientId: caller.clientId, reauthorize: input.connectionId !== undefined }, 'connect session created')
    return { id, connectUrl: `${this.config.publicUrl}/connect/${token}`, expiresAt: expiresAt.toISOString() }
  }

  /**
   * The user's browser opened the connect URL: a fresh state (or form attempt), PKCE
   * verifier and binding secret for this attempt. Opening the link again restarts the
   * attempt; the newest wins.
   */
  async start(token: string): Promise<ConnectStart> {
    const { session, provider } = await this.openSession(token)
    const now = this.clock.now()
    const state = random()
    const binding = random()
    const verifier = provider.mode === 'oauth2' && provider.pkce ? generateCodeVerifier() : undefined
    const { count } = await this.db.prisma.connectSession.updateMany({
      where: { id: session.id, usedAt: null },
      data: {
        stateHash: sha256(state),
        browserHash: sha256(binding),
        codeVerifier: verifier ? this.keyring.seal(verifier, fieldContext('connect_sessions', session.id, 'code_verifier')) : null,
        startedAt: now,
      },
    })
    if (count === 0) throw new ConnectError('session_used', session.returnUrl)
    const cookie = { name: bindingCookieName(state), value: binding, maxAgeSeconds: Math.max(1, Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000)) }
    this.log.info({ sessionId: session.id, provider: provider.key }, 'connect attempt started')
    if (provider.mode !== 'oauth2') return { kind: 'form', provider, attempt: state, binding: cookie }
    const redirectUrl = buildAuthorizationUrl(provider, {
      redirectUri: redirectUriFor(this.config.publicUrl, provider.key),
      state,
      codeChallenge: verifier ? codeChallengeS256(verifier) : undefined,
      scopes: session.scopes,
      params: session.params as Record<string, string>,
    })
    return { kind: 'redirect', redirectUrl, binding: cookie }
  }

  private async openSession(token: string) {
    const session = await this.db.prisma.connectSession.findUnique({ where: { tokenHash: sha256(token) } })
    if (!session) throw new ConnectError('session_not_found', null, 404)
    if (session.usedAt) throw new ConnectError('session_used', session.returnUrl)
    if (session.expiresAt <= this.clock.now()) throw new ConnectError('session_expired', session.returnUrl)
    const provider = this.providers.get(session.provider)
    if (!provider) throw new ConnectError('provider_unavailable', session.returnUrl, 503)
    return { session, provider }
  }

  /**
   * The connect form was submitted (API-key and credential-exchange providers). The
   * attempt must come from the browser that opened the form (hidden field + cookie);
   * refused credentials show the form again; the session is consumed only on success.
   */
  async submit(token: string, fields: Record<string, unknown>, cookies: Record<string, string | undefined>): Promise<{ connection: ConnectionView; returnUrl: string | null }> {
    const { session, provider } = await this.openSession(token)
    if (provider.mode === 'oauth2') throw new ConnectError('invalid_request', session.returnUrl)
    const { attempt, ...credentials } = fields
    if (typeof attempt !== 'string' || !session.stateHash || !safeEqual(sha256(attempt), session.stateHash)) throw new ConnectError('invalid_state', session.returnUrl)
    const cookie = cookies[bindingCookieName(attempt)]
    if (!cookie || !session.browserHash || !safeEqual(sha256(cookie), session.browserHash)) throw new ConnectError('browser_mismatch', session.returnUrl)

    let obtained: ObtainedCredentials
    try {
      obtained = await this.obtain(provider, credentials)
    } catch (err) {
      if (err instanceof CredentialsRefused) throw new FormRefused(provider, attempt, err.reason, 400)
      if (err instanceof ProviderError) {
        this.log.warn({ sessionId: session.id, provider: provider.key, failure: err.failure, code: err.code }, 'credential check failed')
        throw new FormRefused(provider, attempt, 'The provider could not be reached. Try again in a moment.', 503)
      }
      throw err
    }
    // Consumed only now, atomically: a double submission stores one connection.
    const { count } = await this.db.prisma.connectSession.updateMany({ where: { id: session.id, usedAt: null, stateHash: session.stateHash }, data: { usedAt: this.clock.now() } })
    if (count === 0) throw new ConnectError('session_used', session.returnUrl)
    const row = await this.db.prisma.$transaction((tx) =>
      session.connectionId
        ? this.reauthorize(tx, session.connectionId, provider, obtained.tokens, [], session.clientId, obtained.params)
        : this.insertConnection(tx, { provider, ownerId: session.ownerId, clientId: session.clientId, params: obtained.params, scopes: [], tokens: obtained.tokens }),
    )
    if (!row) throw new ConnectError('connection_unavailable', session.returnUrl, 409)
    this.cache.evict(row.id)
    this.metrics.connectAttempts.inc({ provider: provider.key, outcome: 'connected' })
    this.log.info({ connectionId: row.id, provider: provider.key }, 'connection authorized')
    return { connection: connectionView(row), returnUrl: session.returnUrl }
  }

  /** Checks or exchanges user-supplied credentials with the provider. */
  private async obtain(provider: ApiKeyProvider | CredentialExchangeProvider, credentials: Record<string, unknown>): Promise<ObtainedCredentials> {
    const checked = checkCredentialFields(provider, credentials)
    if (provider.mode === 'api_key') return obtainApiKey(provider, checked, this.network.http(provider))
    return exchangeInteract(provider, checked, { ...this.network.http(provider), allowPrivate: this.network.allowPrivate })
  }

  /**
   * POST /v1/connections: a connection straight from credentials: an API key, a credential
   * exchange, or OAuth tokens imported from another system (taken as they are).
   */
  async createFromCredentials(caller: ServiceClient, input: NewConnection): Promise<ConnectionView> {
    const provider = this.providers.get(input.provider)
    if (!provider) throw problem('unknown_provider', `no provider "${input.provider}" is configured`)
    let obtained: ObtainedCredentials
    if (provider.mode === 'oauth2') {
      const params = input.params ?? {}
      const paramProblems = checkParams(provider.params, params)
      if (paramProblems.length) throw problem('invalid_params', paramProblems.join('; '))
      obtained = { tokens: importedTokens(input.credentials, this.clock.now()), params }
    } else {
      if (input.params && Object.keys(input.params).length) throw problem('invalid_params', `${provider.key} takes no params`)
      try {
        obtained = await this.obtain(provider, input.credentials)
      } catch (err) {
        if (err instanceof CredentialsRefused) throw problem('invalid_credentials', err.reason)
        if (err instanceof ProviderError) throw problem('provider_unavailable', `the provider could not check the credentials (${err.code})`)
        throw err
      }
    }
    const row = await this.db.prisma.$transaction((tx) =>
      this.insertConnection(tx, { provider, ownerId: input.ownerId, clientId: caller.clientId, params: obtained.params, scopes: provider.mode === 'oauth2' ? provider.scopes : [], tokens: obtained.tokens }),
    )
    this.log.info({ connectionId: row.id, provider: provider.key, clientId: caller.clientId }, 'connection created from credentials')
    return connectionView(row)
  }

  /**
   * The provider sent the browser back. The attempt is consumed first, atomically, so
   * that it is single-use even when a check below fails. No token request is made until
   * every check has passed.
   */
  async callback(providerKey: string, query: CallbackQuery, cookies: Record<string, string | undefined>): Promise<{ connection: ConnectionView; returnUrl: string | null }> {
    if (!query.state) {
      this.log.warn({ event: SECURITY_EVENTS.stateRefused, reason: 'missing' }, 'connect callback refused: no state')
      throw new ConnectError('invalid_state')
    }
    const stateHash = sha256(query.state)
    const now = this.clock.now()
    const { count } = await this.db.prisma.connectSession.updateMany({ where: { stateHash, usedAt: null }, data: { usedAt: now } })
    const session = await this.db.prisma.connectSession.findUnique({ where: { stateHash } })
    if (count === 0 || !session) {
      // A state we never issued (or superseded by a newer attempt) is forged; a used one is replayed.
      const reason = session ? 'replayed' : 'unknown'
      this.log.warn({ event: SECURITY_EVENTS.stateRefused, reason, sessionId: session?.id, provider: session?.provider }, 'connect callback refused: state not usable')
      throw new ConnectError('invalid_state')
    }
    const fail = (code: ConnectErrorCode, status = 400, event: SecurityEvent = SECURITY_EVENTS.callbackRefused, detail: Record<string, unknown> = {}) => {
      this.metrics.connectAttempts.inc({ provider: session.provider, outcome: code })
      this.log.warn({ event, sessionId: session.id, provider: session.provider, code, ...detail }, 'connect attempt refused')
      return new ConnectError(code, session.returnUrl, status)
    }
    if (session.expiresAt <= now) throw fail('session_expired', 400, SECURITY_EVENTS.stateRefused, { reason: 'expired' })
    const cookie = cookies[bindingCookieName(query.state)]
    if (!cookie || !session.browserHash || !safeEqual(sha256(cookie), session.browserHash)) {
      throw fail('browser_mismatch', 400, SECURITY_EVENTS.stateRefused, { reason: 'other_browser' })
    }
    // Mix-up defence: the provider comes from the stored attempt; the path must agree.
    if (providerKey !== session.provider) throw fail('provider_mismatch')
    const provider = this.providers.get(session.provider)
    if (!provider) throw fail('provider_unavailable', 503)
    if (provider.mode !== 'oauth2') throw fail('invalid_request')
    if (provider.issuer !== undefined && query.iss !== provider.issuer) {
      throw fail('issuer_mismatch', 400, SECURITY_EVENTS.issuerMismatch, { issPresent: query.iss !== undefined })
    }
    if (query.error !== undefined) {
      throw fail(query.error === 'access_denied' ? 'access_denied' : 'authorization_failed')
    }
    if (!query.code) throw fail('invalid_request')

    let tokens: TokenSet
    try {
      const verifier = session.codeVerifier ? this.keyring.openString(session.codeVerifier, fieldContext('connect_sessions', session.id, 'code_verifier')) : undefined
      const res = await sendProviderRequest(
        buildTokenRequest(provider, session.params as Record<string, string>, {
          grant_type: 'authorization_code',
          code: query.code,
          // Byte-identical to the one sent to the authorization endpoint (SECURITY.md item 4).
          redirect_uri: redirectUriFor(this.config.publicUrl, provider.key),
          ...(verifier ? { code_verifier: verifier } : {}),
        }),
        this.network.http(provider),
      )
      tokens = parseTokenResponse(provider, res)
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      // The statuses of the API's problem codes: a refused code is the attempt's failure (400),
      // a refused broker client a bad gateway (502), an unusable answer an outage (503).
      const [code, status] = err.failure === 'grant' ? (['authorization_failed', 400] as const) : err.failure === 'configuration' ? (['provider_rejected', 502] as const) : (['provider_unavailable', 503] as const)
      // `providerError` is the provider's OAuth error code (e.g. invalid_grant for a wrong PKCE verifier), never its body.
      throw fail(code, status, SECURITY_EVENTS.codeExchangeFailed, { failure: err.failure, providerError: err.code })
    }

    const row = await this.db.prisma.$transaction(async (tx) =>
      session.connectionId
        ? this.reauthorize(tx, session.connectionId, provider, tokens, session.scopes, session.clientId)
        : this.insertConnection(tx, { provider, ownerId: session.ownerId, clientId: session.clientId, params: session.params as Record<string, string>, scopes: session.scopes, tokens }),
    )
    if (!row) throw fail('connection_unavailable', 409)
    // Clean up sessions: this one is done; the verifier is no longer needed.
    await this.db.prisma.connectSession.update({ where: { id: session.id }, data: { codeVerifier: null } }).catch(() => undefined)
    this.cache.evict(row.id)
    this.metrics.connectAttempts.inc({ provider: provider.key, outcome: 'connected' })
    this.log.info({ connectionId: row.id, provider: provider.key, reauthorized: session.connectionId !== null }, 'connection authorized')
    return { connection: connectionView(row), returnUrl: session.returnUrl }
  }

  private async insertConnection(
    tx: Tx,
    c: { provider: Provider; ownerId: string; clientId: string; params: Record<string, string>; scopes: string[]; tokens: TokenSet },
  ): Promise<ConnectionRow> {
    const id = newConnectionId()
    const now = this.clock.now()
    const row = await tx.connection.create({
      data: {
        id,
        provider: c.provider.key,
        ownerId: c.ownerId,
        status: 'active',
        ...this.store.tokenColumns(id, c.tokens, c.scopes),
        params: c.params,
        metadata: c.tokens.metadata,
        createdBy: c.clientId,
        createdAt: now,
        updatedAt: now,
        version: 1,
      },
    })
    await this.audit.write({ type: 'connection.created', actor: c.clientId, connectionId: id, detail: { provider: c.provider.key, ownerId: c.ownerId, mode: c.provider.mode } }, tx)
    await notifyChange(tx, { topic: 'connection', id })
    return row
  }

  /**
   * Re-authorization in place: same id, new grant; the old tokens are replaced. A new grant
   * without a refresh token clears the old one: it belongs to the old grant and must not
   * be used (or outlive it) in the new one's name.
   */
  private async reauthorize(tx: Tx, id: string, provider: Provider, tokens: TokenSet, scopes: string[], actor: string, params?: Record<string, string>) {
    const current = await this.store.lock(tx, id)
    if (!current || current.status === 'revoked' || current.provider !== provider.key) return undefined
    const now = this.clock.now()
    const row = await tx.connection.update({
      where: { id },
      data: {
        ...this.store.tokenColumns(id, tokens, scopes),
        ...(tokens.refreshToken === undefined ? { refreshToken: null, refreshTokenExpiresAt: null } : {}),
        ...(params ? { params } : {}),
        status: 'active',
        version: { increment: 1 },
        metadata: { ...(current.metadata as object), ...tokens.metadata },
        lastErrorCode: null,
        lastErrorAt: null,
        refreshFailures: 0,
        refreshNotBefore: null,
        updatedAt: now,
      },
    })
    await this.audit.write({ type: 'connection.reauthorized', actor, connectionId: id, detail: { provider: provider.key } }, tx)
    await notifyChange(tx, { topic: 'connection', id })
    return row
  }

  /** Deletes sessions that ended more than a day ago. */
  async purgeExpiredSessions(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - 86_400_000)
    const { count } = await this.db.prisma.connectSession.deleteMany({ where: { expiresAt: { lt: cutoff } } })
    return count
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i

/** OAuth tokens imported from another system: `{accessToken, refreshToken?, expiresAt?, scopes?}`. */
function importedTokens(credentials: Record<string, unknown>, now: Date): TokenSet {
  const { accessToken, refreshToken, expiresAt, scopes, ...rest } = credentials
  if (Object.keys(rest).length) throw problem('invalid_credentials', `unknown credential fields: ${Object.keys(rest).join(', ')}`)
  if (typeof accessToken !== 'string' || !accessToken) throw problem('invalid_credentials', 'accessToken: required')
  if (refreshToken !== undefined && (typeof refreshToken !== 'string' || !refreshToken)) throw problem('invalid_credentials', 'refreshToken: must be a string')
  let expiresInSeconds: number | undefined
  if (expiresAt !== undefined) {
    // RFC 3339 with a four-digit year: every such instant fits a JS Date and PostgreSQL.
    const at = typeof expiresAt === 'string' && RFC3339.test(expiresAt) ? new Date(expiresAt) : undefined
    if (!at || Number.isNaN(at.getTime())) throw problem('invalid_credentials', 'expiresAt: must be an RFC 3339 date-time (e.g. 2027-01-31T12:00:00Z)')
    expiresInSeconds = Math.max(0, Math.floor((at.getTime() - now.getTime()) / 1000))
  }
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))) throw problem('invalid_credentials', 'scopes: must be an array of strings')
  return {
    accessToken,
    tokenType: 'Bearer',
    expiresInSeconds,
    refreshToken: refreshToken as string | undefined,
    refreshTokenExpiresInSeconds: undefined,
    scopes: scopes as string[] | undefined,
    metadata: {},
  }
}
