// The in-memory copy of the service_clients table that every API call reads (is the token's
// client still registered, with which scopes and namespaces?). Change notifications reload
// it; a periodic reload is the backstop for a lost notification.
import type { Logger } from 'pino'
import type { ChangeFeed } from '../store/changes.js'

const DEFAULT_RELOAD_INTERVAL_MS = 30_000

export class ClientCache<T extends { clientId: string }> {
  private entries = new Map<string, T>()
  private loading: Promise<void> | undefined
  /** A change was announced after the load in flight began: load again after it. */
  private stale = false
  private timer: NodeJS.Timeout | undefined

  constructor(
    private load: () => Promise<T[]>,
    private log: Logger,
    private reloadIntervalMs = DEFAULT_RELOAD_INTERVAL_MS,
  ) {}

  async start(changes: ChangeFeed | undefined): Promise<void> {
    changes?.subscribe((c) => {
      if (c.topic === 'service_client' || c.topic === '*') void this.reload()
    })
    await this.reload()
    this.timer = setInterval(() => void this.reload(), this.reloadIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /**
   * Resolves once the cache holds a load that began after this call. A load already in
   * flight may have read the table before the change that prompted the call: it is not
   * trusted, another load follows it (a reload is never coalesced into an older one).
   */
  reload(): Promise<void> {
    this.stale = true
    this.loading ??= this.loadUntilCurrent().finally(() => (this.loading = undefined))
    return this.loading
  }

  get(clientId: string): T | undefined {
    return this.entries.get(clientId)
  }

  /** The writer's own change, visible at once on this replica; the reload that follows confirms it. */
  set(entry: T): void {
    this.entries.set(entry.clientId, entry)
  }

  delete(clientId: string): void {
    this.entries.delete(clientId)
  }

  private async loadUntilCurrent(): Promise<void> {
    while (this.stale) {
      this.stale = false
      try {
        this.entries = new Map((await this.load()).map((e) => [e.clientId, e]))
      } catch (err) {
        // The periodic reload (or the next notification) tries again.
        this.log.warn({ err: { message: (err as Error).message } }, 'service clients not reloaded')
        return
      }
    }
  }
}
