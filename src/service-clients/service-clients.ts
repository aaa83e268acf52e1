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
      .catch((err: unknown) =>
        this.log.warn({ err: { message: (err as Error).message } }, 'service clients not reloaded'),
      )
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

  async create(input: NewServiceClient, actor: string): Promise<{ client: ServiceClient; clientSecret: string }> {
    const data = validate(input)
    const clientSecret = generateClientSecret()
    const secretHash = await hashSecret(clientSecret)
    const row = await this.db.prisma.$transaction(async (tx) => {
      const created = await tx.serviceClient.create({
        data: { id: generateClientId(), secretHash, ...data },
        select: PUBLIC_COLUMNS,
      })
      await this.audit.write(
        {
          type: 'service_client.created',
          actor,
          detail: { clientId: created.id, name: data.name, scopes: data.scopes },
        },
        tx,
      )
      await notifyChange(tx, { topic: 'service_client', id: created.id })
      return created
    })
    const client = toClient(row)
    this.cache.set(client.clientId, client)
    this.log.info({ clientId: client.clientId, scopes: client.scopes, actor }, 'service client created')
    return { client, clientSecret }
  }

  async delete(clientId: string, actor: string): Promise<void> {
    const deleted = await this.db.prisma.$transaction(async (tx) => {
      const { count } = await tx.serviceClient.deleteMany({ where: { id: clientId } })
      if (count === 0) return false
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
   * Creates or updates the bootstrap client (every scope). Its secret is re-hashed only
   * when it changed, so restarts keep the stored hash.
   */
  async upsertBootstrap(boot: { clientId: string; clientSecret: string; returnUrls: string[] }): Promise<void> {
    const existing = await this.db.prisma.serviceClient.findUnique({ where: { id: boot.clientId } })
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
      await tx.serviceClient.upsert({
        where: { id: boot.clientId },
        create: { id: boot.clientId, ...data },
        update: data,
      })
      await this.audit.write(
        {
          type: existing ? 'service_client.updated' : 'service_client.created',
          actor: 'bootstrap',
          detail: { clientId: boot.clientId, secretChanged: !sameSecret },
        },
        tx,
      )
      await notifyChange(tx, { topic: 'service_client', id: boot.clientId })
    })
    this.log.info(
      { clientId: boot.clientId },
      existing ? 'bootstrap service client updated' : 'bootstrap service client created',
    )
  }
}

function validate(input: NewServiceClient): { name: string; scopes: Scope[]; allowedReturnUrls: string[] } {
  const unknown = input.scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length)
    throw problem('invalid_scope', `unknown scopes: ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`)
  const allowedReturnUrls: string[] = []
  for (const raw of input.allowedReturnUrls) {
    const normalized = normalizeReturnUrl(raw)
    if (typeof normalized !== 'string')
      throw problem('invalid_return_url', `allowedReturnUrls: ${JSON.stringify(raw)} ${normalized.error}`)
    allowedReturnUrls.push(normalized)
  }
  return {
    name: input.name.trim(),
    scopes: [...new Set(input.scopes)] as Scope[],
    allowedReturnUrls: [...new Set(allowedReturnUrls)],
  }
}
