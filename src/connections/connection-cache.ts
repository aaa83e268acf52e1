// An in-process cache of connection rows (sealed tokens included) for the token-vending
// hot path. Every write to a connection notifies all replicas (store/changes.ts); a
// notification evicts the row, and a read that raced with it is not cached. While the
// change feed is disconnected the cache is bypassed. Rows also expire after maxAgeMs
// (MAX_AGE_MS unless injected), bounding the damage of any missed notification.
import type { ChangeFeed } from '../store/changes.js'
import type { ConnectionRow } from './connection-store.js'

const MAX_ENTRIES = 50_000
export const MAX_AGE_MS = 60_000

export class ConnectionCache {
  private rows = new Map<string, { row: ConnectionRow; at: number }>()
  /** Bumped by every eviction of an id; a read started before a bump must not fill. */
  private generations = new Map<string, number>()
  private epoch = 0

  constructor(
    private changes: ChangeFeed | undefined,
    private maxAgeMs = MAX_AGE_MS,
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
    if (this.rows.size >= MAX_ENTRIES) this.rows.delete(this.rows.keys().next().value!)
    this.rows.set(row.id, { row, at: Date.now() })
  }

  evict(id: string): void {
    this.rows.delete(id)
    this.generations.set(id, (this.generations.get(id) ?? 0) + 1)
    if (this.generations.size > MAX_ENTRIES) {
      this.generations.clear()
      this.epoch++
    }
  }

  clear(): void {
    this.rows.clear()
    this.generations.clear()
    this.epoch++
  }
}
