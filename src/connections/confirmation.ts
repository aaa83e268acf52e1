// Confirming the end user (connect-link fixation, docs/security.md). A connect URL can be
// forwarded: whoever completes it attaches their account to the session's ownerId. With
// `confirm`, the grant a connect flow obtained is held (pending-grants.ts) and the browser
// brings a one-time code back to the service's returnUrl; the service checks that its
// signed-in user is the intended owner and confirms (or rejects) with that code.
//
// `land` is where every grant of a connect flow arrives, and `usable` the one place where a
// connection becomes usable: at once, or at its confirmation. Writes to the connection row
// go through ConnectionStore, except the confirmation's status change (`activate`), which
// must commit with the code's use.
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { problem } from '../errors.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { supportsRevocation, type RevocationResult } from '../oauth/revocation.js'
import type { Provider } from '../providers/schema.js'
import { SECURITY_EVENTS } from '../security-events.js'
import { ALL_NAMESPACES } from '../service-clients/namespaces.js'
import { notifyChange } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import type { ConnectionCache } from './connection-cache.js'
import { connectionView, visibleRow, type ConnectionRow, type ConnectionStore } from './connection-store.js'
import type { ConnectSessionRow, ConnectSessions } from './connect-sessions.js'
import type { CodeCheck, PendingGrantRow, PendingGrants, Replacement } from './pending-grants.js'
import type { Revocations } from './revoke.js'
import { recordLifecycleEvent } from '../webhooks/lifecycle-events.js'

export interface ConfirmationsOptions {
  db: Database
  store: ConnectionStore
  sessions: ConnectSessions
  pending: PendingGrants
  revocations: Revocations
  cache: ConnectionCache
  providers: Map<string, Provider>
  network: ProviderNetwork
  audit: AuditLog
  clock: Clock
  log: Logger
  /** A pending connection without a held grant older than this is an orphan (sweep). */
  sessionTtlSeconds: number
}

/** Where a grant landed: its connection, and the code to confirm it with when held. */
export interface Landed {
  row: ConnectionRow
  confirmationCode?: string
}

/** Why a pending grant was discarded; the session's error for the service to read. */
type DiscardReason = 'confirmation_rejected' | 'confirmation_failed' | 'confirmation_superseded' | 'expired'

export class Confirmations {
  constructor(private readonly deps: ConfirmationsOptions) {}

  /**
   * A connect flow obtained a grant for `session`: stored and usable at once, or held for
   * confirmation. Undefined when the connection to re-authorize is gone (or of another
   * provider or namespace).
   */
  async land(session: ConnectSessionRow, provider: Provider, grant: Replacement): Promise<Landed | undefined> {
    if (session.confirm) return this.hold(session, provider, grant)
    const { store } = this.deps
    const row = session.connectionId
      ? await store.replaceGrant(session.connectionId, {
          provider,
          namespace: session.namespace,
          tokens: grant.tokens,
          scopes: grant.scopes,
          actor: session.clientId,
          ...(grant.params ? { params: grant.params } : {}),
        })
      : await store.create({
          provider,
          ownerId: session.ownerId,
          namespace: session.namespace,
          clientId: session.clientId,
          params: grant.params ?? (session.params as Record<string, string>),
          scopes: grant.scopes,
          tokens: grant.tokens,
        })
    if (!row) return undefined
    await this.deps.sessions.settle(session.id, 'completed', { connectionId: row.id })
    this.usable(row, session.connectionId ? 'reauthorized' : 'created')
    return { row }
  }

  /**
   * The one place where a connection becomes usable (vendable): created or re-authorized
   * without confirmation, or confirmed. Hook here for anything that follows that moment.
   */
  usable(row: ConnectionRow, how: 'created' | 'reauthorized' | 'confirmed'): void {
    this.deps.cache.evict(row.id)
    this.deps.log.info({ connectionId: row.id, provider: row.provider, how }, 'connection usable')
  }

  /** The grant waits: a new connection in status pending_confirmation, or a re-authorization's new tokens aside. */
  private async hold(session: ConnectSessionRow, provider: Provider, grant: Replacement): Promise<Landed | undefined> {
    const { store, pending } = this.deps
    let row: ConnectionRow | undefined
    if (session.connectionId) {
      row = await store.get(session.connectionId)
      if (!row || row.status === 'revoked' || row.provider !== provider.key || row.namespace !== session.namespace)
        return undefined
    } else {
      row = await store.create({
        provider,
        ownerId: session.ownerId,
        namespace: session.namespace,
        clientId: session.clientId,
        params: grant.params ?? (session.params as Record<string, string>),
        scopes: grant.scopes,
        tokens: grant.tokens,
        pending: true,
      })
    }
    const held = { connectionId: row.id, sessionId: session.id, expiresAt: session.expiresAt }
    const replacement = session.connectionId ? { replacement: grant } : {}
    const { code, replaced, queued } = await pending.hold({ ...held, ...replacement }, this.queueIn)
    if (replaced) await this.discard(replaced, 'confirmation_superseded', session.clientId, queued)
    this.deps.cache.evict(row.id)
    await this.deps.sessions.settle(session.id, 'pending_confirmation', { connectionId: row.id })
    this.deps.log.info(
      { connectionId: row.id, provider: provider.key, sessionId: session.id },
      'grant held for confirmation',
    )
    return { row, confirmationCode: code }
  }

  /**
   * POST /v1/connections/:id/confirm. A wrong, used or expired code changes nothing but the
   * count of wrong codes (400 invalid_confirmation); the fifth wrong one discards the grant.
   */
  async confirm(
    id: string,
    input: { confirmationCode: string; accept?: boolean },
    caller: { clientId: string; namespaces: readonly string[] },
  ) {
    const row = visibleRow(await this.deps.store.get(id), caller.namespaces)
    const accept = input.accept !== false
    let queued: string | undefined
    const checked = await this.deps.pending.check(
      id,
      input.confirmationCode,
      async (tx, grant) => {
        if (accept && !grant.tokens) await this.activate(tx, row, caller.clientId)
        if (!accept) queued = await this.queueIn(tx, grant)
      },
      this.queueIn,
    )
    if (checked.result !== 'accepted') return this.refuse(row, checked, caller.clientId)
    const { grant } = checked
    if (!accept) {
      await this.discard(grant, 'confirmation_rejected', caller.clientId, queued)
      return connectionView((await this.deps.store.get(id)) ?? row)
    }
    const confirmed = grant.tokens ? await this.replace(row, grant, caller.clientId) : await this.deps.store.get(id)
    if (confirmed?.status !== 'active') throw problem('connection_not_found')
    await this.deps.sessions.settle(grant.sessionId, 'completed')
    this.usable(confirmed, 'confirmed')
    return connectionView(confirmed)
  }

  /** A confirmed re-authorization: the held grant replaces the old one. */
  private async replace(row: ConnectionRow, grant: PendingGrantRow, actor: string) {
    const provider = this.deps.providers.get(row.provider)
    const replacement = this.deps.pending.openReplacement(grant)!
    const replaced =
      provider &&
      (await this.deps.store.replaceGrant(row.id, { provider, namespace: row.namespace, actor, ...replacement }))
    // Revoked or reconfigured meanwhile: the new grant must not linger at the provider.
    if (!replaced) await this.discard(grant, 'confirmation_rejected', actor)
    return replaced
  }

  /** A new connection's grant confirmed: usable from this commit on. */
  private async activate(tx: Tx, row: ConnectionRow, actor: string): Promise<void> {
    const now = this.deps.clock.now()
    const { count } = await tx.connection.updateMany({
      where: { id: row.id, status: 'pending_confirmation' },
      data: { status: 'active', updatedAt: now },
    })
    if (!count) return
    const event = { type: 'connection.confirmed' as const, actor, connectionId: row.id, namespace: row.namespace }
    await this.deps.audit.write(event, tx)
    await recordLifecycleEvent(tx, 'connection.created', { ...row, status: 'active' })
    await notifyChange(tx, { topic: 'connection', id: row.id })
  }

  private async refuse(row: ConnectionRow, checked: Exclude<CodeCheck, { result: 'accepted' }>, actor: string) {
    const failures = 'failures' in checked ? checked.failures : undefined
    // Never the code: only which connection, why, and how many wrong codes so far.
    this.deps.log.warn(
      {
        event: SECURITY_EVENTS.confirmationRefused,
        connectionId: row.id,
        clientId: actor,
        reason: checked.result,
        failures,
      },
      'confirmation refused',
    )
    if ('discarded' in checked && checked.discarded)
      await this.discard(checked.discarded, 'confirmation_failed', actor, checked.queued)
    throw problem('invalid_confirmation')
  }

  /**
   * Discards a held grant and revokes it at the provider where it can: a new connection is
   * deleted as DELETE /v1/connections/:id does; a re-authorization's tokens are revoked and
   * the connection keeps its old grant. Failures are logged, never thrown.
   */
  async discard(grant: PendingGrantRow, reason: DiscardReason, actor: string, queued?: string): Promise<void> {
    const row = await this.deps.store.get(grant.connectionId)
    try {
      const revocation = grant.tokens
        ? await this.revokeReplacement(row, grant, queued)
        : await this.deps.revocations.revoke(grant.connectionId, actor, [ALL_NAMESPACES])
      const detail = { reason, refresh: revocation.refreshToken, access: revocation.accessToken }
      await this.deps.audit.write({
        type: 'connection.confirmation_discarded',
        actor,
        connectionId: grant.connectionId,
        namespace: row?.namespace,
        detail,
      })
    } catch (err) {
      this.deps.log.warn({ err, connectionId: grant.connectionId, reason }, 'discarding a pending grant failed')
    }
    const error = reason === 'expired' ? undefined : reason
    await this.deps.sessions.settle(grant.sessionId, reason === 'expired' ? 'expired' : 'failed', { error })
    this.deps.cache.evict(grant.connectionId)
    this.deps.log.info({ connectionId: grant.connectionId, reason }, 'pending grant discarded')
  }

  /** Queues a re-authorization's held tokens in the transaction that takes its grant (for discard). */
  private queueIn = async (tx: Tx, grant: PendingGrantRow): Promise<string | undefined> => {
    const held = grant.tokens ? this.held(await this.deps.store.get(grant.connectionId), grant) : undefined
    return held && this.deps.revocations.queueHeld(tx, held.row, held.tokens)
  }

  /** A re-authorization's held tokens, where its provider revokes: with the grant's params. */
  private held(row: ConnectionRow | undefined, grant: PendingGrantRow) {
    const replacement = this.deps.pending.openReplacement(grant)
    const provider = row && this.deps.providers.get(row.provider)
    if (!replacement || provider?.mode !== 'oauth2' || !supportsRevocation(provider)) return undefined
    const tokens = { accessToken: replacement.tokens.accessToken, refreshToken: replacement.tokens.refreshToken }
    return { row: { ...row!, params: replacement.params ?? row!.params }, provider, tokens }
  }

  private async revokeReplacement(
    row: ConnectionRow | undefined,
    grant: PendingGrantRow,
    queued?: string,
  ): Promise<RevocationResult> {
    const held = this.held(row, grant)
    if (!held) return { refreshToken: 'not_supported', accessToken: 'not_supported', errors: [] }
    // Queued first (or already, by the sweep), so a failure is retried like a deletion's (revoke.ts).
    return this.deps.revocations.revokeHeld(held.row, held.provider, held.tokens, queued)
  }

  /**
   * The periodic sweep: grants whose session expired unconfirmed are discarded (and revoked),
   * and so are pending connections that never got their grant held (a failure between the two
   * writes). Safe on several replicas at once. A re-authorization's held tokens are queued
   * for revocation in the transaction that takes the grant: a crash cannot lose them.
   */
  async sweep(): Promise<number> {
    let discarded = 0
    const queued = new Map<string, string | undefined>()
    const taken = await this.deps.pending.takeExpired(100, async (tx, grant) => {
      queued.set(grant.connectionId, await this.queueIn(tx, grant))
    })
    for (const grant of taken) {
      await this.discard(grant, 'expired', 'system', queued.get(grant.connectionId))
      discarded++
    }
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.sessionTtlSeconds * 1000)
    const orphans = await this.deps.db.pool.query<{ id: string }>(
      `SELECT id FROM connections c WHERE status = 'pending_confirmation' AND created_at < $1
         AND NOT EXISTS (SELECT 1 FROM pending_grants p WHERE p.connection_id = c.id) LIMIT 100`,
      [cutoff],
    )
    for (const { id } of orphans.rows) {
      await this.deps.revocations.revoke(id, 'system', [ALL_NAMESPACES]).catch(() => undefined)
      discarded++
    }
    return discarded
  }
}
