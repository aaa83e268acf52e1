// The OAuth callback (RFC 6749 §4.1.2, RFC 7636, RFC 9207) as four named steps:
//   consumeAttempt → checkCallback → exchangeCode → storeGrant (confirmation.ts lands it).
// The attempt is consumed first, atomically, so that it is single-use even when a check
// fails; once every check has passed, the attempt claims its session (the first attempt
// of any browser to get there wins), and only then is a token request made. A refused
// step throws an AttemptRefused that names its code; `runCallback` logs it once as a
// security event.
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { ConnectError, securityEventOf, type ConnectErrorCode } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { redirectUriFor } from '../oauth/authorization-request.js'
import { sendProviderRequest } from '../oauth/http.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { ProviderError } from '../oauth/provider-error.js'
import { buildTokenRequest, parseTokenResponse, type TokenSet } from '../oauth/token-endpoint.js'
import type { OAuth2Provider, Provider } from '../providers/schema.js'
import { SECURITY_EVENTS, type SecurityEvent } from '../security-events.js'
import type { Confirmations, Landed } from './confirmation.js'
import { connectionView, type ConnectionView } from './connection-store.js'
import {
  bindingCookieName,
  sameBrowser,
  type ConnectAttemptRow,
  type ConnectSessionRow,
  type ConnectSessions,
} from './connect-sessions.js'

export interface CallbackQuery {
  state?: string
  code?: string
  iss?: string
  error?: string
}

/** A step refused the attempt: the code the browser sees, and what the log gets besides. */
export class AttemptRefused extends ConnectError {
  constructor(
    code: ConnectErrorCode,
    session: Pick<ConnectSessionRow, 'returnUrl'>,
    readonly detail: Record<string, unknown> = {},
    /** When the registry's event for the code does not fit the step. */
    readonly event?: SecurityEvent,
  ) {
    super(code, session.returnUrl)
  }
}

export interface CallbackDeps {
  sessions: ConnectSessions
  confirmations: Confirmations
  providers: Map<string, Provider>
  config: Config
  network: ProviderNetwork
  metrics: Metrics
  log: Logger
}

/** Step 1: consume the attempt the state names. A missing, forged or replayed state ends here. */
export async function consumeAttempt(
  sessions: ConnectSessions,
  state: string | undefined,
  log: Logger,
): Promise<{ session: ConnectSessionRow; attempt: ConnectAttemptRow; state: string }> {
  if (!state) {
    log.warn({ event: SECURITY_EVENTS.stateRefused, reason: 'missing' }, 'connect callback refused: no state')
    throw new ConnectError('invalid_state')
  }
  const { consumed, attempt } = await sessions.consumeByState(state)
  if (!consumed || !attempt) {
    // A state we never issued is forged; a used one is replayed.
    const reason = attempt ? 'replayed' : 'unknown'
    log.warn(
      {
        event: SECURITY_EVENTS.stateRefused,
        reason,
        sessionId: attempt?.sessionId,
        provider: attempt?.session.provider,
      },
      'connect callback refused: state not usable',
    )
    throw new ConnectError('invalid_state')
  }
  const { session, ...row } = attempt
  return { session, attempt: row, state }
}

/**
 * Step 2: the consumed attempt against the callback: not expired, same browser, the provider
 * it was started for (mix-up defence: the provider comes from the stored session, the path
 * must agree), the expected issuer, and a code rather than an error. Returns the provider.
 */
export function checkCallback(
  session: ConnectSessionRow,
  attempt: Pick<ConnectAttemptRow, 'browserHash'>,
  callback: { providerKey: string; query: CallbackQuery; cookie: string | undefined; now: Date },
  providers: Map<string, Provider>,
): { provider: OAuth2Provider; code: string } {
  const { query } = callback
  if (session.expiresAt <= callback.now) throw new AttemptRefused('session_expired', session, { reason: 'expired' })
  if (!sameBrowser(attempt, callback.cookie))
    throw new AttemptRefused('browser_mismatch', session, { reason: 'other_browser' })
  if (callback.providerKey !== session.provider) throw new AttemptRefused('provider_mismatch', session)
  const provider = providers.get(session.provider)
  if (!provider) throw new AttemptRefused('provider_unavailable', session)
  if (provider.mode !== 'oauth2') throw new AttemptRefused('invalid_request', session)
  if (provider.issuer !== undefined && query.iss !== provider.issuer) {
    throw new AttemptRefused('issuer_mismatch', session, { issPresent: query.iss !== undefined })
  }
  if (query.error !== undefined)
    throw new AttemptRefused(query.error === 'access_denied' ? 'access_denied' : 'authorization_failed', session)
  if (!query.code) throw new AttemptRefused('invalid_request', session)
  return { provider, code: query.code }
}

/**
 * A failed code exchange as the attempt's code: a refused code is the attempt's failure, a
 * refused broker client the provider's refusal, anything else an outage.
 */
const EXCHANGE_FAILURES = {
  grant: 'authorization_failed',
  configuration: 'provider_rejected',
  transient: 'provider_unavailable',
} as const

/** Step 3: trade the code (and the PKCE verifier) for tokens at the provider's token endpoint. */
export async function exchangeCode(
  session: ConnectSessionRow,
  provider: OAuth2Provider,
  grant: { code: string; verifier: string | undefined; publicUrl: string; network: ProviderNetwork },
): Promise<TokenSet> {
  try {
    const request = buildTokenRequest(provider, session.params as Record<string, string>, {
      grant_type: 'authorization_code',
      code: grant.code,
      // Byte-identical to the one sent to the authorization endpoint (docs/security.md, checklist item 4).
      redirect_uri: redirectUriFor(grant.publicUrl, provider.key),
      ...(grant.verifier ? { code_verifier: grant.verifier } : {}),
    })
    return parseTokenResponse(
      provider,
      await sendProviderRequest(request, grant.network.http(provider, 'code_exchange')),
    )
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err
    // `providerError` is the provider's OAuth error code (e.g. invalid_grant for a wrong PKCE
    // verifier), never its body.
    const detail = { failure: err.failure, providerError: err.code }
    throw new AttemptRefused(EXCHANGE_FAILURES[err.failure], session, detail, SECURITY_EVENTS.codeExchangeFailed)
  }
}

/** Step 4: land the grant: stored and usable, or held for confirmation (confirmation.ts). */
export async function storeGrant(
  confirmations: Confirmations,
  session: ConnectSessionRow,
  provider: Provider,
  tokens: TokenSet,
): Promise<Landed> {
  const landed = await confirmations.land(session, provider, { tokens, scopes: session.scopes })
  if (!landed) throw new AttemptRefused('connection_unavailable', session)
  return landed
}

/** The provider sent the browser back: the four steps, and the refusal logged once. */
export async function runCallback(
  deps: CallbackDeps,
  providerKey: string,
  query: CallbackQuery,
  cookies: Record<string, string | undefined>,
): Promise<{ connection: ConnectionView; returnUrl: string | null; confirmationCode?: string }> {
  const { session, attempt, state } = await consumeAttempt(deps.sessions, query.state, deps.log)
  let claimed = false
  try {
    // Checked at the instant the attempt was consumed.
    const now = attempt.usedAt!
    const cookie = cookies[bindingCookieName(state, deps.config.publicUrl.startsWith('https:'))]
    const { provider, code } = checkCallback(session, attempt, { providerKey, query, cookie, now }, deps.providers)
    // The first attempt to complete wins; a later one ends on the error page, not back at the service.
    if (!(await deps.sessions.complete(session.id, attempt.stateHash)))
      throw new AttemptRefused('session_used', { returnUrl: null })
    claimed = true
    const verifier = deps.sessions.openVerifier(attempt)
    // The session is claimed: no attempt of it can use a verifier any more.
    await deps.sessions.forgetVerifiers(session.id)
    const tokens = await exchangeCode(session, provider, {
      code,
      verifier,
      publicUrl: deps.config.publicUrl,
      network: deps.network,
    })
    const { row, confirmationCode } = await storeGrant(deps.confirmations, session, provider, tokens)
    deps.metrics.connectAttempts.inc({ provider: provider.key, outcome: 'connected' })
    deps.log.info(
      { connectionId: row.id, provider: provider.key, reauthorized: session.connectionId !== null },
      'connection authorized',
    )
    return { connection: connectionView(row), returnUrl: session.returnUrl, confirmationCode }
  } catch (err) {
    // The session was this attempt's: it ended with this error (GET /v1/connect-sessions/:id).
    if (claimed) await deps.sessions.settle(session.id, 'failed', { error: errorCode(err) })
    if (err instanceof AttemptRefused) {
      const event = err.event ?? securityEventOf(err.code, 'connect')
      deps.metrics.connectAttempts.inc({ provider: session.provider, outcome: err.code })
      deps.log.warn(
        { event, sessionId: session.id, provider: session.provider, code: err.code, ...err.detail },
        'connect attempt refused',
      )
    }
    throw err
  }
}

const errorCode = (err: unknown) => (err instanceof ConnectError ? err.code : 'internal_error')
