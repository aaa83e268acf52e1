// The owner of the connections table: every write to a connection row happens here, and
// each life-cycle step writes the row, its audit event, its webhook event (webhooks/) and its
// change notification in one transaction. Tokens are sealed with associated data naming the
// row and column, and opened only on the way out to a caller or a provider. Steps inside a
// caller's short transaction take it (`tx`); none is held across a provider call.
import type { AuditEventInput, AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import type { TokenSet } from '../oauth/token-endpoint.js'
import type { Provider } from '../providers/schema.js'
import { notifyChange } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import { recordLifecycleEvent } from '../webhooks/lifecycle-events.js'
import { listConnections, type ListFilter, readConnection } from './connection-reads.js'
import { newConnectionId, type ConnectionRow as Row, type ViewedRow } from './connection-view.js'
import {
  BACKOFF_BASE_SECONDS,
  BACKOFF_MAX_SECONDS,
  BACKOFF_SQL,
  CLAIM_SQL,
  type DueConnection,
} from './refresh-schedule.js'

export {
  connectionView,
  newConnectionId,
  visibleRow,
  type ConnectionRow,
  type ConnectionStatus,
  type ConnectionView,
  type ViewedRow,
} from './connection-view.js'

export interface ConnectionStoreOptions {
  db: Database
  keyring: Keyring
  clock: Clock
  audit: AuditLog
}

/** A first grant for a new connection. */
export interface NewGrant {
  provider: Provider
  ownerId: string
  /** Fixed for the connection's life: who may touch it (service-clients/namespaces.ts). */
  namespace: string
  /** The service client that created it (audit actor). */
  clientId: string
  params: Record<string, string>
  scopes: string[]
  tokens: TokenSet
  /** Held until the service confirms its end user (confirmation.ts): not vendable meanwhile. */
  pending?: boolean
}

/** A new grant for an existing connection (re-authorization). */
export interface ReplacementGrant {
  provider: Provider
  /** The session's namespace: a grant never lands in a connection of another one. */
  namespace: string
  tokens: TokenSet
  scopes: string[]
  actor: string
  /** New non-secret params (credential exchanges discover them again); absent: kept. */
  params?: Record<string, string>
}

type Column = 'access_token' | 'refresh_token'

export class ConnectionStore {
  constructor(private readonly deps: ConnectionStoreOptions) {}

  open(
    row: Pick<Row, 'id'> & { accessToken: string | null; refreshToken: string | null },
    column: Column,
  ): string | undefined {
    const sealed = column === 'access_token' ? row.accessToken : row.refreshToken
    return sealed == null
      ? undefined
      : this.deps.keyring.openString(sealed, fieldContext('connections', row.id, column))
  }

  get(id: string): Promise<Row | undefined> {
    return readConnection(this.deps.db.pool, id)
  }

  /** Locks the row for the rest of `tx` and reads it (the refresh and revocation path). */
  async lock(tx: Tx, id: string): Promise<Row | undefined> {
    await tx.$queryRaw`SELECT id FROM connections WHERE id = ${id} FOR UPDATE`
    return (await tx.connection.findUnique({ where: { id } })) ?? undefined
  }

  /** A page of connections; `namespaces` (undefined: all) bounds what the caller may see. */
  list(filter: ListFilter): Promise<{ items: ViewedRow[]; nextCursor: string | null }> {
    return listConnections(this.deps.db.pool, filter)
  }

  /** Creates a connection from its first grant. */
  create(grant: NewGrant): Promise<Row> {
    return this.deps.db.prisma.$transaction(async (tx) => {
      const id = newConnectionId()
      const now = this.deps.clock.now()
      const row = await tx.connection.create({
        data: {
          id,
          provider: grant.provider.key,
          ownerId: grant.ownerId,
          namespace: grant.namespace,
          status: grant.pending ? 'pending_confirmation' : 'active',
          ...this.tokenColumns(id, grant.tokens, grant.scopes),
          params: grant.params,
          metadata: grant.tokens.metadata,
          createdBy: grant.clientId,
          createdAt: now,
          updatedAt: now,
          version: 1,
        },
      })
      const detail = { provider: grant.provider.key, ownerId: grant.ownerId, mode: grant.provider.mode }
      await this.recorded(tx, row, { type: 'connection.created', actor: grant.clientId, detail })
      await recordLifecycleEvent(tx, 'connection.created', row)
      return row
    })
  }

  /**
   * Re-authorization in place: same id, new grant; the old tokens are replaced. A new grant
   * without a refresh token clears the old one: it belongs to the old grant and must not be
   * used (or outlive it) in the new one's name. Undefined when the row is gone, revoked, or
   * of another provider or namespace.
   */
  replaceGrant(id: string, grant: ReplacementGrant): Promise<Row | undefined> {
    return this.deps.db.prisma.$transaction(async (tx) => {
      const current = await this.lock(tx, id)
      if (
        !current ||
        current.status === 'revoked' ||
        current.provider !== grant.provider.key ||
        current.namespace !== grant.namespace
      )
        return undefined
      const row = await tx.connection.update({
        where: { id },
        data: {
          ...this.grantColumns(current, grant.tokens, grant.scopes),
          ...(grant.tokens.refreshToken === undefined ? { refreshToken: null, refreshTokenExpiresAt: null } : {}),
          ...(grant.params ? { params: grant.params } : {}),
        },
      })
      await this.recorded(tx, row, {
        type: 'connection.reauthorized',
        actor: grant.actor,
        detail: { provider: grant.provider.key },
      })
      // A connection still awaiting its confirmation was never announced: now it is usable.
      const announced = current.status !== 'pending_confirmation'
      await recordLifecycleEvent(tx, announced ? 'connection.reauthorized' : 'connection.created', row)
      return row
    })
  }

  /** A successful refresh of the locked `row`: the new tokens (a rotated refresh token with them). */
  async recordRefresh(tx: Tx, row: Row, tokens: TokenSet, actor: string): Promise<Row> {
    const updated = await tx.connection.update({
      where: { id: row.id },
      data: { ...this.grantColumns(row, tokens, row.scopes), lastRefreshedAt: this.deps.clock.now() },
    })
    const detail = { rotated: tokens.refreshToken !== undefined }
    await this.recorded(tx, row, { type: 'connection.refresh_succeeded', actor, detail })
    return updated
  }

  /**
   * A refresh that failed without refusing the grant: the tokens stay. `refresh_failures`
   * counts consecutive failures, whoever refreshed (the refresher backs off on it).
   */
  async recordFailure(
    tx: Tx,
    row: Row,
    failure: { failure: 'configuration' | 'transient'; code: string },
    actor: string,
  ): Promise<void> {
    const now = this.deps.clock.now()
    await tx.connection.update({
      where: { id: row.id },
      data: { lastErrorCode: failure.code, lastErrorAt: now, refreshFailures: { increment: 1 } },
    })
    await this.recorded(tx, row, { type: 'connection.refresh_failed', actor, detail: failure })
  }

  /** The grant is gone (refused, or nothing to refresh with): the connection needs its user again. */
  async requireReauthorization(tx: Tx, row: Row, code: string, actor: string): Promise<void> {
    const now = this.deps.clock.now()
    const { count } = await tx.connection.updateMany({
      where: { id: row.id, status: { not: 'reauthorization_required' } },
      data: { status: 'reauthorization_required', lastErrorCode: code, lastErrorAt: now, updatedAt: now },
    })
    await this.recorded(tx, row, { type: 'connection.refresh_failed', actor, detail: { failure: 'grant', code } })
    // Another caller on the same (stale) row got here first: announced once.
    if (count) await recordLifecycleEvent(tx, 'connection.reauthorization_required', row)
  }

  /**
   * Revoked: the sealed tokens are destroyed; the row stays as the record of the connection.
   * `outcome` undefined: the audit event is written after the provider call (revoke.ts).
   */
  async delete(tx: Tx, row: Row, actor: string, outcome: object | undefined): Promise<void> {
    const now = this.deps.clock.now()
    await tx.connection.update({
      where: { id: row.id },
      data: {
        status: 'revoked',
        accessToken: null,
        refreshToken: null,
        revokedAt: now,
        updatedAt: now,
        version: { increment: 1 },
      },
    })
    await recordLifecycleEvent(tx, 'connection.deleted', row)
    if (!outcome) return notifyChange(tx, { topic: 'connection', id: row.id })
    await this.recorded(tx, row, { type: 'connection.revoked', actor, detail: { provider: row.provider, ...outcome } })
  }

  /** Claims and leases the rows due for a proactive refresh (refresh-schedule.ts). */
  async claimDue(parameters: number[]): Promise<DueConnection[]> {
    return (await this.deps.db.pool.query<DueConnection>(CLAIM_SQL, parameters)).rows
  }

  /** Backs a row off after a failed proactive refresh (refresh-schedule.ts). */
  async backOff(id: string, failures: number): Promise<void> {
    await this.deps.db.pool.query(BACKOFF_SQL, [id, BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS, failures])
  }

  /** The columns of a grant that is good again: new tokens, active, no error, no back-off. */
  private grantColumns(current: Row, tokens: TokenSet, scopes: string[]) {
    return {
      ...this.tokenColumns(current.id, tokens, scopes),
      status: 'active',
      version: { increment: 1 },
      metadata: { ...(current.metadata as object), ...tokens.metadata },
      lastErrorCode: null,
      lastErrorAt: null,
      refreshFailures: 0,
      refreshNotBefore: null,
      updatedAt: this.deps.clock.now(),
    }
  }

  /** Token columns for a fresh token set; a response without a refresh token keeps the old one. */
  private tokenColumns(id: string, tokens: TokenSet, requestedScopes: string[]) {
    const now = this.deps.clock.now().getTime()
    return {
      accessToken: this.seal(id, 'access_token', tokens.accessToken),
      ...(tokens.refreshToken !== undefined
        ? { refreshToken: this.seal(id, 'refresh_token', tokens.refreshToken) }
        : {}),
      tokenType: tokens.tokenType,
      tokenObtainedAt: new Date(now),
      expiresAt: tokens.expiresInSeconds === undefined ? null : new Date(now + tokens.expiresInSeconds * 1000),
      ...(tokens.refreshTokenExpiresInSeconds !== undefined
        ? { refreshTokenExpiresAt: new Date(now + tokens.refreshTokenExpiresInSeconds * 1000) }
        : tokens.refreshToken !== undefined
          ? { refreshTokenExpiresAt: null }
          : {}),
      scopes: tokens.scopes ?? requestedScopes,
    }
  }

  private seal(id: string, column: Column, value: string): string {
    return this.deps.keyring.seal(value, fieldContext('connections', id, column))
  }

  /**
   * The audit event (naming the connection and its namespace) and the change notification of a write,
   * in the write's transaction.
   */
  private async recorded(
    tx: Tx,
    row: Pick<Row, 'id' | 'namespace'>,
    event: Omit<AuditEventInput, 'connectionId' | 'namespace'>,
  ): Promise<void> {
    await this.deps.audit.write({ ...event, connectionId: row.id, namespace: row.namespace }, tx)
    await notifyChange(tx, { topic: 'connection', id: row.id })
  }
}
