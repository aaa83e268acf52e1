// Service clients: the internal services allowed to call the broker. The table is small
// and read on every API call (is the token's client still registered? which return URLs
// may it use?), so every replica keeps it in memory, reloaded on change notifications.
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import { problem } from '../errors.js'
import { notifyChange, type ChangeFeed } from '../store/changes.js'
import type { Database } from '../store/db.js'
import { normalizeReturnUrl } from './return-urls.js'
import { SCOPES, type Scope } from './scopes.js'
import { generateClientId, generateClientSecret, hashSecret, unknownClientHash, verifySecret } from './secrets.js'

export interface ServiceClient {
  clientId: string
  name: string
  scopes: Scope[]
  allowedReturnUrls: string[]
  createdAt: string
}

export interface NewServiceClient {
  name: string
  scopes: string[]
  allowedReturnUrls: string[]
}

type Row = { id: string; name: string; scopes: string[]; allowedReturnUrls: string[]; createdAt: Date }

function toClient(row: Row): ServiceClient {
  return {
    clientId: row.id,
    name: row.name,
    scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    allowedReturnUrls: row.allowedReturnUrls,
    createdAt: row.createdAt.toISOString(),
  }
}

const PUBLIC_COLUMNS = { id: true, name: true, scopes: true, allowedReturnUrls: true, createdAt: true } as const

export interface ServiceClientsOptions {
  /** The backstop reload's period (a lost notification heals within it). Default 30 s. */
  reloadIntervalMs?: number
  /** The bootstrap client of this deployment: deleting it leaves a tombstone (upsertBootstrap). */
  bootstrap?: { clientId: string; clientSecret: string }
}

export class ServiceClients {
  private cache = new Map<string, ServiceClient>()
  private loading: Promise<void> | undefined
  /** A change was announced after the load in flight began: load again after it. */
  private stale = false
  private timer: NodeJS.Timeout | undefined

  constructor(
    private db: Database,
    private audit: AuditLog,
    private log: Logger,
    private options: ServiceClientsOptions = {},
  ) {}

  /** Loads the cache and keeps it current from the change feed, with a periodic reload as a backstop. */
  async start(changes: ChangeFeed | undefined): Promise<void> {
    changes?.subscribe((c) => {
      if (c.topic === 'service_client' || c.topic === '*') void this.reload()
    })
    await this.reload()
    this.timer = setInterval(() => void this.reload(), this.options.reloadIntervalMs ?? 30_000)
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

  private async loadUntilCurrent(): Promise<void> {
    while (this.stale) {
      this.stale = false
      try {
        const rows = await this.db.prisma.serviceClient.findMany({ select: PUBLIC_COLUMNS })
        this.cache = new Map(rows.map((r) => [r.id, toClient(r)]))
      } catch (err) {
        // The periodic reload (or the next notification) tries again.
        this.log.warn({ err: { message: (err as Error).message } }, 'service clients not reloaded')
        return
      }
    }
  }

  /** The registered client, from memory (no database round trip). */
  cached(clientId: string): ServiceClient | undefined {
    return this.cache.get(clientId)
  }

  async list(): Promise<ServiceClient[]> {
    const rows = await this.db.prisma.serviceClient.findMany({ select: PUBLIC_COLUMNS, orderBy: { createdAt: 'asc' } })
    return rows.map(toClient)
  }

  async create(input: NewServiceClient, actor: string): Promise<{ client: ServiceClient; clientSecret: string }> {
    const data = validate(input)
    const clientSecret = generateClientSecret()
    const secretHash = await hashSecret(clientSecret)
    const row = await this.db.prisma.$transaction(async (tx) => {
      const created = await tx.serviceClient.create({
        data: { id: generateClientId(), secretHash, ...data },
        select: PUBLIC_COLUMNS,
      })
      await this.audit.write({ type: 'service_client.created', actor, detail: { clientId: created.id, name: data.name, scopes: data.scopes } }, tx)
      await notifyChange(tx, { topic: 'service_client', id: created.id })
      return created
    })
    const client = toClient(row)
    this.cache.set(client.clientId, client)
    // A load in flight may predate the commit and undo the line above: the reload after it does not.
    await this.reload()
    this.log.info({ clientId: client.clientId, scopes: client.scopes, actor }, 'service client created')
    return { client, clientSecret }
  }

  /** Deletes a client. The bootstrap client leaves a tombstone: it stays deleted across restarts with the same secret. */
  async delete(clientId: string, actor: string): Promise<void> {
    const boot = this.options.bootstrap
    const tombstone = boot?.clientId === clientId ? await hashSecret(boot.clientSecret) : undefined
    const deleted = await this.db.prisma.$transaction(async (tx) => {
      const { count } = await tx.serviceClient.deleteMany({ where: { id: clientId } })
      if (count === 0) return false
      if (tombstone) {
        await tx.bootstrapTombstone.upsert({ where: { clientId }, create: { clientId, secretHash: tombstone }, update: { secretHash: tombstone, deletedAt: new Date() } })
      }
      await this.audit.write({ type: 'service_client.deleted', actor, detail: { clientId, ...(tombstone ? { bootstrap: true } : {}) } }, tx)
      await notifyChange(tx, { topic: 'service_client', id: clientId })
      return true
    })
    if (!deleted) throw problem('service_client_not_found')
    this.cache.delete(clientId)
    await this.reload()
    this.log.info({ clientId, actor }, tombstone ? 'bootstrap service client deleted; it stays deleted until BOOTSTRAP_CLIENT_SECRET changes' : 'service client deleted')
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
   * Creates or updates the bootstrap client (every scope). Its secret is re-hashed only
   * when it changed, so restarts keep the stored hash. A bootstrap client deleted through
   * the API is not recreated while the secret is the one it was deleted under.
   */
  async upsertBootstrap(boot: { clientId: string; clientSecret: string; returnUrls: string[] }): Promise<void> {
    const existing = await this.db.prisma.serviceClient.findUnique({ where: { id: boot.clientId } })
    const tombstone = existing ? null : await this.db.prisma.bootstrapTombstone.findUnique({ where: { clientId: boot.clientId } })
    if (tombstone && (await verifySecret(boot.clientSecret, tombstone.secretHash))) {
      this.log.warn({ clientId: boot.clientId, deletedAt: tombstone.deletedAt.toISOString() }, 'bootstrap service client stays deleted: set a new BOOTSTRAP_CLIENT_SECRET to recreate it')
      return
    }
    const sameSecret = existing ? await verifySecret(boot.clientSecret, existing.secretHash) : false
    const secretHash = sameSecret ? existing!.secretHash : await hashSecret(boot.clientSecret)
    const data = { name: 'bootstrap', scopes: [...SCOPES], allowedReturnUrls: boot.returnUrls, secretHash }
    const unchanged =
      existing &&
      sameSecret &&
      existing.scopes.join(' ') === data.scopes.join(' ') &&
      existing.allowedReturnUrls.join(' ') === data.allowedReturnUrls.join(' ')
    if (unchanged) return
    await this.db.prisma.$transaction(async (tx) => {
      await tx.serviceClient.upsert({ where: { id: boot.clientId }, create: { id: boot.clientId, ...data }, update: data })
      // A new secret: the tombstone of the old one has served.
      if (tombstone) await tx.bootstrapTombstone.deleteMany({ where: { clientId: boot.clientId } })
      await this.audit.write(
        { type: existing ? 'service_client.updated' : 'service_client.created', actor: 'bootstrap', detail: { clientId: boot.clientId, secretChanged: !sameSecret } },
        tx,
      )
      await notifyChange(tx, { topic: 'service_client', id: boot.clientId })
    })
    this.log.info({ clientId: boot.clientId }, existing ? 'bootstrap service client updated' : 'bootstrap service client created')
  }
}

function validate(input: NewServiceClient): { name: string; scopes: Scope[]; allowedReturnUrls: string[] } {
  const unknown = input.scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length) throw problem('invalid_scope', `unknown scopes: ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`)
  const allowedReturnUrls: string[] = []
  for (const raw of input.allowedReturnUrls) {
    const normalized = normalizeReturnUrl(raw)
    if (typeof normalized !== 'string') throw problem('invalid_return_url', `allowedReturnUrls: ${JSON.stringify(raw)} ${normalized.error}`)
    allowedReturnUrls.push(normalized)
  }
  return { name: input.name.trim(), scopes: [...new Set(input.scopes)] as Scope[], allowedReturnUrls: [...new Set(allowedReturnUrls)] }
}
