// The refresh lease: exactly one refresh per connection across replicas without holding a
// database connection while the provider is waited on (docs/decisions.md "Refresh lease").
//
// - Claim: the caller reads the row and decides (it may have been refreshed or have failed
//   meanwhile); when a refresh is needed, one UPDATE takes the lease until `now() + leaseMs`
//   if the row is still as read and nobody else holds a live lease.
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
import type { ConnectionRow } from './connection-store.js'

/** How often a waiter re-reads the row when no notification came. */
export const LEASE_POLL_MS = 500

export class RefreshLease {
  /** This replica's lease owner id (one per process and broker instance). */
  readonly owner = randomUUID()

  constructor(private readonly deps: { db: Database; changes?: ChangeFeed; leaseMs: number }) {}

  /** Does another instance hold a live lease on the row as read? */
  heldByOther(row: ConnectionRow): boolean {
    return (
      row.refreshLeaseOwner !== null &&
      row.refreshLeaseOwner !== this.owner &&
      row.refreshLeaseUntil !== null &&
      row.refreshLeaseUntil.getTime() > Date.now()
    )
  }

  /**
   * Takes the lease until `now() + leaseMs` (database time), in one statement, only if the
   * row is still as read (`row`: the refresh was decided on it) and no other instance holds
   * a live lease. False: the row changed or the lease is taken; read and decide again.
   */
  async claim(row: ConnectionRow): Promise<boolean> {
    const taken = await this.deps.db.prisma.$executeRaw`
      UPDATE connections
         SET refresh_lease_owner = ${this.owner},
             refresh_lease_until = now() + make_interval(secs => ${this.deps.leaseMs / 1000}::float8)
       WHERE id = ${row.id} AND version = ${row.version} AND status = ${row.status}
         AND last_refreshed_at IS NOT DISTINCT FROM ${row.lastRefreshedAt}::timestamptz
         AND last_error_at IS NOT DISTINCT FROM ${row.lastErrorAt}::timestamptz
         AND (refresh_lease_owner IS NULL OR refresh_lease_owner = ${this.owner} OR refresh_lease_until <= now())`
    return taken === 1
  }

  /**
   * A write of the refresh's outcome in one short transaction, fenced: `write` runs only
   * while the row still has the version the lease was claimed at (`claimed.version`), and
   * gets the row as claimed; else `fenced` gets the current row. The first statement
   * releases the lease (if still ours) and locks the row.
   */
  fencedWrite<T>(
    claimed: ConnectionRow,
    write: (tx: Tx, current: ConnectionRow) => Promise<T>,
    fenced: (tx: Tx, current: ConnectionRow | undefined) => Promise<T>,
  ): Promise<T> {
    const id = claimed.id
    return this.deps.db.prisma.$transaction(async (tx) => {
      const [locked] = await tx.$queryRaw<Array<{ version: number }>>`
        UPDATE connections
           SET refresh_lease_owner = CASE WHEN refresh_lease_owner = ${this.owner}
                                          THEN NULL ELSE refresh_lease_owner END,
               refresh_lease_until = CASE WHEN refresh_lease_owner = ${this.owner}
                                          THEN NULL ELSE refresh_lease_until END
         WHERE id = ${id}
        RETURNING version`
      // Same version: no grant was written since the claim, so the claimed row is current
      // in everything a write uses (id, namespace, scopes, metadata).
      if (locked?.version === claimed.version) return write(tx, claimed)
      // Waiters re-read on this notification.
      await notifyChange(tx, { topic: 'connection', id })
      const current = locked ? ((await tx.connection.findUnique({ where: { id } })) ?? undefined) : undefined
      return fenced(tx, current)
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
