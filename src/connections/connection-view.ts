// What the API shows of a connection row: metadata only, never a token.
import { randomBytes } from 'node:crypto'
import type { Connection as Row } from '../generated/prisma/client.js'

export type ConnectionRow = Row
export type ConnectionStatus = 'active' | 'reauthorization_required' | 'revoked'

export function newConnectionId(): string {
  return `conn_${randomBytes(12).toString('base64url')}`
}

export interface ConnectionView {
  id: string
  provider: string
  ownerId: string
  status: string
  scopes: string[]
  expiresAt: string | null
  createdAt: string
  updatedAt: string
  lastRefreshedAt: string | null
  lastErrorCode: string | null
  metadata: Record<string, unknown>
  params: Record<string, unknown>
}

export function connectionView(row: Row): ConnectionView {
  return {
    id: row.id,
    provider: row.provider,
    ownerId: row.ownerId,
    status: row.status,
    scopes: row.scopes,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastRefreshedAt: row.lastRefreshedAt?.toISOString() ?? null,
    lastErrorCode: row.lastErrorCode,
    metadata: row.metadata as Record<string, unknown>,
    params: row.params as Record<string, unknown>,
  }
}
