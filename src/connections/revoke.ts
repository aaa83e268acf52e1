// Deleting a connection. One short transaction under the row lock destroys the local
// ciphertext and, where the provider has a revocation endpoint, moves the tokens (sealed)
// to the revocation queue; the provider is then called with no transaction open
// (refresh token first: it ends the whole grant). A failed revocation stays queued and is
// retried by the queue's worker for up to 24 h (revocation-queue.ts). A refresh running
// meanwhile cannot bring tokens back: its write is fenced by the row's version.
// Each token is opened on its own: one unreadable ciphertext does not keep the other
// token of the pair from being revoked.
// The row stays as a tombstone (status `revoked`, no tokens) so the audit trail keeps
// its subject; the API answers 404 for it from then on.
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Metrics } from '../metrics.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { notSupported, revokeAtProvider, supportsRevocation, type RevocationResult } from '../oauth/revocation.js'
import type { OAuth2Provider, Provider } from '../providers/schema.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { Database, Tx } from '../store/db.js'
import type { ConnectionCache } from './connection-cache.js'
import { visibleRow, type ConnectionRow, type ConnectionStore } from './connection-store.js'
import type { RevocationQueue } from './revocation-queue.js'

export interface RevocationsOptions {
  db: Database
  store: ConnectionStore
  cache: ConnectionCache
  providers: Map<string, Provider>
  metrics: Metrics
  log: Logger
  network: ProviderNetwork
  audit: AuditLog
  queue: RevocationQueue
}

type Opened = { value?: string; unreadable?: true }
type Tokens = { refreshToken: string | undefined; accessToken: string | undefined }
/** What the deleting transaction leaves to do at the provider. */
type Pending = { entryId: string; provider: OAuth2Provider; refresh: Opened; access: Opened }

export class Revocations {
  constructor(private readonly deps: RevocationsOptions) {}

  /** `namespaces`: the caller's; a connection outside them is answered as a missing one, untouched. */
  async revoke(id: string, actor: string, namespaces: readonly string[]): Promise<RevocationResult> {
    const {
      row,
      pending,
      outcome: local,
    } = await this.deps.db.prisma.$transaction(async (tx) => {
      const row = visibleRow(await this.deps.store.lock(tx, id), namespaces)
      const provider = this.deps.providers.get(row.provider)
      if (provider?.mode === 'oauth2' && supportsRevocation(provider)) {
        const refresh = this.openForRevocation(row, 'refresh_token')
        const access = this.openForRevocation(row, 'access_token')
        const entryId = await this.deps.queue.enqueue(tx, row, {
          refreshToken: refresh.value,
          accessToken: access.value,
        })
        // The audit event follows the first attempt, with its outcome.
        await this.deps.store.delete(tx, row, actor, undefined)
        return { row, pending: { entryId, provider, refresh, access } as Pending, outcome: undefined }
      }
      const outcome = this.localOnly(row, provider)
      await this.deps.store.delete(tx, row, actor, outcome)
      return { row, pending: undefined, outcome }
    })
    this.deps.cache.evict(id)
    const outcome = local ?? (await this.firstAttempt(row, pending!, actor))
    this.report(row, actor, outcome)
    return outcome
  }

  /**
   * Tokens held outside the connection's row (a discarded re-authorization's new grant, with
   * its params in `row`): queued sealed (`queued`: already, by the caller's transaction),
   * then revoked as a deletion's are, so a failure is retried by the worker for up to 24 h.
   * The provider is called with no transaction open.
   */
  async revokeHeld(
    row: ConnectionRow,
    provider: OAuth2Provider,
    tokens: Tokens,
    queued?: string,
  ): Promise<RevocationResult> {
    const entryId = queued ?? (await this.deps.db.prisma.$transaction((tx) => this.deps.queue.enqueue(tx, row, tokens)))
    return this.attempt(row, provider, entryId, tokens)
  }

  /** Queues held tokens in the caller's transaction, for revokeHeld(…, queued) after its commit. */
  queueHeld(tx: Tx, row: ConnectionRow, tokens: Tokens): Promise<string> {
    return this.deps.queue.enqueue(tx, row, tokens)
  }

  /** One attempt at the provider, outside any transaction; a failure stays queued for the worker. */
  private async attempt(
    row: ConnectionRow,
    provider: OAuth2Provider,
    entryId: string,
    tokens: Tokens,
  ): Promise<RevocationResult> {
    const params = row.params as Record<string, string>
    const outcome = await revokeAtProvider(provider, params, tokens, this.deps.network.http(provider, 'revocation'))
    await this.deps.queue.settle(entryId, outcome).catch((err: unknown) => {
      // The entry stays and is retried after its claim: at worst a token is revoked twice.
      this.deps.log.warn({ connectionId: row.id, err: { message: (err as Error).message } }, 'revocation not settled')
    })
    return outcome
  }

  /** Right after the commit, outside any transaction; a failure stays queued for the worker. */
  private async firstAttempt(row: ConnectionRow, pending: Pending, actor: string): Promise<RevocationResult> {
    const outcome = await this.attempt(row, pending.provider, pending.entryId, {
      refreshToken: pending.refresh.value,
      accessToken: pending.access.value,
    })
    // An unreadable token could not be sent: its revocation failed, say so.
    for (const [kind, key, opened] of [
      ['refresh_token', 'refreshToken', pending.refresh],
      ['access_token', 'accessToken', pending.access],
    ] as const) {
      if (!opened.unreadable) continue
      outcome[key] = 'failed'
      outcome.errors.push(`${kind}: secret_unreadable`)
    }
    const detail = { provider: row.provider, ...outcome }
    await this.deps.audit
      .write({ type: 'connection.revoked', actor, connectionId: row.id, namespace: row.namespace, detail })
      .catch(() =>
        this.deps.audit.record({
          type: 'connection.revoked',
          actor,
          connectionId: row.id,
          namespace: row.namespace,
          detail,
        }),
      )
    return outcome
  }

  /**
   * No revocation endpoint (API keys, credential exchanges, some OAuth providers): deleted
   * locally. Only the tokens' presence is reported, so nothing is decrypted.
   */
  private localOnly(row: ConnectionRow, provider: Provider | undefined): RevocationResult {
    if (!provider)
      return { refreshToken: 'not_supported', accessToken: 'not_supported', errors: ['provider no longer configured'] }
    return notSupported({ refreshToken: row.refreshToken ?? undefined, accessToken: row.accessToken ?? undefined })
  }

  private report(row: ConnectionRow, actor: string, outcome: RevocationResult): void {
    for (const token of ['refreshToken', 'accessToken'] as const) {
      this.deps.metrics.revocations.inc({ provider: row.provider, token, outcome: outcome[token] })
    }
    const log = outcome.errors.length ? this.deps.log.warn.bind(this.deps.log) : this.deps.log.info.bind(this.deps.log)
    // Not named refreshToken/accessToken: the log's redaction would censor the outcomes.
    const revocation = { refresh: outcome.refreshToken, access: outcome.accessToken }
    log(
      {
        event: SECURITY_EVENTS.connectionRevoked,
        connectionId: row.id,
        provider: row.provider,
        actor,
        revocation,
        errors: outcome.errors,
      },
      'connection revoked',
    )
  }

  /** A token to revoke, or why there is none to send: a ciphertext that fails its check is never used. */
  private openForRevocation(row: ConnectionRow, column: 'access_token' | 'refresh_token'): Opened {
    try {
      return { value: this.deps.store.open(row, column) }
    } catch {
      return { unreadable: true }
    }
  }
}
