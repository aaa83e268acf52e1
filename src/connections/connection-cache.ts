// An in-process cache of connection rows (sealed tokens included) for the token-vending
// hot path. Every write to a connection notifies all replicas (store/changes.ts); a
// notification evicts the row, and a read that raced with it is not cached. While the
// change feed is disconnected the cache is bypassed. Rows also expire after maxAgeMs
// (MAX_AGE_MS unless injected), bounding the damage of any missed notification.
// At most MAX_ENTRIES rows are kept, the least recently used leaving first: a row is about
// 2 KB of heap, so the cache stays near 20 MB however many connections callers spread over
// (docs/performance.md, the 250 MB budget of a replica). A hit moves its row to the back of
// the order only once the row is in the older half: moving it on every hit (a delete and a
// set on the Map) cost a full cache's hot path 20 times its lookup. So a row used within the
// last MAX_ENTRIES / 2 insertions never leaves; one unused for longer may.
import type { ChangeFeed } from '../store/changes.js'
import type { ConnectionRow } from './connection-store.js'

export const MAX_ENTRIES = 10_000
export const MAX_AGE_MS = 60_000

export class ConnectionCache {
  /** In use order: `used` is the `tick` at which the row was put or last moved to the back. */
  private rows = new Map<string, { row: ConnectionRow; at: number; used: number }>()
  private tick = 0
  /** Bumped by every eviction of an id; a read started before a bump must not fill. */
  private generations = new Map<string, number>()
  private epoch = 0

  constructor(
    private changes: ChangeFeed | undefined,
    private maxAgeMs = MAX_AGE_MS,
    private maxEntries = MAX_ENTRIES,
  ) {
    changes?.subscribe((c) => {
      if (c.topic === 'connection' && c.id) this.evict(c.id)
      else if (c.topic === '*') this.clear()
    })
  }

  private get usable(): boolean {
    return this.changes?.connected === true
  }

  get(id: string): ConnectionRow | undefined {
    if (!this.usable) return undefined
    const hit = this.rows.get(id)
    if (!hit) return undefined
    if (Date.now() - hit.at > this.maxAgeMs) {
      this.rows.delete(id)
      return undefined
    }
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    if (this.tick - hit.used > this.maxEntries / 2) {
      this.rows.delete(id)
      hit.used = ++this.tick
      this.rows.set(id, hit)
    }
    return hit.row
  }

  /** Reads through `load`, caching the result unless the row changed meanwhile. */
  async read(id: string, load: () => Promise<ConnectionRow | undefined>): Promise<ConnectionRow | undefined> {
    const cached = this.get(id)
    if (cached) return cached
    const generation = this.generations.get(id) ?? 0
    const epoch = this.epoch
    const row = await load()
    if (row && this.usable && epoch === this.epoch && generation === (this.generations.get(id) ?? 0)) this.put(row)
    return row
  }

  put(row: ConnectionRow): void {
    if (!this.usable) return
    this.rows.delete(row.id)
    if (this.rows.size >= this.maxEntries) this.rows.delete(this.rows.keys().next().value!)
    this.rows.set(row.id, { row, at: Date.now(), used: ++this.tick })
  }

  evict(id: string): void {
    this.rows.delete(id)
    this.generations.set(id, (this.generations.get(id) ?? 0) + 1)
    if (this.generations.size > this.maxEntries) {
      this.generations.clear()
      this.epoch++
    }
  }

  /** Rows held (for tests of the bound). */
  get size(): number {
    return this.rows.size
  }

  clear(): void {
    this.rows.clear()
    this.generations.clear()
    this.epoch++
  }
}
