// Webhook endpoints: where a service client receives lifecycle events. This module is the
// only writer of webhook_endpoints. An endpoint belongs to its client (others see 404, and
// it goes when the client is deleted); its URL stays under the client's allowed webhook
// URLs; its namespaces never exceed the client's. The secret is shown once and sealed.
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { problem } from '../errors.js'
import { assertCanGrant, normalizeNamespaces } from '../service-clients/namespaces.js'
import { isWebhookUrlAllowed, parseWebhookUrl } from '../service-clients/webhook-urls.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import { EVENT_TYPES } from './lifecycle-events.js'
import { generateWebhookSecret } from './signing.js'

/** How long the previous secret keeps signing beside a rotated one. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000

/** The caller: a service client with its current namespaces and allowed webhook URLs. */
export interface EndpointOwner {
  clientId: string
  namespaces: readonly string[]
  allowedWebhookUrls: readonly string[]
}

export interface NewEndpoint {
  url: string
  events: string[]
  namespaces?: string[]
}

export interface EndpointView {
  id: string
  url: string
  events: string[]
  namespaces: string[]
  enabled: boolean
  createdAt: string
}

type EndpointRow = {
  id: string
  url: string
  events: string[]
  namespaces: string[]
  enabled: boolean
  createdAt: Date
}

function view(row: EndpointRow): EndpointView {
  const { id, url, events, namespaces, enabled } = row
  return { id, url, events, namespaces, enabled, createdAt: row.createdAt.toISOString() }
}

const VIEW_COLUMNS = { id: true, url: true, events: true, namespaces: true, enabled: true, createdAt: true } as const

export class WebhookEndpoints {
  constructor(private deps: { db: Database; keyring: Keyring; audit: AuditLog; clock: Clock; log: Logger }) {}

  sealSecret(id: string, column: 'secret' | 'previous_secret', secret: string): string {
    return this.deps.keyring.seal(secret, fieldContext('webhook_endpoints', id, column))
  }

  openSecret(id: string, column: 'secret' | 'previous_secret', sealed: string): string {
    return this.deps.keyring.openString(sealed, fieldContext('webhook_endpoints', id, column))
  }

  async create(owner: EndpointOwner, input: NewEndpoint): Promise<EndpointView & { secret: string }> {
    const url = checkUrl(owner, input.url)
    const events = checkEvents(input.events)
    const namespaces = input.namespaces === undefined ? [...owner.namespaces] : normalizeNamespaces(input.namespaces)
    assertCanGrant(owner.namespaces, namespaces)
    const id = `whep_${randomBytes(12).toString('base64url')}`
    const secret = generateWebhookSecret()
    const row = await this.deps.db.prisma.$transaction(async (tx) => {
      const created = await tx.webhookEndpoint.create({
        data: { id, clientId: owner.clientId, url, events, namespaces, secret: this.sealSecret(id, 'secret', secret) },
        select: VIEW_COLUMNS,
      })
      await this.audited(tx, owner, 'webhook_endpoint.created', { endpointId: id, url, events, namespaces })
      return created
    })
    this.deps.log.info({ endpointId: id, clientId: owner.clientId, url }, 'webhook endpoint created')
    return { ...view(row), secret }
  }

  async list(owner: EndpointOwner): Promise<EndpointView[]> {
    const rows = await this.deps.db.prisma.webhookEndpoint.findMany({
      where: { clientId: owner.clientId },
      select: VIEW_COLUMNS,
      orderBy: { createdAt: 'asc' },
    })
    return rows.map(view)
  }

  async get(owner: EndpointOwner, id: string): Promise<EndpointView> {
    const row = await this.deps.db.prisma.webhookEndpoint.findFirst({
      where: { id, clientId: owner.clientId },
      select: VIEW_COLUMNS,
    })
    if (!row) throw problem('webhook_endpoint_not_found')
    return view(row)
  }

  async delete(owner: EndpointOwner, id: string): Promise<void> {
    await this.deps.db.prisma.$transaction(async (tx) => {
      const { count } = await tx.webhookEndpoint.deleteMany({ where: { id, clientId: owner.clientId } })
      if (count === 0) throw problem('webhook_endpoint_not_found')
      await this.audited(tx, owner, 'webhook_endpoint.deleted', { endpointId: id })
    })
  }

  /** Disables or re-enables; re-enabling forgets the failing streak that may have disabled it. */
  async setEnabled(owner: EndpointOwner, id: string, enabled: boolean): Promise<EndpointView> {
    const row = await this.deps.db.prisma.$transaction(async (tx) => {
      const { count } = await tx.webhookEndpoint.updateMany({
        where: { id, clientId: owner.clientId },
        data: { enabled, failingSince: null, updatedAt: this.deps.clock.now() },
      })
      if (count === 0) throw problem('webhook_endpoint_not_found')
      await this.audited(tx, owner, 'webhook_endpoint.updated', { endpointId: id, enabled })
      return tx.webhookEndpoint.findUniqueOrThrow({ where: { id }, select: VIEW_COLUMNS })
    })
    return view(row)
  }

  /** A new secret, shown once; the current one keeps signing beside it for 24 hours. */
  async rotateSecret(owner: EndpointOwner, id: string): Promise<{ secret: string; previousSecretExpiresAt: string }> {
    const secret = generateWebhookSecret()
    const until = new Date(this.deps.clock.now().getTime() + ROTATION_OVERLAP_MS)
    await this.deps.db.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ secret: string }>>`
        SELECT secret FROM webhook_endpoints WHERE id = ${id} AND client_id = ${owner.clientId} FOR UPDATE`
      if (!rows[0]) throw problem('webhook_endpoint_not_found')
      const current = this.openSecret(id, 'secret', rows[0].secret)
      await tx.webhookEndpoint.update({
        where: { id },
        data: {
          secret: this.sealSecret(id, 'secret', secret),
          previousSecret: this.sealSecret(id, 'previous_secret', current),
          previousSecretExpiresAt: until,
          updatedAt: this.deps.clock.now(),
        },
      })
      await this.audited(tx, owner, 'webhook_endpoint.secret_rotated', { endpointId: id })
    })
    return { secret, previousSecretExpiresAt: until.toISOString() }
  }

  private audited(
    tx: Tx,
    owner: EndpointOwner,
    type:
      | 'webhook_endpoint.created'
      | 'webhook_endpoint.updated'
      | 'webhook_endpoint.deleted'
      | 'webhook_endpoint.secret_rotated',
    detail: Record<string, unknown>,
  ): Promise<void> {
    return this.deps.audit.write({ type, actor: owner.clientId, detail: { clientId: owner.clientId, ...detail } }, tx)
  }
}

function checkUrl(owner: EndpointOwner, raw: string): string {
  const url = parseWebhookUrl(raw)
  if (!(url instanceof URL)) throw problem('invalid_webhook_url', `url: ${url.error}`)
  if (!isWebhookUrlAllowed(raw, owner.allowedWebhookUrls))
    throw problem('invalid_webhook_url', "url: not under one of this service client's allowedWebhookUrls")
  return url.href
}

function checkEvents(events: string[]): string[] {
  if (events.includes('*')) {
    if (events.length !== 1) throw problem('invalid_request', 'events: "*" stands alone')
    return ['*']
  }
  const unknown = events.filter((e) => !(EVENT_TYPES as readonly string[]).includes(e))
  if (unknown.length || !events.length)
    throw problem('invalid_request', `events: one or more of ${EVENT_TYPES.join(', ')}, or ["*"]`)
  return [...new Set(events)]
}
