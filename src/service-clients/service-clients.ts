// Service clients: the internal services allowed to call the broker. The table is small and read on
// every API call (client still registered? its return URLs?): each replica keeps it in memory.
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import { systemClock } from '../clock.js'
import { problem } from '../errors.js'
import { notifyChange, type ChangeFeed } from '../store/changes.js'
import type { Database } from '../store/db.js'
import { ClientCache } from './client-cache.js'
import { assertCanManage, lockClient, pick, sameRecord, validate, validateChanges } from './client-changes.js'
import { validateJwks, type ClientJwks } from './client-keys.js'
import {
  PUBLIC_COLUMNS,
  toClient,
  type Admin,
  type BootstrapClient,
  type NewServiceClient,
  type ServiceClient,
  type ServiceClientChanges,
  type ServiceClientsOptions,
} from './client-record.js'
import { ALL_NAMESPACES, assertCanGrant } from './namespaces.js'
import { SCOPES } from './scopes.js'
import { migrateToFastHash, readSecretColumns, secretMatch } from './client-authentication.js'
import { ClientSecrets, generateClientId, generateClientSecret } from './secrets.js'

export type {
  Admin,
  NewServiceClient,
  ServiceClient,
  ServiceClientChanges,
  ServiceClientsOptions,
} from './client-record.js'

const NO_SECRET = { secretHash: null, previousSecretHash: null, previousSecretExpiresAt: null }

export class ServiceClients {
  private cache: ClientCache<ServiceClient>
  readonly secrets: ClientSecrets

  constructor(
    private db: Database,
    private audit: AuditLog,
    private log: Logger,
    private options: ServiceClientsOptions = {},
  ) {
    const load = async () => (await db.prisma.serviceClient.findMany({ select: PUBLIC_COLUMNS })).map(toClient)
    this.cache = new ClientCache(load, log, options.reloadIntervalMs)
    this.secrets = options.secrets ?? new ClientSecrets(() => Promise.reject(new Error('no secret hash key')))
  }

  private now(): Date {
    return (this.options.clock ?? systemClock).now()
  }

  /** Loads the cache and keeps it current from the change feed, with a periodic reload as a backstop. */
  start(changes: ChangeFeed | undefined): Promise<void> {
    return this.cache.start(changes)
  }

  stop(): void {
    this.cache.stop()
    void this.secrets.kdf.close()
  }

  /** The registered client, from memory (no database round trip). */
  cached(clientId: string): ServiceClient | undefined {
    return this.cache.get(clientId)
  }

  async list(): Promise<ServiceClient[]> {
    const rows = await this.db.prisma.serviceClient.findMany({ select: PUBLIC_COLUMNS, orderBy: { createdAt: 'asc' } })
    return rows.map(toClient)
  }

  /** A client with `jwks` authenticates with keys and gets no secret; else its secret is returned once. */
  async create(input: NewServiceClient, by: Admin): Promise<{ client: ServiceClient; clientSecret?: string }> {
    const data = validate(input)
    assertCanGrant(by.namespaces, data.namespaces)
    const actor = by.actor
    const jwks = input.jwks === undefined ? undefined : validateJwks(input.jwks)
    const clientSecret = jwks ? undefined : generateClientSecret()
    const secretHash = clientSecret ? await this.secrets.fastHash(clientSecret) : null
    const row = await this.db.prisma.$transaction(async (tx) => {
      const created = await tx.serviceClient.create({
        data: { id: generateClientId(), secretHash, ...(jwks ? { jwks: jwks as object } : {}), ...data },
        select: PUBLIC_COLUMNS,
      })
      const keys = jwks ? { kids: jwks.keys.map((k) => k.kid) } : {}
      const detail = { clientId: created.id, ...pick(data, 'name', 'scopes', 'namespaces'), ...keys }
      await this.audit.write({ type: 'service_client.created', actor, detail }, tx)
      await notifyChange(tx, { topic: 'service_client', id: created.id })
      return created
    })
    const client = toClient(row)
    this.cache.set(client)
    // A load in flight may predate the commit and undo the line above: the reload after it does not.
    await this.cache.reload()
    this.log.info(
      { clientId: client.clientId, scopes: client.scopes, namespaces: client.namespaces, actor },
      'service client created',
    )
    return { client, clientSecret }
  }

  /**
   * Changes the fields given; the change reaches every replica's cache through the change
   * feed, so it holds for broker tokens already issued (the auth hook reads the record).
   * New keys (`jwks`) replace any secret: a client has keys or a secret.
   */
  async update(clientId: string, changes: ServiceClientChanges, by: Admin): Promise<ServiceClient> {
    const { jwks: rawJwks, ...fields } = changes
    const jwks = rawJwks === undefined ? undefined : validateJwks(rawJwks)
    const data = validateChanges(fields, jwks !== undefined)
    if (data.namespaces) assertCanGrant(by.namespaces, data.namespaces)
    const row = await this.db.prisma.$transaction(async (tx) => {
      const current = await lockClient(tx, clientId)
      if (!current) return undefined
      assertCanManage(by.namespaces, current.namespaces)
      // A client has keys or a secret: new keys take the secrets away.
      const keyColumns = jwks ? { jwks: jwks as object, ...NO_SECRET } : {}
      const updated = await tx.serviceClient.update({
        where: { id: clientId },
        data: { ...data, ...keyColumns },
        select: PUBLIC_COLUMNS,
      })
      if (Object.keys(data).length) {
        const detail = {
          clientId,
          changed: Object.keys(data),
          ...pick(data, 'scopes', 'namespaces', 'requireConfirmation'),
        }
        await this.audit.write({ type: 'service_client.updated', actor: by.actor, detail }, tx)
      }
      if (jwks) {
        const detail = { clientId, kids: jwks.keys.map((k) => k.kid), secretRemoved: current.hasSecret }
        await this.audit.write({ type: 'service_client.keys_changed', actor: by.actor, detail }, tx)
      }
      await notifyChange(tx, { topic: 'service_client', id: clientId })
      return updated
    })
    if (!row) throw problem('service_client_not_found')
    const client = toClient(row)
    this.cache.set(client)
    await this.cache.reload()
    this.log.info({ clientId, changed: Object.keys(changes), actor: by.actor }, 'service client updated')
    return client
  }

  /** Deletes a client. The bootstrap client leaves a tombstone: it stays deleted across restarts with its secret. */
  async delete(clientId: string, by: Admin): Promise<void> {
    const actor = by.actor
    const boot = this.options.bootstrap
    const tombstone = boot?.clientId === clientId ? await this.secrets.slowHash(boot.clientSecret) : undefined
    const deleted = await this.db.prisma.$transaction(async (tx) => {
      const current = await lockClient(tx, clientId)
      if (!current) return false
      assertCanManage(by.namespaces, current.namespaces)
      await tx.serviceClient.delete({ where: { id: clientId } })
      if (tombstone) {
        const row = { secretHash: tombstone, deletedAt: new Date() }
        await tx.bootstrapTombstone.upsert({ where: { clientId }, create: { clientId, ...row }, update: row })
      }
      const detail = { clientId, ...(tombstone ? { bootstrap: true } : {}) }
      await this.audit.write({ type: 'service_client.deleted', actor, detail }, tx)
      await notifyChange(tx, { topic: 'service_client', id: clientId })
      return true
    })
    if (!deleted) throw problem('service_client_not_found')
    this.cache.delete(clientId)
    await this.cache.reload()
    this.log.info(
      { clientId, actor },
      tombstone
        ? 'bootstrap service client deleted; it stays deleted until BOOTSTRAP_CLIENT_SECRET changes'
        : 'service client deleted',
    )
  }

  /** Registers a client's public keys (private_key_jwt), replacing any earlier set and any secret. */
  setJwks(clientId: string, input: unknown, by: Admin): Promise<ServiceClient> {
    return this.update(clientId, { jwks: input }, by)
  }

  /**
   * Gives a secret client a new secret, shown once. The current one becomes the previous
   * secret and keeps working for `overlapSeconds` (0: not at all); an older previous
   * secret stops at once. One statement, so two rotations at once cannot lose a secret.
   */
  async rotateSecret(
    clientId: string,
    overlapSeconds: number,
    by: Admin,
  ): Promise<{ clientSecret: string; previousSecretExpiresAt: string | null }> {
    const actor = by.actor
    const clientSecret = generateClientSecret()
    const secretHash = await this.secrets.fastHash(clientSecret)
    const until = overlapSeconds > 0 ? new Date(this.now().getTime() + overlapSeconds * 1000) : null
    const rotated = await this.db.prisma.$transaction(async (tx) => {
      const current = await lockClient(tx, clientId)
      if (!current) return false
      assertCanManage(by.namespaces, current.namespaces)
      const count = await tx.$executeRaw`
        UPDATE service_clients
        SET previous_secret_hash = CASE WHEN ${until}::timestamptz IS NULL THEN NULL ELSE secret_hash END,
          previous_secret_expires_at = ${until}::timestamptz, secret_hash = ${secretHash}, updated_at = now()
        WHERE id = ${clientId} AND secret_hash IS NOT NULL`
      if (count === 0) return false
      const detail = { clientId, previousSecretExpiresAt: until?.toISOString() ?? null }
      await this.audit.write({ type: 'service_client.secret_rotated', actor, detail }, tx)
      await notifyChange(tx, { topic: 'service_client', id: clientId })
      return true
    })
    if (!rotated) {
      const exists = await this.db.prisma.serviceClient.count({ where: { id: clientId } })
      throw exists
        ? problem('invalid_request', 'this client authenticates with keys (jwks): it has no secret to rotate')
        : problem('service_client_not_found')
    }
    this.log.info(
      { clientId, actor, previousSecretExpiresAt: until?.toISOString() ?? null },
      'service client secret rotated',
    )
    return { clientSecret, previousSecretExpiresAt: until?.toISOString() ?? null }
  }

  /** Checks a client id and secret: the current one, or the previous one during a rotation's overlap. */
  async authenticate(clientId: string, secret: string): Promise<ServiceClient | undefined> {
    const row = await readSecretColumns(this.db, clientId)
    const match = await secretMatch(this.secrets, row, secret, this.now())
    if (!row || !match) return undefined
    if (row.id !== this.options.bootstrap?.clientId)
      await migrateToFastHash(this.db, this.secrets, { row, match, secret }, this.log)
    const previousSecretExpiresAt = row.previousSecretExpiresAt?.toISOString()
    if (match === 'previous')
      this.log.info({ clientId, previousSecretExpiresAt }, 'client authenticated with its previous secret')
    const client = await this.db.prisma.serviceClient.findUnique({ where: { id: clientId }, select: PUBLIC_COLUMNS })
    return client ? toClient(client) : undefined
  }

  /** The keys of a client that authenticates with private_key_jwt; undefined for an unknown or secret-only one. */
  async keysOf(clientId: string): Promise<{ client: ServiceClient; jwks: ClientJwks } | undefined> {
    const row = await this.db.prisma.serviceClient.findUnique({ where: { id: clientId }, select: PUBLIC_COLUMNS })
    return row?.jwks ? { client: toClient(row), jwks: row.jwks as unknown as ClientJwks } : undefined
  }

  /**
   * Creates or updates the bootstrap client (every scope, every namespace). Its secret is re-hashed only
   * when it changed, so restarts keep the stored hash. A bootstrap client deleted through
   * the API is not recreated while the secret is the one it was deleted under.
   */
  async upsertBootstrap(boot: BootstrapClient): Promise<void> {
    const existing = await this.db.prisma.serviceClient.findUnique({ where: { id: boot.clientId } })
    const tombstone = existing
      ? null
      : await this.db.prisma.bootstrapTombstone.findUnique({ where: { clientId: boot.clientId } })
    if (tombstone && (await this.secrets.verify(boot.clientSecret, tombstone.secretHash))) {
      this.log.warn(
        { clientId: boot.clientId, deletedAt: tombstone.deletedAt.toISOString() },
        'bootstrap service client stays deleted: set a new BOOTSTRAP_CLIENT_SECRET to recreate it',
      )
      return
    }
    const sameSecret = existing?.secretHash ? await this.secrets.verify(boot.clientSecret, existing.secretHash) : false
    const secretHash = sameSecret ? existing!.secretHash : await this.secrets.slowHash(boot.clientSecret)
    const data = {
      name: 'bootstrap',
      scopes: [...SCOPES],
      namespaces: [ALL_NAMESPACES],
      allowedReturnUrls: boot.returnUrls,
      allowedWebhookUrls: boot.webhookUrls ?? [],
    }
    const unchanged = existing && sameSecret && sameRecord(existing, data)
    if (unchanged) return
    await this.db.prisma.$transaction(async (tx) => {
      await tx.serviceClient.upsert({
        where: { id: boot.clientId },
        create: { id: boot.clientId, ...data, secretHash },
        update: { ...data, secretHash },
      })
      // A new secret: the tombstone of the old one has served.
      if (tombstone) await tx.bootstrapTombstone.deleteMany({ where: { clientId: boot.clientId } })
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
