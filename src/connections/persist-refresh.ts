// Writing the tokens a refresh obtained. The provider may already have voided the old
// refresh token, so the new ones must not be lost: the write is fenced by the version the
// lease was claimed at (refresh-lease.ts) and, while the database fails, retried until the
// persist-retry window (15 s) passes. Residual risk: if the process dies before the write,
// a rotating provider's grant is lost and the connection needs its user again.
import { problem, ProblemError } from '../errors.js'
import type { TokenSet } from '../oauth/token-endpoint.js'
import { translateDatabaseError } from '../store/db.js'
import type { ConnectionRow } from './connection-store.js'
import type { FreshTokensOptions, FreshTokenTimings } from './fresh-tokens-parts.js'
import type { RefreshLease } from './refresh-lease.js'

export interface Obtained {
  /** The row as claimed: its version fences the write. */
  row: ConnectionRow
  tokens: TokenSet
  actor: string
}

export async function persistRefresh(
  deps: FreshTokensOptions,
  lease: RefreshLease,
  timings: FreshTokenTimings,
  obtained: Obtained,
): Promise<ConnectionRow> {
  const { row } = obtained
  let deadline: number | undefined
  let delay = 100
  for (;;) {
    try {
      const written = await writeOnce(deps, lease, obtained)
      if (!written) throw problem('connection_not_found')
      if (deadline !== undefined) deps.metrics.refreshWriteRetries.inc({ outcome: 'stored' })
      return written
    } catch (err) {
      if (err instanceof ProblemError) throw err
      if (deadline === undefined) {
        deadline = Date.now() + timings.persistRetryMs
        deps.log.warn(
          { connectionId: row.id, err: { message: (err as Error).message } },
          'refreshed tokens not stored yet; retrying the write',
        )
      }
      if (Date.now() + delay > deadline) {
        deps.metrics.refreshWriteRetries.inc({ outcome: 'lost' })
        deps.log.error(
          { connectionId: row.id },
          'refreshed tokens could not be stored: the connection may need its user again',
        )
        throw translateDatabaseError(err)
      }
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 2_000)
    }
  }
}

/** One fenced write: only over the version the tokens were refreshed from; anything newer wins. */
function writeOnce(
  deps: FreshTokensOptions,
  lease: RefreshLease,
  { row, tokens, actor }: Obtained,
): Promise<ConnectionRow | undefined> {
  return lease.fencedWrite<ConnectionRow | undefined>(
    row,
    (tx, current) => deps.store.recordRefresh(tx, current, tokens, actor),
    async (tx, current) => {
      deps.log.info(
        { connectionId: row.id, fromVersion: row.version, version: current?.version },
        'refresh write fenced: the connection changed since the lease was taken',
      )
      // Deleted meanwhile: the tokens just issued must not stay live at the provider.
      if (!current || current.status === 'revoked') {
        await deps.revocationQueue?.enqueueIssued(tx, row, tokens)
        return undefined
      }
      return current
    },
  )
}
