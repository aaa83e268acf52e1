// The refresh lease: exactly one refresh per connection across replicas without holding a
// database connection while the provider is waited on (docs/decisions.md "Refresh lease").
//
// - Claim: a short transaction locks the row, decides (the row may have been refreshed or
//   have failed meanwhile), and, when a refresh is needed and nobody else holds a live
//   lease, writes this replica as the lease owner until `now() + leaseMs`. Commit.
// - The provider call runs with no transaction and no pool connection held.
// - Write: a short transaction, fenced by the version the lease was claimed at: a replica
//   whose lease expired cannot overwrite a newer grant. It releases the lease.
// - Waiters (another replica holds the lease) are woken by the row's change notification
//   (store/changes.ts), with a poll as the fallback for a missed one.
// The lease columns (refresh_lease_owner, refresh_lease_until) are written here only.
import { randomUUID } from 'node:crypto'
import type { ChangeFeed } from '../store/changes.js'
import { notifyChange } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import type { ConnectionRow, ConnectionStore } from './connection-store.js'

/** How often a waiter re-reads the row when no notification came. */
export const LEASE_POLL_MS = 500

/** What the claim's decision says: an answer without the provider, or "refresh". */
export type Decision<T> = { done: T } | 'refresh'

export type Claim<T> = { done: T } | { claimed: ConnectionRow } | { heldUntil: number }

export class RefreshLease {
  /** This replica's lease owner id (one per process and broker instance). */
  readonly owner = randomUUID()

  constructor(private readonly deps: { db: Database; store: ConnectionStore; changes?: ChangeFeed; leaseMs: number }) {}

  /**
   * In one short transaction under the row lock: `decide` on the current row; when it says
   * refresh, take the lease unless another replica holds a live one (then `heldUntil`).
   */
  claim<T>(id: string, decide: (tx: Tx, row: ConnectionRow | undefined) => Promise<Decision<T>>): Promise<Claim<T>> {
    return this.deps.db.prisma.$transaction(async (tx) => {
      const row = await this.deps.store.lock(tx, id)
      const decision = await decide(tx, row)
      if (decision !== 'refresh') return decision
      const [lease] = await tx.$queryRaw<Array<{ held: boolean; left_ms: number }>>`
        SELECT refresh_lease_owner IS NOT NULL AND refresh_lease_owner <> ${this.owner}
               AND refresh_lease_until > now() AS held,
               GREATEST(0, EXTRACT(EPOCH FROM refresh_lease_until - now()) * 1000)::float8 AS left_ms
          FROM connections WHERE id = ${id}`
      if (lease?.held) return { heldUntil: Date.now() + Number(lease.left_ms) }
      await tx.$executeRaw`
        UPDATE connections
           SET refresh_lease_owner = ${this.owner},
               refresh_lease_until = now() + make_interval(secs => ${this.deps.leaseMs / 1000}::float8)
         WHERE id = ${id}`
      return { claimed: row! }
    })
  }

  /**
   * A write of the refresh's outcome, fenced: `write` runs only while the row still has the
   * version the lease was claimed at; else `fenced` gets the current row. The lease is
   * released in the same transaction either way.
   */
  fencedWrite<T>(
    id: string,
    fromVersion: number,
    write: (tx: Tx, current: ConnectionRow) => Promise<T>,
    fenced: (tx: Tx, current: ConnectionRow | undefined) => Promise<T>,
  ): Promise<T> {
    return this.deps.db.prisma.$transaction(async (tx) => {
      const current = await this.deps.store.lock(tx, id)
      // Released whoever wins: waiters re-read on this notification.
      if ((await this.releaseIn(tx, id)) > 0) await notifyChange(tx, { topic: 'connection', id })
      if (!current || current.version !== fromVersion) return fenced(tx, current)
      return write(tx, current)
    })
  }

  /** Gives the lease up without a write (the refresh ended without an outcome to store). */
  async release(id: string): Promise<void> {
    await this.deps.db.prisma.$transaction(async (tx) => {
      if ((await this.releaseIn(tx, id)) > 0) await notifyChange(tx, { topic: 'connection', id })
    })
  }

  private releaseIn(tx: Tx, id: string): Promise<number> {
    return tx.$executeRaw`
      UPDATE connections SET refresh_lease_owner = NULL, refresh_lease_until = NULL
       WHERE id = ${id} AND refresh_lease_owner = ${this.owner}`
  }

  /** Resolves on the row's next change notification, after a poll interval, or at `untilMs`. */
  waitForChange(id: string, untilMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        unsubscribe?.()
        resolve()
      }
      const timer = setTimeout(done, Math.max(10, Math.min(LEASE_POLL_MS, untilMs - Date.now())))
      const unsubscribe = this.deps.changes?.subscribe((c) => {
        if (c.topic === '*' || (c.topic === 'connection' && c.id === id)) done()
      })
    })
  }
}
