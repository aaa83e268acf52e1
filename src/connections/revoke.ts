// Deleting a connection: under the row lock (so no refresh runs at the same time), revoke
// at the provider where it can (refresh token first: it ends the whole grant), then
// destroy the local ciphertext whatever the provider said, and record the outcome.
// Each token is opened on its own: one unreadable ciphertext does not keep the other
// token of the pair from being revoked.
// The row stays as a tombstone (status `revoked`, no tokens) so the audit trail keeps
// its subject; the API answers 404 for it from then on.
import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import type { ProviderNetwork } from '../oauth/network.js'
import { notSupported, revokeAtProvider, supportsRevocation, type RevocationResult } from '../oauth/revocation.js'
import type { Provider } from '../providers/schema.js'
import { SECURITY_EVENTS } from '../security-events.js'
import type { Database } from '../store/db.js'
import type { ConnectionCache } from './connection-cache.js'
import { visibleRow, type ConnectionRow, type ConnectionStore } from './connection-store.js'

export interface RevocationsOptions {
  db: Database
  store: ConnectionStore
  cache: ConnectionCache
  providers: Map<string, Provider>
  metrics: Metrics
  log: Logger
  network: ProviderNetwork
}

export class Revocations {
  constructor(private readonly deps: RevocationsOptions) {}

  /** `namespaces`: the caller's; a connection outside them is answered as a missing one, untouched. */
  async revoke(id: string, actor: string, namespaces: readonly string[]): Promise<RevocationResult> {
    const result = await this.deps.db.prisma.$transaction(
      async (tx) => {
        const row = visibleRow(await this.deps.store.lock(tx, id), namespaces)
        const outcome = await this.revokeTokens(row)
        await this.deps.store.delete(tx, row, actor, outcome)
        return { outcome, provider: row.provider }
      },
      { maxWait: 5_000, timeout: this.deps.network.timeoutMs * 2 + 10_000 },
    )
    this.deps.cache.evict(id)
    for (const token of ['refreshToken', 'accessToken'] as const) {
      this.deps.metrics.revocations.inc({ provider: result.provider, token, outcome: result.outcome[token] })
    }
    const log = result.outcome.errors.length
      ? this.deps.log.warn.bind(this.deps.log)
      : this.deps.log.info.bind(this.deps.log)
    // Not named refreshToken/accessToken: the log's redaction would censor the outcomes.
    const revocation = { refresh: result.outcome.refreshToken, access: result.outcome.accessToken }
    log(
      {
        event: SECURITY_EVENTS.connectionRevoked,
        connectionId: id,
        provider: result.provider,
        actor,
        revocation,
        errors: result.outcome.errors,
      },
      'connection revoked',
    )
    return result.outcome
  }

  /** Revokes the row's tokens at its provider where it can; what happened to each. */
  private async revokeTokens(row: ConnectionRow): Promise<RevocationResult> {
    const provider = this.deps.providers.get(row.provider)
    let outcome: RevocationResult = {
      refreshToken: 'not_supported',
      accessToken: 'not_supported',
      errors: ['provider no longer configured'],
    }
    if (provider?.mode === 'oauth2' && supportsRevocation(provider)) {
      const refresh = this.openForRevocation(row, 'refresh_token')
      const access = this.openForRevocation(row, 'access_token')
      outcome = await revokeAtProvider(
        provider,
        row.params as Record<string, string>,
        { refreshToken: refresh.value, accessToken: access.value },
        this.deps.network.http(provider, 'revocation'),
      )
      // An unreadable token could not be sent: its revocation failed, say so.
      for (const [kind, key, opened] of [
        ['refresh_token', 'refreshToken', refresh],
        ['access_token', 'accessToken', access],
      ] as const) {
        if (!opened.unreadable) continue
        outcome[key] = 'failed'
        outcome.errors.push(`${kind}: secret_unreadable`)
      }
    } else if (provider) {
      // No revocation endpoint (API keys, credential exchanges, some OAuth providers): delete
      // locally. Only the tokens' presence is reported, so nothing is decrypted.
      outcome = notSupported({
        refreshToken: row.refreshToken ?? undefined,
        accessToken: row.accessToken ?? undefined,
      })
    }
    return outcome
  }

  /** A token to revoke, or why there is none to send: a ciphertext that fails its check is never used. */
  private openForRevocation(
    row: ConnectionRow,
    column: 'access_token' | 'refresh_token',
  ): { value?: string; unreadable?: true } {
    try {
      return { value: this.deps.store.open(row, column) }
    } catch {
      return { unreadable: true }
    }
  }
}
