// The durable queue of revocations still to be made at a provider. A deleted connection's
// tokens move here (sealed, like every token at rest) in the transaction that deletes them;
// the first attempt runs right after the commit (revoke.ts), and a failed one is retried by
// a background worker on any replica: entries are claimed with FOR UPDATE SKIP LOCKED in
// one short statement (which also pushes their next attempt out, so a crashed worker's
// claim comes back), the provider is called with no transaction open. An entry is dropped
// once the provider took every token, or after 24 h (give_up_at).
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { revokeAtProvider, type RevocationResult } from '../oauth/revocation.js'
import type { TokenSet } from '../oauth/token-endpoint.js'
import type { Provider } from '../providers/schema.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import type { ConnectionRow } from './connection-store.js'

export interface RevocationTimings {
  /** First retry delay; doubles per attempt (at most an hour). */
  revocationRetryMs: number
  /** How often the worker looks for due entries. */
  revocationPollMs: number
}
export const REVOCATION_TIMINGS: RevocationTimings = { revocationRetryMs: 60_000, revocationPollMs: 30_000 }
/** How long failed revocations are retried. */
export const REVOCATION_RETRY_HOURS = 24
/** How long a claim keeps other workers away from an entry: longer than two provider calls. */
const claimSeconds = (network: ProviderNetwork) => Math.ceil((network.timeoutMs * 2) / 1000) + 30
const BATCH = 20

export interface RevocationQueueOptions {
  db: Database
  keyring: Keyring
  providers: Map<string, Provider>
  network: ProviderNetwork
  metrics: Metrics
  log: Logger
  timings: RevocationTimings
}

type Tokens = { accessToken?: string; refreshToken?: string }
interface Entry {
  id: string
  connection_id: string
  provider: string
  params: Record<string, string>
  access_token: string | null
  refresh_token: string | null
  attempts: number
  give_up_at: Date
}

export class RevocationQueue {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined

  constructor(private readonly deps: RevocationQueueOptions) {}

  /**
   * Queues `tokens` of `row` in the caller's transaction. `now`: the worker may take it at
   * once; else the caller makes the first attempt and the entry waits a claim's length.
   */
  async enqueue(tx: Tx, row: ConnectionRow, tokens: Tokens, attemptNow = false): Promise<string> {
    const id = `rvk_${randomUUID()}`
    const seal = (value: string | undefined, column: string) =>
      value === undefined ? null : this.deps.keyring.seal(value, fieldContext('revocation_queue', id, column))
    const delay = attemptNow ? 0 : claimSeconds(this.deps.network)
    await tx.$executeRaw`
      INSERT INTO revocation_queue (id, connection_id, provider, params, access_token, refresh_token,
                                    next_attempt_at, give_up_at)
      VALUES (${id}, ${row.id}, ${row.provider}, ${JSON.stringify(row.params)}::jsonb,
              ${seal(tokens.accessToken, 'access_token')}, ${seal(tokens.refreshToken, 'refresh_token')},
              now() + make_interval(secs => ${delay}),
              now() + make_interval(hours => ${REVOCATION_RETRY_HOURS}))`
    return id
  }

  /** Tokens a refresh obtained for a connection deleted meanwhile: revoked by the worker. */
  async enqueueIssued(tx: Tx, row: ConnectionRow, tokens: TokenSet): Promise<void> {
    await this.enqueue(tx, row, { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }, true)
  }

  /** After an attempt: forget what the provider took; drop the entry when nothing is left or time is up. */
  async settle(id: string, result: RevocationResult): Promise<void> {
    const taken = [id, result.refreshToken !== 'failed', result.accessToken !== 'failed']
    const dropped = await this.deps.db.pool.query(
      `DELETE FROM revocation_queue
        WHERE id = $1 AND (((refresh_token IS NULL OR $2) AND (access_token IS NULL OR $3)) OR give_up_at <= now())`,
      taken,
    )
    if (dropped.rowCount) return
    await this.deps.db.pool.query(
      `UPDATE revocation_queue
          SET refresh_token = CASE WHEN $2 THEN NULL ELSE refresh_token END,
              access_token = CASE WHEN $3 THEN NULL ELSE access_token END,
              attempts = attempts + 1,
              next_attempt_at = now() + make_interval(secs => LEAST(3600, $4 * power(2, attempts)))
        WHERE id = $1`,
      [...taken, this.deps.timings.revocationRetryMs / 1000],
    )
  }

  start(): void {
    const schedule = () => {
      this.timer = setTimeout(() => {
        void this.tick()
          .catch((err: unknown) =>
            this.deps.log.warn({ err: { message: (err as Error).message } }, 'revocation retry pass failed'),
          )
          .finally(() => this.timer && schedule())
      }, this.deps.timings.revocationPollMs)
      this.timer.unref()
    }
    schedule()
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running?.catch(() => undefined)
  }

  /** One pass over the due entries; how many were attempted. Concurrent calls share one pass. */
  tick(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined))
    return this.running
  }

  private async pass(): Promise<number> {
    const { rows } = await this.deps.db.pool.query<Entry>(
      `UPDATE revocation_queue q SET next_attempt_at = now() + make_interval(secs => $1)
        WHERE q.id IN (SELECT id FROM revocation_queue WHERE next_attempt_at <= now()
                        ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING q.id, q.connection_id, q.provider, q.params, q.access_token, q.refresh_token,
                  q.attempts, q.give_up_at`,
      [claimSeconds(this.deps.network), BATCH],
    )
    for (const entry of rows) {
      try {
        await this.retry(entry)
      } catch (err) {
        // One entry's failure (the database, say) does not hold up the others.
        const detail = { connectionId: entry.connection_id, err: { message: (err as Error).message } }
        this.deps.log.warn(detail, 'revocation retry failed')
      }
    }
    return rows.length
  }

  private open(entry: Entry, column: 'refresh_token' | 'access_token'): string | undefined {
    const sealed = entry[column]
    return sealed === null
      ? undefined
      : this.deps.keyring.openString(sealed, fieldContext('revocation_queue', entry.id, column))
  }

  private async retry(entry: Entry): Promise<void> {
    const provider = this.deps.providers.get(entry.provider)
    if (provider?.mode !== 'oauth2') {
      await this.deps.db.pool.query('DELETE FROM revocation_queue WHERE id = $1', [entry.id])
      this.deps.log.warn({ connectionId: entry.connection_id }, 'revocation dropped: provider no longer configured')
      return
    }
    let tokens: { refreshToken: string | undefined; accessToken: string | undefined }
    try {
      tokens = { refreshToken: this.open(entry, 'refresh_token'), accessToken: this.open(entry, 'access_token') }
    } catch {
      // A ciphertext that fails its check is never sent, and never becomes readable.
      await this.deps.db.pool.query('DELETE FROM revocation_queue WHERE id = $1', [entry.id])
      this.deps.log.error(
        { event: SECURITY_EVENTS.secretUnreadable, connectionId: entry.connection_id, code: 'secret_unreadable' },
        'a queued revocation failed its integrity check; dropped',
      )
      return
    }
    const result = await revokeAtProvider(
      provider,
      entry.params,
      tokens,
      this.deps.network.http(provider, 'revocation'),
    )
    await this.settle(entry.id, result)
    for (const token of ['refreshToken', 'accessToken'] as const)
      if (result[token] !== 'no_token')
        this.deps.metrics.revocations.inc({ provider: entry.provider, token, outcome: result[token] })
    const failed = result.errors.length > 0
    const gaveUp = failed && entry.give_up_at.getTime() <= Date.now()
    this.deps.log[failed ? 'warn' : 'info'](
      {
        event: SECURITY_EVENTS.connectionRevoked,
        connectionId: entry.connection_id,
        provider: entry.provider,
        attempt: entry.attempts + 1,
        revocation: { refresh: result.refreshToken, access: result.accessToken },
        errors: result.errors,
      },
      gaveUp ? 'revocation retry failed; given up after 24 h' : 'revocation retried',
    )
  }
}
