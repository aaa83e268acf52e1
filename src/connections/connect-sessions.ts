// The owner of the connect_sessions and connect_attempts tables. A connect session is
// created by a service client; each opening of its connect URL starts an attempt of its
// own (state, browser binding, PKCE verifier), up to MAX_ATTEMPTS_PER_SESSION, so opening
// the link in another browser (or by a mail scanner) spoils nothing. An attempt is
// consumed exactly once, atomically; the first attempt to complete claims the session and
// ends the others. Only hashes of the URL token, the state and the binding are stored;
// the verifier is sealed. (docs/security.md, checklist items 1 and 2)
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { ConnectAttempt, ConnectSession } from '../generated/prisma/client.js'
import type { Database } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'

export type ConnectSessionRow = ConnectSession
export type ConnectAttemptRow = ConnectAttempt

/** Openings of one connect URL that may be in progress at once (browsers, scanners, retries). */
export const MAX_ATTEMPTS_PER_SESSION = 10

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')
/** 256 random bits, URL-safe: session tokens, states, binding secrets. */
export const randomSecret = () => randomBytes(32).toString('base64url')

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * The cookie that binds an attempt to the browser that started it: one per attempt, so
 * tabs do not collide. Over https it is a `__Host-` cookie (Secure, Path=/, no Domain), so
 * a sibling subdomain cannot plant or shadow it.
 */
export function bindingCookieName(state: string, secure: boolean): string {
  return `${secure ? '__Host-' : ''}broker_attempt_${sha256(state).slice(0, 16)}`
}

/** Is this the binding cookie the attempt was started with? */
export function sameBrowser(attempt: Pick<ConnectAttemptRow, 'browserHash'>, cookie: string | undefined): boolean {
  return cookie !== undefined && safeEqual(sha256(cookie), attempt.browserHash)
}

export interface NewSessionRow {
  provider: string
  ownerId: string
  namespace: string
  clientId: string
  returnUrl: string | null
  params: Record<string, string>
  scopes: string[]
  connectionId: string | null
  expiresAt: Date
  /** The grant waits for the service's confirmation (confirmation.ts). */
  confirm: boolean
}

/** How a claimed session ended (GET /v1/connect-sessions/:id). */
export type SessionOutcome = 'completed' | 'pending_confirmation' | 'failed' | 'expired'

export interface ConnectSessionsOptions {
  db: Database
  keyring: Keyring
  clock: Clock
}

export class ConnectSessions {
  constructor(private readonly deps: ConnectSessionsOptions) {}

  /** Stores a new session; returns its id and the token of its connect URL. */
  async create(session: NewSessionRow): Promise<{ id: string; token: string }> {
    const token = randomSecret()
    const id = `cs_${randomBytes(12).toString('base64url')}`
    await this.deps.db.prisma.connectSession.create({
      data: { id, tokenHash: sha256(token), ...session, createdAt: this.deps.clock.now() },
    })
    return { id, token }
  }

  async get(id: string): Promise<ConnectSessionRow | undefined> {
    return (await this.deps.db.prisma.connectSession.findUnique({ where: { id } })) ?? undefined
  }

  /**
   * Records how the claimed session ended. `connectionId`, the connection to re-authorize
   * until then, becomes the connection made. Best effort: the outcome only informs the
   * service (the connection's own status is what counts).
   */
  async settle(id: string, outcome: SessionOutcome, result: { connectionId?: string; error?: string } = {}) {
    const connection = result.connectionId !== undefined ? { connectionId: result.connectionId } : {}
    await this.deps.db.prisma.connectSession
      .update({ where: { id }, data: { outcome, error: result.error ?? null, ...connection } })
      .catch(() => undefined)
  }

  async findByToken(token: string): Promise<ConnectSessionRow | undefined> {
    return (await this.deps.db.prisma.connectSession.findUnique({ where: { tokenHash: sha256(token) } })) ?? undefined
  }

  /**
   * A new attempt on an unused session, beside any earlier ones: `used` when the session
   * was completed meanwhile, `exhausted` after MAX_ATTEMPTS_PER_SESSION openings.
   */
  async startAttempt(
    sessionId: string,
    attempt: { state: string; binding: string; verifier: string | undefined },
  ): Promise<'started' | 'used' | 'exhausted'> {
    const stateHash = sha256(attempt.state)
    return this.deps.db.prisma.$transaction(async (tx) => {
      // One statement counts and bounds the openings, so concurrent ones cannot overshoot.
      const { count } = await tx.connectSession.updateMany({
        where: { id: sessionId, usedAt: null, attemptCount: { lt: MAX_ATTEMPTS_PER_SESSION } },
        data: { attemptCount: { increment: 1 } },
      })
      if (count === 0)
        return (await tx.connectSession.findUnique({ where: { id: sessionId }, select: { usedAt: true } }))?.usedAt
          ? 'used'
          : 'exhausted'
      await tx.connectAttempt.create({
        data: {
          stateHash,
          sessionId,
          browserHash: sha256(attempt.binding),
          codeVerifier: attempt.verifier ? this.deps.keyring.seal(attempt.verifier, verifierContext(stateHash)) : null,
          createdAt: this.deps.clock.now(),
        },
      })
      return 'started'
    })
  }

  /**
   * The callback consumes the attempt its state names, first and atomically, so that it is
   * single-use even when a later check fails. `consumed` is false for a used attempt; the
   * attempt is undefined for a state never issued.
   */
  async consumeByState(
    state: string,
  ): Promise<{ consumed: boolean; attempt: (ConnectAttemptRow & { session: ConnectSessionRow }) | undefined }> {
    const stateHash = sha256(state)
    const { count } = await this.deps.db.prisma.connectAttempt.updateMany({
      where: { stateHash, usedAt: null },
      data: { usedAt: this.deps.clock.now() },
    })
    const attempt =
      (await this.deps.db.prisma.connectAttempt.findUnique({ where: { stateHash }, include: { session: true } })) ??
      undefined
    return { consumed: count > 0, attempt }
  }

  /** The form's attempt, by the value of its hidden field. */
  async findAttempt(state: string): Promise<ConnectAttemptRow | undefined> {
    return (await this.deps.db.prisma.connectAttempt.findUnique({ where: { stateHash: sha256(state) } })) ?? undefined
  }

  /**
   * An attempt passed its checks: it claims the session, atomically. The first attempt to
   * get here wins; false for every later one (another browser, a double submission). The
   * attempt is marked used (the form's; the callback's already is).
   */
  async complete(sessionId: string, stateHash: string): Promise<boolean> {
    const now = this.deps.clock.now()
    const [claimed] = await this.deps.db.prisma.$transaction([
      this.deps.db.prisma.connectSession.updateMany({ where: { id: sessionId, usedAt: null }, data: { usedAt: now } }),
      this.deps.db.prisma.connectAttempt.updateMany({ where: { stateHash, usedAt: null }, data: { usedAt: now } }),
    ])
    return claimed.count > 0
  }

  openVerifier(attempt: Pick<ConnectAttemptRow, 'stateHash' | 'codeVerifier'>): string | undefined {
    return attempt.codeVerifier
      ? this.deps.keyring.openString(attempt.codeVerifier, verifierContext(attempt.stateHash))
      : undefined
  }

  /** The session is done: the verifiers of its attempts are no longer needed. Best effort. */
  async forgetVerifiers(sessionId: string): Promise<void> {
    await this.deps.db.prisma.connectAttempt
      .updateMany({ where: { sessionId, codeVerifier: { not: null } }, data: { codeVerifier: null } })
      .catch(() => undefined)
  }
}

const verifierContext = (stateHash: string) => fieldContext('connect_attempts', stateHash, 'code_verifier')
