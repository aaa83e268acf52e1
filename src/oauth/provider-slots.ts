// Each provider's bulkhead (oauth/bulkhead.ts) as the outbound calls use it: a caller that
// gets no slot within its wait is refused as a transient provider failure (`provider_busy`,
// answered as 503 provider_unavailable with Retry-After), and every wait is counted.
import type { Metrics } from '../metrics.js'
import { Bulkhead, currentPriority, type Release } from './bulkhead.js'
import { ProviderError } from './provider-error.js'

export class ProviderSlots {
  private readonly bulkhead: Bulkhead

  constructor(
    readonly provider: string,
    limit: number,
    private readonly metrics: Metrics | undefined,
  ) {
    this.bulkhead = new Bulkhead(limit)
  }

  /** A slot for one call, waiting at most `waitMs`; the caller's priority comes from bulkhead.ts's context. */
  async acquire(waitMs: number): Promise<Release> {
    const priority = currentPriority()
    const immediate = await this.bulkhead.acquire(priority, 0)
    if (immediate) return immediate
    const release = await this.bulkhead.acquire(priority, waitMs)
    this.metrics?.providerSlotWaits.inc({
      provider: this.provider,
      priority,
      outcome: release ? 'acquired' : 'rejected',
    })
    if (release) return release
    throw new ProviderError(
      'transient',
      'provider_busy',
      `every call slot for this provider stayed taken for ${waitMs} ms (PROVIDER_CONCURRENCY)`,
    )
  }
}
