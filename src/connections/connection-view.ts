// What the API shows of a connection row: metadata only, never a token.
import { randomBytes } from 'node:crypto'
import type { Connection as Row } from '../generated/prisma/client.js'
import { hiddenConnection, problem } from '../errors.js'
import { holds } from '../service-clients/namespaces.js'

export type ConnectionRow = Row
export type ConnectionStatus = 'active' | 'pending_confirmation' | 'reauthorization_required' | 'revoked'

export function newConnectionId(): string {
  return `conn_${randomBytes(12).toString('base64url')}`
}

/**
 * The row, when a caller holding `namespaces` may see it. Missing, revoked, or of a
 * namespace the caller does not hold: the same 404 (only the log tells the last apart).
 */
export function visibleRow<R extends Pick<Row, 'status' | 'namespace'>>(
  row: R | undefined,
  namespaces: readonly string[],
): R {
  if (!row || row.status === 'revoked') throw problem('connection_not_found')
  if (!holds(namespaces, row.namespace)) throw hiddenConnection()
  return row
}

export interface ConnectionView {
  id: string
  provider: string
  ownerId: string
  namespace: string
  status: string
  scopes: string[]
  expiresAt: string | null
  createdAt: string
  updatedAt: string
  lastRefreshedAt: string | null
  lastErrorCode: string | null
  metadata: Record<string, unknown>
  params: Record<string, unknown>
  /** A grant waits for the service's confirmation: a new connection's, or a re-authorization's. */
  pendingConfirmation: boolean
}

/**
 * A timestamp: a Date from Prisma, or already in ISO 8601 (`…T…Z`, milliseconds) from a
 * list page, which PostgreSQL formats to spare the broker parsing and re-formatting four
 * dates per row (connection-reads.ts).
 */
export type Stamp = Date | string

type Dated = 'expiresAt' | 'createdAt' | 'updatedAt' | 'lastRefreshedAt'

/** The columns a view shows (what a list page reads). */
export type ViewedRow = Pick<
  Row,
  'id' | 'provider' | 'ownerId' | 'namespace' | 'status' | 'scopes' | 'lastErrorCode' | 'metadata' | 'params'
> & { [K in Dated]: Row[K] extends Date ? Stamp : Stamp | null }

export function isoStamp(stamp: Stamp): string
export function isoStamp(stamp: Stamp | null): string | null
export function isoStamp(stamp: Stamp | null): string | null {
  return stamp === null || typeof stamp === 'string' ? stamp : stamp.toISOString()
}

/**
 * `pendingConfirmation`: whether a re-authorization's grant waits (pending-grants.ts); a new
 * connection's shows in its status.
 */
export function connectionView(row: ViewedRow, pendingConfirmation = false): ConnectionView {
  return {
    id: row.id,
    provider: row.provider,
    ownerId: row.ownerId,
    namespace: row.namespace,
    status: row.status,
    scopes: row.scopes,
    expiresAt: isoStamp(row.expiresAt),
    createdAt: isoStamp(row.createdAt),
    updatedAt: isoStamp(row.updatedAt),
    lastRefreshedAt: isoStamp(row.lastRefreshedAt),
    lastErrorCode: row.lastErrorCode,
    metadata: row.metadata as Record<string, unknown>,
    params: row.params as Record<string, unknown>,
    pendingConfirmation: pendingConfirmation || row.status === 'pending_confirmation',
  }
}
