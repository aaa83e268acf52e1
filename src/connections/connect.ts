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
import { sendProviderRequest, type ProviderHttpOptions } from '../oauth/http.js'
import { codeChallengeS256, generateCodeVerifier } from '../oauth/pkce.js'
import { checkParams } from '../oauth/placeholders.js'
import { ProviderError } from '../oauth/provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from '../oauth/token-endpoint.js'
import type { OAuth2Provider, Provider } from '../providers/schema.js'
import { isReturnUrlAllowed } from '../service-clients/return-urls.js'
import type { ServiceClient } from '../service-clients/service-clients.js'
import { notifyChange } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import type { ConnectionCache } from './connection-cache.js'
import { connectionView, newConnectionId, type ConnectionStore, type ConnectionView } from './connection-store.js'
import { ConnectError, type ConnectErrorCode } from './connect-errors.js'

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
    private http: ProviderHttpOptions,
  ) {}

  async createSession(caller: ServiceClient, input: NewConnectSession): Promise<{ id: string; connectUrl: string; expiresAt: string }> {
    const provider = this.providers.get(input.provider)
    if (!provider) throw problem('unknown_provider', `no provider "${input.provider}" is configured`)
    if (input.returnUrl !== undefined && !isReturnUrlAllowed(input.returnUrl, caller.allowedReturnUrls)) {
      throw problem('invalid_return_url', 'returnUrl must start with one of the allowed return URLs of this service client')
    }
    const params = input.params ?? {}
    const paramProblems = checkParams(provider.params, params)
    if (paramProblems.length) throw problem('invalid_params', paramProblems.join('; '))
    if (input.scopes?.some((s) => s.includes(provider.scopeSeparator))) {
      throw problem('invalid_scope', `a scope must not contain the provider's separator "${provider.scopeSeparator}"`)
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
        scopes: input.scopes ?? provider.scopes,
        connectionId: input.connectionId ?? null,
        createdAt: this.clock.now(),
        expiresAt,
      },
    })
    this.log.info({ sessionId: id, provider: provider.key, clientId: caller.clientId, reauthorize: input.connectionId !== undefined }, 'connect session created')
    return { id, connectUrl: `${this.config.publicUrl}/connect/${token}`, expiresAt: expiresAt.toISOString() }
  }

  /**
   * The user's browser opened the connect URL: a fresh state, PKCE verifier and binding
   * secret for this attempt (opening the link again restarts the attempt; the newest wins).
   */
  async start(token: string): Promise<{ redirectUrl: string; binding: BrowserBinding }> {
    const session = await this.db.prisma.connectSession.findUnique({ where: { tokenHash: sha256(token) } })
    if (!session) throw new ConnectError('session_not_found', null, 404)
    const now = this.clock.now()
    if (session.usedAt) throw new ConnectError('session_used', session.returnUrl)
    if (session.expiresAt <= now) throw new ConnectError('session_expired', session.returnUrl)
    const provider = this.providers.get(session.provider)
    if (!provider) throw new ConnectError('provider_unavailable', session.returnUrl, 503)

    const state = random()
    const binding = random()
    const verifier = provider.pkce ? generateCodeVerifier() : undefined
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
    const redirectUrl = buildAuthorizationUrl(provider, {
      redirectUri: redirectUriFor(this.config.publicUrl, provider.key),
      state,
      codeChallenge: verifier ? codeChallengeS256(verifier) : undefined,
      scopes: session.scopes,
      params: session.params as Record<string, string>,
    })
    this.log.info({ sessionId: session.id, provider: provider.key }, 'connect attempt started')
    return {
      redirectUrl,
      binding: { name: bindingCookieName(state), value: binding, maxAgeSeconds: Math.max(1, Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000)) },
    }
  }

  /**
   * The provider sent the browser back. The attempt is consumed first, atomically, so
   * that it is single-use even when a check below fails. No token request is made until
   * every check has passed.
   */
  async callback(providerKey: string, query: CallbackQuery, cookies: Record<string, string | undefined>): Promise<{ connection: ConnectionView; returnUrl: string | null }> {
    if (!query.state) throw new ConnectError('invalid_state')
    const stateHash = sha256(query.state)
    const now = this.clock.now()
    const { count } = await this.db.prisma.connectSession.updateMany({ where: { stateHash, usedAt: null }, data: { usedAt: now } })
    const session = count === 1 ? await this.db.prisma.connectSession.findUnique({ where: { stateHash } }) : null
    if (!session) throw new ConnectError('invalid_state')
    const fail = (code: ConnectErrorCode, status = 400) => {
      this.metrics.connectAttempts.inc({ provider: session.provider, outcome: code })
      this.log.warn({ sessionId: session.id, provider: session.provider, code }, 'connect attempt refused')
      return new ConnectError(code, session.returnUrl, status)
    }
    if (session.expiresAt <= now) throw fail('session_expired')
    const cookie = cookies[bindingCookieName(query.state)]
    if (!cookie || !session.browserHash || !safeEqual(sha256(cookie), session.browserHash)) throw fail('browser_mismatch')
    // Mix-up defence: the provider comes from the stored attempt; the path must agree.
    if (providerKey !== session.provider) throw fail('provider_mismatch')
    const provider = this.providers.get(session.provider)
    if (!provider) throw fail('provider_unavailable', 503)
    if (provider.issuer !== undefined && query.iss !== provider.issuer) throw fail('issuer_mismatch')
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
        this.http,
      )
      tokens = parseTokenResponse(provider, res)
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err
      this.log.warn({ sessionId: session.id, provider: provider.key, failure: err.failure, code: err.code }, 'code exchange failed')
      throw fail(err.failure === 'grant' ? 'authorization_failed' : err.failure === 'configuration' ? 'provider_rejected' : 'provider_unavailable', 502)
    }

    const row = await this.db.prisma.$transaction(async (tx) =>
      session.connectionId ? this.reauthorize(tx, session.connectionId, provider, tokens, session.scopes, session.clientId) : this.createConnection(tx, session, provider, tokens),
    )
    if (!row) throw fail('connection_unavailable', 409)
    // Clean up sessions: this one is done; the verifier is no longer needed.
    await this.db.prisma.connectSession.update({ where: { id: session.id }, data: { codeVerifier: null } }).catch(() => undefined)
    this.cache.evict(row.id)
    this.metrics.connectAttempts.inc({ provider: provider.key, outcome: 'connected' })
    this.log.info({ connectionId: row.id, provider: provider.key, reauthorized: session.connectionId !== null }, 'connection authorized')
    return { connection: connectionView(row), returnUrl: session.returnUrl }
  }

  private async createConnection(
    tx: Tx,
    session: { ownerId: string; clientId: string; params: unknown; scopes: string[] },
    provider: OAuth2Provider,
    tokens: TokenSet,
  ) {
    const id = newConnectionId()
    const now = this.clock.now()
    const row = await tx.connection.create({
      data: {
        id,
        provider: provider.key,
        ownerId: session.ownerId,
        status: 'active',
        ...this.store.tokenColumns(id, tokens, session.scopes),
        params: session.params as object,
        metadata: tokens.metadata,
        createdBy: session.clientId,
        createdAt: now,
        updatedAt: now,
        version: 1,
      },
    })
    await this.audit.write({ type: 'connection.created', actor: session.clientId, connectionId: id, detail: { provider: provider.key, ownerId: session.ownerId } }, tx)
    await notifyChange(tx, { topic: 'connection', id })
    return row
  }

  /** Re-authorization in place: same id, new grant; the old tokens are replaced. */
  private async reauthorize(tx: Tx, id: string, provider: OAuth2Provider, tokens: TokenSet, scopes: string[], actor: string) {
    const current = await this.store.lock(tx, id)
    if (!current || current.status === 'revoked' || current.provider !== provider.key) return undefined
    const now = this.clock.now()
    const row = await tx.connection.update({
      where: { id },
      data: {
        ...this.store.tokenColumns(id, tokens, scopes),
        status: 'active',
        version: { increment: 1 },
        metadata: { ...(current.metadata as object), ...tokens.metadata },
        lastErrorCode: null,
        lastErrorAt: null,
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
