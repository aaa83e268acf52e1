// The owner of the pending_grants table: grants from connect sessions with `confirm`,
// waiting for the service to confirm their end user (confirmation.ts). Only the SHA-256
// of the one-time confirmation code is stored (256 random bits: a fast hash suffices);
// the new token set of a re-authorization is sealed. (docs/security.md, connect-link fixation)
import type { Clock } from '../clock.js'
import type { PendingGrant } from '../generated/prisma/client.js'
import type { TokenSet } from '../oauth/token-endpoint.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import { randomSecret, safeEqual, sha256 } from './connect-sessions.js'

export type PendingGrantRow = PendingGrant

/** Wrong codes a pending grant survives: the fifth discards it. */
export const MAX_CONFIRMATION_FAILURES = 5

/** The outcome of a code against the pending grant of a connection. */
export type CodeCheck =
  | { result: 'accepted'; grant: PendingGrantRow }
  | { result: 'wrong'; failures: number; discarded?: PendingGrantRow; queued?: string }
  | { result: 'none' | 'expired' }

/** Queues a discarded grant's held tokens for revocation in the transaction that takes it: the entry id. */
export type QueueTaken = (tx: Tx, grant: PendingGrantRow) => Promise<string | undefined>

/** A re-authorization's grant as sealed: its tokens, and when they were obtained. */
interface SealedGrant extends Replacement {
  obtainedAt: number
}

/** A re-authorization's new grant: its tokens, scopes, and (credential exchanges) new params. */
export interface Replacement {
  tokens: TokenSet
  scopes: string[]
  params?: Record<string, string>
}

export class PendingGrants {
  constructor(private readonly deps: { db: Database; keyring: Keyring; clock: Clock }) {}

  /**
   * Holds a grant for `connectionId` and returns its confirmation code. A pending grant the
   * connection already had (an earlier re-authorization) is replaced: it is returned, to
   * be discarded.
   */
  hold(
    grant: {
      connectionId: string
      sessionId: string
      expiresAt: Date
      /** A re-authorization's new grant; absent for a new connection (its row holds the tokens). */
      replacement?: Replacement
    },
    queue?: QueueTaken,
  ): Promise<{ code: string; replaced: PendingGrantRow | undefined; queued?: string }> {
    const code = randomSecret()
    const { replacement, ...row } = grant
    const sealed: SealedGrant | undefined = replacement && {
      ...replacement,
      obtainedAt: this.deps.clock.now().getTime(),
    }
    return this.deps.db.prisma.$transaction(async (tx) => {
      const replaced = await this.lock(tx, grant.connectionId)
      if (replaced) await tx.pendingGrant.delete({ where: { connectionId: grant.connectionId } })
      const queued = replaced && (await queue?.(tx, replaced))
      await tx.pendingGrant.create({
        data: {
          ...row,
          codeHash: sha256(code),
          tokens: sealed ? this.deps.keyring.seal(JSON.stringify(sealed), tokensContext(grant.connectionId)) : null,
          createdAt: this.deps.clock.now(),
        },
      })
      return { code, replaced, queued }
    })
  }

  async get(connectionId: string): Promise<PendingGrantRow | undefined> {
    return (await this.deps.db.prisma.pendingGrant.findUnique({ where: { connectionId } })) ?? undefined
  }

  /** Which of `ids` have a grant waiting (a re-authorization shows `pendingConfirmation`). */
  async pendingAmong(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set()
    // Straight through pg, like the list page's own read: no pass through Prisma's query
    // compiler per page (docs/decisions.md, "Scale: where a list page's CPU went").
    const { rows } = await this.deps.db.pool.query<{ connection_id: string }>(
      'SELECT connection_id FROM pending_grants WHERE connection_id = ANY($1::text[]) AND expires_at > $2',
      [ids, this.deps.clock.now()],
    )
    return new Set(rows.map((r) => r.connection_id))
  }

  /**
   * Checks `code` against the connection's pending grant under its row lock, in constant
   * time. An accepted code takes the grant (single use: a second call finds none); a wrong
   * one counts, and the MAX_CONFIRMATION_FAILURES-th takes the grant away to be discarded.
   * `then` runs in the same transaction with the accepted grant.
   */
  check(
    connectionId: string,
    code: string,
    then: (tx: Tx, grant: PendingGrantRow) => Promise<void>,
    queue?: QueueTaken,
  ) {
    return this.deps.db.prisma.$transaction(async (tx): Promise<CodeCheck> => {
      const grant = await this.lock(tx, connectionId)
      if (!grant) return { result: 'none' }
      if (grant.expiresAt <= this.deps.clock.now()) return { result: 'expired' }
      if (safeEqual(sha256(code), grant.codeHash)) {
        await tx.pendingGrant.delete({ where: { connectionId } })
        await then(tx, grant)
        return { result: 'accepted', grant }
      }
      const failures = grant.failures + 1
      if (failures >= MAX_CONFIRMATION_FAILURES) {
        await tx.pendingGrant.delete({ where: { connectionId } })
        return { result: 'wrong', failures, discarded: grant, queued: await queue?.(tx, grant) }
      }
      await tx.pendingGrant.update({ where: { connectionId }, data: { failures } })
      return { result: 'wrong', failures }
    })
  }

  /**
   * Takes the grants whose session expired, for discarding; each is taken by one replica
   * only. `then` runs in the deleting transaction (to queue their revocations durably).
   */
  takeExpired(limit = 100, then?: (tx: Tx, grant: PendingGrantRow) => Promise<void>): Promise<PendingGrantRow[]> {
    return this.deps.db.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<SqlRow[]>`
        DELETE FROM pending_grants WHERE connection_id IN (
          SELECT connection_id FROM pending_grants WHERE expires_at <= ${this.deps.clock.now()}
          ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING connection_id, session_id, code_hash, failures, tokens, expires_at, created_at`
      const grants = rows.map(fromSql)
      for (const grant of grants) await then?.(tx, grant)
      return grants
    })
  }

  /** The sealed new grant of a re-authorization, its lifetimes counted from when it was obtained. */
  openReplacement(grant: PendingGrantRow): Replacement | undefined {
    if (!grant.tokens) return undefined
    const sealed = JSON.parse(
      this.deps.keyring.openString(grant.tokens, tokensContext(grant.connectionId)),
    ) as SealedGrant
    const elapsed = Math.floor((this.deps.clock.now().getTime() - sealed.obtainedAt) / 1000)
    const left = (seconds: number | undefined) => (seconds === undefined ? undefined : Math.max(0, seconds - elapsed))
    const tokens: TokenSet = {
      ...sealed.tokens,
      expiresInSeconds: left(sealed.tokens.expiresInSeconds),
      refreshTokenExpiresInSeconds: left(sealed.tokens.refreshTokenExpiresInSeconds),
    }
    return { tokens, scopes: sealed.scopes, ...(sealed.params ? { params: sealed.params } : {}) }
  }

  private async lock(tx: Tx, connectionId: string): Promise<PendingGrantRow | undefined> {
    await tx.$queryRaw`SELECT connection_id FROM pending_grants WHERE connection_id = ${connectionId} FOR UPDATE`
    return (await tx.pendingGrant.findUnique({ where: { connectionId } })) ?? undefined
  }
}

type SqlRow = {
  connection_id: string
  session_id: string
  code_hash: string
  failures: number
  tokens: string | null
  expires_at: Date
  created_at: Date
}

function fromSql(r: SqlRow): PendingGrantRow {
  return {
    connectionId: r.connection_id,
    sessionId: r.session_id,
    codeHash: r.code_hash,
    failures: r.failures,
    tokens: r.tokens,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
  }
}

const tokensContext = (connectionId: string) => fieldContext('pending_grants', connectionId, 'tokens')
