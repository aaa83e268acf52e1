// Service clients: the internal services allowed to call the broker. The table is small
// and read on every API call (is the token's client still registered? which return URLs
// may it use?), so every replica keeps it in memory, reloaded on change notifications.
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import { problem } from '../errors.js'
import { notifyChange, type ChangeFeed } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import { ALL_NAMESPACES, assertCanGrant, DEFAULT_NAMESPACE, normalizeNamespaces } from './namespaces.js'
import { normalizeReturnUrl } from './return-urls.js'
import { SCOPES, type Scope } from './scopes.js'
import { generateClientId, generateClientSecret, hashSecret, unknownClientHash, verifySecret } from './secrets.js'

export interface ServiceClient {
  clientId: string
  name: string
  scopes: Scope[]
  /** The namespaces whose connections it may touch; ["*"]: all. */
  namespaces: string[]
  allowedReturnUrls: string[]
  createdAt: string
}

export interface NewServiceClient {
  name: string
  scopes: string[]
  namespaces?: string[]
  allowedReturnUrls: string[]
}

/** PATCH /v1/service-clients/:clientId: each field present replaces the stored one. */
export type ServiceClientChanges = Partial<NewServiceClient>

/** Who changes service clients: an admin client (with its namespaces) or the CLI (["*"]). */
export interface Admin {
  actor: string
  namespaces: readonly string[]
}

type Row = { id: string; name: string; scopes: string[]; namespaces: string[]; allowedReturnUrls: string[]; createdAt: Date }

function toClient(row: Row): ServiceClient {
  return {
    clientId: row.id,
    name: row.name,
    scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    namespaces: row.namespaces,
    allowedReturnUrls: row.allowedReturnUrls,
    createdAt: row.createdAt.toISOString(),
  }
}

const PUBLIC_COLUMNS = { id: true, name: true, scopes: true, namespaces: true, allowedReturnUrls: true, createdAt: true } as const

export class ServiceClients {
  private cache = new Map<string, ServiceClient>()
  private loading: Promise<void> | undefined

  constructor(
    private db: Database,
    private audit: AuditLog,
    private log: Logger,
  ) {}

  /** Loads the cache and keeps it current from the change feed. */
  async start(changes: ChangeFeed | undefined): Promise<void> {
    changes?.subscribe((c) => {
      if (c.topic === 'service_client' || c.topic === '*') void this.reload()
    })
    await this.reload()
  }

  reload(): Promise<void> {
    this.loading ??= this.db.prisma.serviceClient
      .findMany({ select: PUBLIC_COLUMNS })
      .then((rows) => {
        this.cache = new Map(rows.map((r) => [r.id, toClient(r)]))
      })
      .catch((err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, 'service clients not reloaded'))
      .finally(() => (this.loading = undefined))
    return this.loading
  }

  /** The registered client, from memory (no database round trip). */
  cached(clientId: string): ServiceClient | undefined {
    return this.cache.get(clientId)
  }

  async list(): Promise<ServiceClient[]> {
    const rows = await this.db.prisma.serviceClient.findMany({ select: PUBLIC_COLUMNS, orderBy: { createdAt: 'asc' } })
    return rows.map(toClient)
  }

  async create(input: NewServiceClient, by: Admin): Promise<{ client: ServiceClient; clientSecret: string }> {
    const data = validate(input)
    assertCanGrant(by.namespaces, data.namespaces)
    const actor = by.actor
    const clientSecret = generateClientSecret()
    const secretHash = await hashSecret(clientSecret)
    const row = await this.db.prisma.$transaction(async (tx) => {
      const created = await tx.serviceClient.create({
        data: { id: generateClientId(), secretHash, ...data },
        select: PUBLIC_COLUMNS,
      })
      const detail = { clientId: created.id, name: data.name, scopes: data.scopes, namespaces: data.namespaces }
      await this.audit.write({ type: 'service_client.created', actor, detail }, tx)
      await notifyChange(tx, { topic: 'service_client', id: created.id })
      return created
    })
    const client = toClient(row)
    this.cache.set(client.clientId, client)
    this.log.info({ clientId: client.clientId, scopes: client.scopes, namespaces: client.namespaces, actor }, 'service client created')
    return { client, clientSecret }
  }

  /**
   * Changes the fields given; the change reaches every replica's cache through the change
   * feed, so it holds for broker tokens already issued (the auth hook reads the record).
   */
  async update(clientId: string, changes: ServiceClientChanges, by: Admin): Promise<ServiceClient> {
    const data = validateChanges(changes)
    if (data.namespaces) assertCanGrant(by.namespaces, data.namespaces)
    const row = await this.db.prisma.$transaction(async (tx) => {
      const current = await lockClient(tx, clientId)
      if (!current) return undefined
      assertCanManage(by.namespaces, current.namespaces)
      const updated = await tx.serviceClient.update({ where: { id: clientId }, data, select: PUBLIC_COLUMNS })
      const detail = { clientId, changed: Object.keys(data), ...(data.scopes ? { scopes: data.scopes } : {}), ...(data.namespaces ? { namespaces: data.namespaces } : {}) }
      await this.audit.write({ type: 'service_client.updated', actor: by.actor, detail }, tx)
      await notifyChange(tx, { topic: 'service_client', id: clientId })
      return updated
    })
    if (!row) throw problem('service_client_not_found')
    const client = toClient(row)
    this.cache.set(clientId, client)
    this.log.info({ clientId, changed: Object.keys(data), actor: by.actor }, 'service client updated')
    return client
  }

  async delete(clientId: string, by: Admin): Promise<void> {
    const actor = by.actor
    const deleted = await this.db.prisma.$transaction(async (tx) => {
      const current = await lockClient(tx, clientId)
      if (!current) return false
      assertCanManage(by.namespaces, current.namespaces)
      await tx.serviceClient.delete({ where: { id: clientId } })
      await this.audit.write({ type: 'service_client.deleted', actor, detail: { clientId } }, tx)
      await notifyChange(tx, { topic: 'service_client', id: clientId })
      return true
    })
    if (!deleted) throw problem('service_client_not_found')
    this.cache.delete(clientId)
    this.log.info({ clientId, actor }, 'service client deleted')
  }

  /**
   * Checks a client id and secret. An unknown id costs the same scrypt work as a wrong
   * secret, so the answer's timing does not reveal which client ids exist.
   */
  async authenticate(clientId: string, secret: string): Promise<ServiceClient | undefined> {
    const row = await this.db.prisma.serviceClient.findUnique({ where: { id: clientId } })
    const ok = await verifySecret(secret, row?.secretHash ?? (await unknownClientHash()))
    return row && ok ? toClient(row) : undefined
  }

  /**
   * Creates or updates the bootstrap client (every scope, every namespace). Its secret is re-hashed only
   * when it changed, so restarts keep the stored hash.
   */
  async upsertBootstrap(boot: { clientId: string; clientSecret: string; returnUrls: string[] }): Promise<void> {
    const existing = await this.db.prisma.serviceClient.findUnique({ where: { id: boot.clientId } })
    const sameSecret = existing ? await verifySecret(boot.clientSecret, existing.secretHash) : false
    const secretHash = sameSecret ? existing!.secretHash : await hashSecret(boot.clientSecret)
    const data = { name: 'bootstrap', scopes: [...SCOPES], namespaces: [ALL_NAMESPACES], allowedReturnUrls: boot.returnUrls, secretHash }
    const unchanged =
      existing &&
      sameSecret &&
      existing.scopes.join(' ') === data.scopes.join(' ') &&
      existing.namespaces.join(' ') === ALL_NAMESPACES &&
      existing.allowedReturnUrls.join(' ') === data.allowedReturnUrls.join(' ')
    if (unchanged) return
    await this.db.prisma.$transaction(async (tx) => {
      await tx.serviceClient.upsert({ where: { id: boot.clientId }, create: { id: boot.clientId, ...data }, update: data })
      await this.audit.write(
        { type: existing ? 'service_client.updated' : 'service_client.created', actor: 'bootstrap', detail: { clientId: boot.clientId, secretChanged: !sameSecret } },
        tx,
      )
      await notifyChange(tx, { topic: 'service_client', id: boot.clientId })
    })
    this.log.info({ clientId: boot.clientId }, existing ? 'bootstrap service client updated' : 'bootstrap service client created')
  }
}

/** Reads and locks a client row for a change: a concurrent delete waits (no 500 for a row gone meanwhile). */
async function lockClient(tx: Tx, clientId: string): Promise<{ namespaces: string[] } | undefined> {
  const rows = await tx.$queryRaw<Array<{ namespaces: string[] }>>`SELECT namespaces FROM service_clients WHERE id = ${clientId} FOR UPDATE`
  return rows[0]
}

/**
 * An admin holding only some namespaces manages only clients within them: otherwise it could
 * change the scopes of, or delete, a client of a namespace it was never given.
 */
function assertCanManage(admin: readonly string[], target: readonly string[]): void {
  if (admin[0] === ALL_NAMESPACES) return
  if (target[0] === ALL_NAMESPACES || target.some((n) => !admin.includes(n))) {
    throw problem('namespace_forbidden', 'this admin client does not hold every namespace of that service client')
  }
}

type Validated = { name: string; scopes: Scope[]; namespaces: string[]; allowedReturnUrls: string[] }

function validate(input: NewServiceClient): Validated {
  return {
    name: input.name.trim(),
    scopes: validScopes(input.scopes),
    namespaces: normalizeNamespaces(input.namespaces ?? [DEFAULT_NAMESPACE]),
    allowedReturnUrls: validReturnUrls(input.allowedReturnUrls),
  }
}

/** The fields of a PATCH, each checked as at creation; later fields (keys, webhooks) join here. */
function validateChanges(changes: ServiceClientChanges): Partial<Validated> {
  const out: Partial<Validated> = {}
  if (changes.name !== undefined) out.name = changes.name.trim()
  if (changes.scopes !== undefined) out.scopes = validScopes(changes.scopes)
  if (changes.namespaces !== undefined) out.namespaces = normalizeNamespaces(changes.namespaces)
  if (changes.allowedReturnUrls !== undefined) out.allowedReturnUrls = validReturnUrls(changes.allowedReturnUrls)
  if (!Object.keys(out).length) throw problem('invalid_request', 'name at least one field to change')
  return out
}

function validScopes(scopes: string[]): Scope[] {
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length) throw problem('invalid_scope', `scopes: unknown ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`)
  return [...new Set(scopes)] as Scope[]
}

function validReturnUrls(urls: string[]): string[] {
  const allowed: string[] = []
  for (const raw of urls) {
    const normalized = normalizeReturnUrl(raw)
    if (typeof normalized !== 'string') throw problem('invalid_return_url', `allowedReturnUrls: ${JSON.stringify(raw)} ${normalized.error}`)
    allowed.push(normalized)
  }
  return [...new Set(allowed)]
}
