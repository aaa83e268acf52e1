// A bulkhead: at most `limit` calls to one provider at a time (PROVIDER_CONCURRENCY), so a
// provider that hangs ties up a bounded part of the replica, never all of it.
//
// Two kinds of caller share it. Request-path callers (an API caller waiting on a refresh,
// a code exchange, a revocation) are served before background ones (the proactive
// refresher), and the background may hold at most `limit - 1` slots: however large its
// backlog, the request path always finds a slot free or freed next, never waits behind it.
import { AsyncLocalStorage } from 'node:async_hooks'

export type Priority = 'request' | 'background'

/** Gives the slot back; calling it twice is harmless. */
export type Release = () => void

interface Waiter {
  grant: (release: Release) => void
  timer: NodeJS.Timeout
}

export class Bulkhead {
  private inUse = { request: 0, background: 0 }
  private waiting: Record<Priority, Waiter[]> = { request: [], background: [] }

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('a bulkhead needs at least one slot')
  }

  /** Slots held now, by kind. */
  get held(): Readonly<Record<Priority, number>> {
    return { ...this.inUse }
  }

  /** Callers waiting for a slot now. */
  get queued(): number {
    return this.waiting.request.length + this.waiting.background.length
  }

  /** A slot now, or within `waitMs`; `undefined` when none came free in time. */
  acquire(priority: Priority, waitMs: number): Promise<Release | undefined> {
    if (this.canTake(priority)) return Promise.resolve(this.take(priority))
    if (waitMs <= 0) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: (release) => {
          clearTimeout(waiter.timer)
          resolve(release)
        },
        timer: setTimeout(() => {
          const queue = this.waiting[priority]
          queue.splice(queue.indexOf(waiter), 1)
          resolve(undefined)
        }, waitMs),
      }
      this.waiting[priority].push(waiter)
    })
  }

  private canTake(priority: Priority): boolean {
    const total = this.inUse.request + this.inUse.background
    if (total >= this.limit) return false
    if (priority === 'request') return true
    // The background never takes the last slot (unless there is only one), nor one a request waits for.
    return this.waiting.request.length === 0 && this.inUse.background < Math.max(1, this.limit - 1)
  }

  private take(priority: Priority): Release {
    this.inUse[priority]++
    let released = false
    return () => {
      if (released) return
      released = true
      this.inUse[priority]--
      this.handOver()
    }
  }

  /** A freed slot goes to the first waiting request, else to the first waiting background caller. */
  private handOver(): void {
    for (const priority of ['request', 'background'] as const) {
      const queue = this.waiting[priority]
      if (queue.length && this.canTake(priority)) {
        queue.shift()!.grant(this.take(priority))
        return
      }
    }
  }
}

const context = new AsyncLocalStorage<Priority>()

/** Runs `work` with its provider calls at background priority (the proactive refresher). */
export function inBackground<T>(work: () => Promise<T>): Promise<T> {
  return context.run('background', work)
}

/** The priority of the provider calls made from here: `request` unless inside inBackground(). */
export function currentPriority(): Priority {
  return context.getStore() ?? 'request'
}
