// Connection rows: the sealed tokens and the metadata around them. Tokens are sealed
// with associated data naming the row and column, and opened only on the way out to a
// caller or a provider.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { Connection as Row } from '../generated/prisma/client.js'
import type { TokenSet } from '../oauth/token-endpoint.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'

export type ConnectionRow = Row
export type ConnectionStatus = 'active' | 'reauthorization_required' | 'revoked'

export function newConnectionId(): string {
  return `conn_${randomBytes(12).toString('base64url')}`
}

/** What the API shows of a connection: metadata only, never a token. */
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

export class ConnectionStore {
  constructor(
    private db: Database,
    private keyring: Keyring,
    private clock: Clock,
  ) {}

  seal(id: string, column: 'access_token' | 'refresh_token', value: string): string {
    return this.keyring.seal(value, fieldContext('connections', id, column))
  }

  open(row: Pick<Row, 'id'> & { accessToken: string | null; refreshToken: string | null }, column: 'access_token' | 'refresh_token'): string | undefined {
    const sealed = column === 'access_token' ? row.accessToken : row.refreshToken
    return sealed == null ? undefined : this.keyring.openString(sealed, fieldContext('connections', row.id, column))
  }

  async get(id: string): Promise<Row | undefined> {
    return (await this.db.prisma.connection.findUnique({ where: { id } })) ?? undefined
  }

  /** Locks the row for the rest of `tx` and reads it (the refresh and revocation path). */
  async lock(tx: Tx, id: string): Promise<Row | undefined> {
    await tx.$queryRaw`SELECT id FROM connections WHERE id = ${id} FOR UPDATE`
    return (await tx.connection.findUnique({ where: { id } })) ?? undefined
  }

  /** Token columns for a fresh token set; a response without a refresh token keeps the old one. */
  tokenColumns(id: string, tokens: TokenSet, requestedScopes: string[]) {
    const now = this.clock.now().getTime()
    return {
      accessToken: this.seal(id, 'access_token', tokens.accessToken),
      ...(tokens.refreshToken !== undefined ? { refreshToken: this.seal(id, 'refresh_token', tokens.refreshToken) } : {}),
      tokenType: tokens.tokenType,
      tokenObtainedAt: new Date(now),
      expiresAt: tokens.expiresInSeconds === undefined ? null : new Date(now + tokens.expiresInSeconds * 1000),
      ...(tokens.refreshTokenExpiresInSeconds !== undefined
        ? { refreshTokenExpiresAt: new Date(now + tokens.refreshTokenExpiresInSeconds * 1000) }
        : tokens.refreshToken !== undefined
          ? { refreshTokenExpiresAt: null }
          : {}),
      scopes: tokens.scopes ?? requestedScopes,
    }
  }

  async list(filter: { provider?: string; ownerId?: string; status?: string; cursor?: string; limit: number }): Promise<{ items: Row[]; nextCursor: string | null }> {
    const rows = await this.db.prisma.connection.findMany({
      where: {
        ...(filter.provider !== undefined ? { provider: filter.provider } : {}),
        ...(filter.ownerId !== undefined ? { ownerId: filter.ownerId } : {}),
        status: filter.status !== undefined ? filter.status : { not: 'revoked' },
        ...(filter.cursor !== undefined ? { id: { gt: filter.cursor } } : {}),
      },
      orderBy: { id: 'asc' },
      take: filter.limit + 1,
    })
    const items = rows.slice(0, filter.limit)
    return { items, nextCursor: rows.length > filter.limit ? items[items.length - 1]!.id : null }
  }
}
