// The connect flow: a service client creates a connect session; the user's browser opens
// its URL, which starts an attempt (binding cookie, then a redirect to the provider or the
// broker's own form); the attempt ends at the callback (callback.ts) or at the form's
// submission (here). Connections made from credentials without a browser are in
// credential-connections.ts; the tables are written by connect-sessions.ts and
// connection-store.ts.
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { BrokerError, ConnectError, PROBLEMS, problem } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { buildAuthorizationUrl, redirectUriFor } from '../oauth/authorization-request.js'
import { CredentialsRefused, type ObtainedCredentials } from '../oauth/credentials.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { codeChallengeS256, generateCodeVerifier } from '../oauth/pkce.js'
import { ProviderError } from '../oauth/provider-error.js'
import type { ApiKeyProvider, CredentialExchangeProvider, Provider } from '../providers/schema.js'
import type { ServiceClient } from '../service-clients/service-clients.js'
import { runCallback, type CallbackQuery } from './callback.js'
import type { Confirmations } from './confirmation.js'
import { connectionView, type ConnectionStore, type ConnectionView } from './connection-store.js'
import { bindingCookieName, randomSecret, sameBrowser, type ConnectSessions } from './connect-sessions.js'
import { checkSessionRequest, type NewConnectSession } from './session-request.js'
import { connectSessionView, hiddenSession, type ConnectSessionView } from './session-view.js'
import { holds } from '../service-clients/namespaces.js'
import { CredentialConnections, obtain, type NewConnection } from './credential-connections.js'

export { bindingCookieName } from './connect-sessions.js'
export type { CallbackQuery } from './callback.js'
export type { NewConnection } from './credential-connections.js'
export type { NewConnectSession } from './session-request.js'

export interface BrowserBinding {
  name: string
  value: string
  maxAgeSeconds: number
}

/** What the connect URL leads to: the provider's consent page, or the broker's own form. */
export type ConnectStart =
  | { kind: 'redirect'; redirectUrl: string; binding: BrowserBinding }
  | {
      kind: 'form'
      provider: ApiKeyProvider | CredentialExchangeProvider
      attempt: string
      binding: BrowserBinding
      returnUrl: string | null
    }

/**
 * The form's input was refused (bad credentials, provider unreachable): shown again with the reason; the session
 * stays.
 */
export class FormRefused extends BrokerError<'invalid_credentials' | 'provider_unavailable'> {
  readonly status: number

  constructor(
    code: 'invalid_credentials' | 'provider_unavailable',
    readonly provider: ApiKeyProvider | CredentialExchangeProvider,
    readonly attempt: string,
    readonly reason: string,
    /** Where the form's answer may redirect (its page's CSP names it). */
    readonly returnUrl: string | null,
  ) {
    super(code, reason)
    this.status = PROBLEMS[code].status
  }
}

export interface ConnectOptions {
  sessions: ConnectSessions
  store: ConnectionStore
  confirmations: Confirmations
  providers: Map<string, Provider>
  config: Config
  clock: Clock
  metrics: Metrics
  log: Logger
  network: ProviderNetwork
}

export class Connect {
  private credentials: CredentialConnections

  constructor(private readonly deps: ConnectOptions) {
    this.credentials = new CredentialConnections(deps)
  }

  async createSession(
    caller: ServiceClient,
    input: NewConnectSession,
  ): Promise<{ id: string; connectUrl: string; expiresAt: string }> {
    const { sessions, store, clock, config, log } = this.deps
    const { provider, namespace } = await checkSessionRequest(caller, input, this.deps.providers, store)
    const expiresAt = new Date(clock.now().getTime() + config.connectSessionTtlSeconds * 1000)
    const { id, token } = await sessions.create({
      provider: provider.key,
      ownerId: input.ownerId,
      namespace,
      clientId: caller.clientId,
      returnUrl: input.returnUrl ?? null,
      params: input.params ?? {},
      scopes: input.scopes ?? (provider.mode === 'oauth2' ? provider.scopes : []),
      connectionId: input.connectionId ?? null,
      expiresAt,
      confirm: input.confirm ?? (input.returnUrl !== undefined && caller.requireConfirmation),
    })
    log.info(
      {
        sessionId: id,
        provider: provider.key,
        namespace,
        clientId: caller.clientId,
        reauthorize: input.connectionId !== undefined,
      },
      'connect session created',
    )
    return { id, connectUrl: `${config.publicUrl}/connect/${token}`, expiresAt: expiresAt.toISOString() }
  }

  /**
   * The user's browser opened the connect URL: a fresh state (or form attempt), PKCE
   * verifier and binding secret for this attempt. Opening the link again, elsewhere or in
   * the same browser, starts another attempt beside the earlier ones.
   */
  async start(token: string): Promise<ConnectStart> {
    const { session, provider } = await this.openSession(token)
    const now = this.deps.clock.now()
    const state = randomSecret()
    const binding = randomSecret()
    const verifier = provider.mode === 'oauth2' && provider.pkce ? generateCodeVerifier() : undefined
    const started = await this.deps.sessions.startAttempt(session.id, { state, binding, verifier })
    if (started === 'used') throw new ConnectError('session_used', null)
    if (started === 'exhausted') {
      this.deps.log.warn({ sessionId: session.id, provider: provider.key }, 'connect link opened too many times')
      throw new ConnectError('too_many_attempts', null)
    }
    const maxAgeSeconds = Math.max(1, Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000))
    const cookie = { name: bindingCookieName(state, this.secureCookies), value: binding, maxAgeSeconds }
    this.deps.log.info({ sessionId: session.id, provider: provider.key }, 'connect attempt started')
    if (provider.mode !== 'oauth2')
      return { kind: 'form', provider, attempt: state, binding: cookie, returnUrl: session.returnUrl }
    const redirectUrl = buildAuthorizationUrl(provider, {
      redirectUri: redirectUriFor(this.deps.config.publicUrl, provider.key),
      state,
      codeChallenge: verifier ? codeChallengeS256(verifier) : undefined,
      scopes: session.scopes,
      params: session.params as Record<string, string>,
    })
    return { kind: 'redirect', redirectUrl, binding: cookie }
  }

  /** `HEAD` of the connect URL: whether the link is usable, without starting an attempt. */
  async check(token: string): Promise<void> {
    await this.openSession(token)
  }

  /** Binding cookies are `__Host-` cookies when the broker is served over https. */
  private get secureCookies(): boolean {
    return this.deps.config.publicUrl.startsWith('https:')
  }

  private async openSession(token: string) {
    const session = await this.deps.sessions.findByToken(token)
    if (!session) throw new ConnectError('session_not_found', null)
    // A later completion (or opening) of a completed session ends on the broker's page:
    // the service already got the first one's answer.
    if (session.usedAt) throw new ConnectError('session_used', null)
    if (session.expiresAt <= this.deps.clock.now()) throw new ConnectError('session_expired', session.returnUrl)
    const provider = this.deps.providers.get(session.provider)
    if (!provider) throw new ConnectError('provider_unavailable', session.returnUrl)
    return { session, provider }
  }

  /**
   * The connect form was submitted (API-key and credential-exchange providers). The
   * attempt must come from the browser that opened the form (hidden field + cookie);
   * refused credentials show the form again; the session is consumed only on success.
   */
  async submit(
    token: string,
    fields: Record<string, unknown>,
    cookies: Record<string, string | undefined>,
  ): Promise<{ connection: ConnectionView; returnUrl: string | null; confirmationCode?: string }> {
    const { session, provider } = await this.openSession(token)
    if (provider.mode === 'oauth2') throw new ConnectError('invalid_request', session.returnUrl)
    const { attempt, ...credentials } = fields
    if (typeof attempt !== 'string') throw new ConnectError('invalid_state', session.returnUrl)
    const opened = await this.deps.sessions.findAttempt(attempt)
    if (!opened || opened.sessionId !== session.id || opened.usedAt)
      throw new ConnectError('invalid_state', session.returnUrl)
    if (!sameBrowser(opened, cookies[bindingCookieName(attempt, this.secureCookies)]))
      throw new ConnectError('browser_mismatch', session.returnUrl)
    const obtained = await this.obtainForForm(
      provider,
      { attempt, returnUrl: session.returnUrl },
      credentials,
      session.id,
    )
    // The first attempt to complete wins (another browser's form, a double submission).
    if (!(await this.deps.sessions.complete(session.id, opened.stateHash))) throw new ConnectError('session_used', null)
    const landed = await this.deps.confirmations.land(session, provider, { ...obtained, scopes: [] })
    if (!landed) {
      await this.deps.sessions.settle(session.id, 'failed', { error: 'connection_unavailable' })
      throw new ConnectError('connection_unavailable', session.returnUrl)
    }
    this.deps.metrics.connectAttempts.inc({ provider: provider.key, outcome: 'connected' })
    this.deps.log.info({ connectionId: landed.row.id, provider: provider.key }, 'connection authorized')
    const { row, confirmationCode } = landed
    return { connection: connectionView(row), returnUrl: session.returnUrl, confirmationCode }
  }

  private async obtainForForm(
    provider: ApiKeyProvider | CredentialExchangeProvider,
    form: { attempt: string; returnUrl: string | null },
    credentials: Record<string, unknown>,
    sessionId: string,
  ): Promise<ObtainedCredentials> {
    try {
      return await obtain(this.deps.network, provider, credentials)
    } catch (err) {
      if (err instanceof CredentialsRefused)
        throw new FormRefused('invalid_credentials', provider, form.attempt, err.reason, form.returnUrl)
      if (err instanceof ProviderError) {
        this.deps.log.warn(
          { sessionId, provider: provider.key, failure: err.failure, code: err.code },
          'credential check failed',
        )
        throw new FormRefused(
          'provider_unavailable',
          provider,
          form.attempt,
          'The provider could not be reached. Try again in a moment.',
          form.returnUrl,
        )
      }
      throw err
    }
  }

  /** The provider sent the browser back (callback.ts). */
  callback(providerKey: string, query: CallbackQuery, cookies: Record<string, string | undefined>) {
    return runCallback(this.deps, providerKey, query, cookies)
  }

  /** POST /v1/connections (credential-connections.ts). */
  createFromCredentials(caller: ServiceClient, input: NewConnection): Promise<ConnectionView> {
    return this.credentials.create(caller, input)
  }

  /** GET /v1/connect-sessions/:id: a session of the caller's namespaces, and how it stands. */
  async session(id: string, namespaces: readonly string[]): Promise<ConnectSessionView> {
    const row = await this.deps.sessions.get(id)
    if (!row) throw problem('connect_session_not_found')
    if (!holds(namespaces, row.namespace)) throw hiddenSession()
    return connectSessionView(row, this.deps.clock.now())
  }
}
