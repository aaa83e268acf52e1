// The owner of the connect_sessions table. A connect session is created by a service client;
// each opening of its connect URL starts a new attempt (state, browser binding, PKCE
// verifier; the newest wins); an attempt is consumed exactly once, atomically, by the
// callback or the form. Only hashes of the URL token, the state and the binding are
// stored; the verifier is sealed. (docs/security.md, checklist items 1 and 2)
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { ConnectSession } from '../generated/prisma/client.js'
import type { Database } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'

export type ConnectSessionRow = ConnectSession

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')
/** 256 random bits, URL-safe: session tokens, states, binding secrets. */
export const randomSecret = () => randomBytes(32).toString('base64url')

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The cookie that binds an attempt to the browser that started it: one per attempt, so tabs do not collide. */
export function bindingCookieName(state: string): string {
  return `broker_attempt_${sha256(state).slice(0, 16)}`
}

/** Is the binding cookie of this attempt present and the one the attempt was started with? */
export function sameBrowser(
  session: Pick<ConnectSessionRow, 'browserHash'>,
  state: string,
  cookies: Record<string, string | undefined>,
): boolean {
  const cookie = cookies[bindingCookieName(state)]
  return cookie !== undefined && session.browserHash !== null && safeEqual(sha256(cookie), session.browserHash)
}

export interface NewSessionRow {
  provider: string
  ownerId: string
  clientId: string
  returnUrl: string | null
  params: Record<string, string>
  scopes: string[]
  connectionId: string | null
  expiresAt: Date
}

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

  async findByToken(token: string): Promise<ConnectSessionRow | undefined> {
    return (await this.deps.db.prisma.connectSession.findUnique({ where: { tokenHash: sha256(token) } })) ?? undefined
  }

  /** A new attempt on an unused session, superseding any earlier one; false when the session was used meanwhile. */
  async startAttempt(
    id: string,
    attempt: { state: string; binding: string; verifier: string | undefined },
  ): Promise<boolean> {
    const { count } = await this.deps.db.prisma.connectSession.updateMany({
      where: { id, usedAt: null },
      data: {
        stateHash: sha256(attempt.state),
        browserHash: sha256(attempt.binding),
        codeVerifier: attempt.verifier ? this.deps.keyring.seal(attempt.verifier, verifierContext(id)) : null,
        startedAt: this.deps.clock.now(),
      },
    })
    return count > 0
  }

  /**
   * The callback consumes the attempt its state names, first and atomically, so that it is
   * single-use even when a later check fails. `consumed` is false for a used attempt; the
   * session is undefined for a state never issued (or superseded by a newer attempt).
   */
  async consumeByState(state: string): Promise<{ consumed: boolean; session: ConnectSessionRow | undefined }> {
    const stateHash = sha256(state)
    const { count } = await this.deps.db.prisma.connectSession.updateMany({
      where: { stateHash, usedAt: null },
      data: { usedAt: this.deps.clock.now() },
    })
    const session = (await this.deps.db.prisma.connectSession.findUnique({ where: { stateHash } })) ?? undefined
    return { consumed: count > 0, session }
  }

  /** The form consumes its attempt once the credentials were accepted: a double submission stores one connection. */
  async consumeAttempt(session: Pick<ConnectSessionRow, 'id' | 'stateHash'>): Promise<boolean> {
    const { count } = await this.deps.db.prisma.connectSession.updateMany({
      where: { id: session.id, usedAt: null, stateHash: session.stateHash },
      data: { usedAt: this.deps.clock.now() },
    })
    return count > 0
  }

  openVerifier(session: Pick<ConnectSessionRow, 'id' | 'codeVerifier'>): string | undefined {
    return session.codeVerifier
      ? this.deps.keyring.openString(session.codeVerifier, verifierContext(session.id))
      : undefined
  }

  /** The attempt is done: its verifier is no longer needed. Best effort. */
  async forgetVerifier(id: string): Promise<void> {
    await this.deps.db.prisma.connectSession
      .update({ where: { id }, data: { codeVerifier: null } })
      .catch(() => undefined)
  }

  /** Deletes sessions that ended more than a day ago. */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - 86_400_000)
    const { count } = await this.deps.db.prisma.connectSession.deleteMany({ where: { expiresAt: { lt: cutoff } } })
    return count
  }
}

const verifierContext = (id: string) => fieldContext('connect_sessions', id, 'code_verifier')
