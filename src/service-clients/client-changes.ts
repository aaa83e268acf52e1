// Admin changes to service clients: the checks on their input and the rules on who may make
// them. service-clients.ts, the table's only writer, applies them.
import { problem } from '../errors.js'
import type { Tx } from '../store/db.js'
import { ALL_NAMESPACES, DEFAULT_NAMESPACE, normalizeNamespaces } from './namespaces.js'
import { normalizeReturnUrl } from './return-urls.js'
import { normalizeWebhookUrl } from './webhook-urls.js'
import { SCOPES, type Scope } from './scopes.js'
import type { NewServiceClient, ServiceClientChanges } from './client-record.js'

/** Reads and locks a client row for a change: a concurrent delete waits (no 500 for a row gone meanwhile). */
export async function lockClient(
  tx: Tx,
  clientId: string,
): Promise<{ namespaces: string[]; hasSecret: boolean } | undefined> {
  const rows = await tx.$queryRaw<Array<{ namespaces: string[]; hasSecret: boolean }>>`
    SELECT namespaces, secret_hash IS NOT NULL AS "hasSecret" FROM service_clients WHERE id = ${clientId} FOR UPDATE`
  return rows[0]
}

/**
 * An admin holding only some namespaces manages only clients within them: otherwise it could
 * change the scopes of, or delete, a client of a namespace it was never given.
 */
export function assertCanManage(admin: readonly string[], target: readonly string[]): void {
  if (!canManage(admin, target)) {
    throw problem('namespace_forbidden', 'this admin client does not hold every namespace of that service client')
  }
}

/** An admin manages (and lists) a client only when it holds every namespace of that client. */
export function canManage(admin: readonly string[], target: readonly string[]): boolean {
  if (admin[0] === ALL_NAMESPACES) return true
  return target[0] !== ALL_NAMESPACES && target.every((n) => admin.includes(n))
}

export type Validated = {
  name: string
  scopes: Scope[]
  namespaces: string[]
  allowedReturnUrls: string[]
  requireConfirmation: boolean
  allowedWebhookUrls: string[]
}

export function validate(input: NewServiceClient): Validated {
  return {
    name: input.name.trim(),
    scopes: validScopes(input.scopes),
    namespaces: normalizeNamespaces(input.namespaces ?? [DEFAULT_NAMESPACE]),
    allowedReturnUrls: validReturnUrls(input.allowedReturnUrls),
    requireConfirmation: input.requireConfirmation ?? true,
    allowedWebhookUrls: validWebhookUrls(input.allowedWebhookUrls ?? []),
  }
}

/** The fields of a PATCH, each checked as at creation; `jwks` is checked by validateJwks. */
export function validateChanges(changes: Omit<ServiceClientChanges, 'jwks'>, keysChange: boolean): Partial<Validated> {
  const out: Partial<Validated> = {}
  if (changes.name !== undefined) out.name = changes.name.trim()
  if (changes.scopes !== undefined) out.scopes = validScopes(changes.scopes)
  if (changes.namespaces !== undefined) out.namespaces = normalizeNamespaces(changes.namespaces)
  if (changes.allowedReturnUrls !== undefined) out.allowedReturnUrls = validReturnUrls(changes.allowedReturnUrls)
  if (changes.requireConfirmation !== undefined) out.requireConfirmation = changes.requireConfirmation
  if (changes.allowedWebhookUrls !== undefined) out.allowedWebhookUrls = validWebhookUrls(changes.allowedWebhookUrls)
  if (!Object.keys(out).length && !keysChange) throw problem('invalid_request', 'name at least one field to change')
  return out
}

function validScopes(scopes: string[]): Scope[] {
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length)
    throw problem('invalid_scope', `scopes: unknown ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`)
  return [...new Set(scopes)] as Scope[]
}

function validReturnUrls(urls: string[]): string[] {
  const allowed: string[] = []
  for (const raw of urls) {
    const normalized = normalizeReturnUrl(raw)
    if (typeof normalized !== 'string')
      throw problem('invalid_return_url', `allowedReturnUrls: ${JSON.stringify(raw)} ${normalized.error}`)
    allowed.push(normalized)
  }
  return [...new Set(allowed)]
}

function validWebhookUrls(urls: string[]): string[] {
  const allowed = urls.map((raw) => {
    const normalized = normalizeWebhookUrl(raw)
    if (typeof normalized !== 'string')
      throw problem('invalid_webhook_url', `allowedWebhookUrls: ${JSON.stringify(raw)} ${normalized.error}`)
    return normalized
  })
  return [...new Set(allowed)]
}

/** The named members of `data` that are set: what an audit event records of a change. */
export function pick<T extends object, K extends keyof T>(data: T, ...keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => data[k] !== undefined).map((k) => [k, data[k]])) as Partial<Pick<T, K>>
}

/** Does the stored record already say what `data` says (list columns compared in order)? */
export function sameRecord(stored: Record<string, unknown>, data: Record<string, string | string[]>): boolean {
  return Object.entries(data).every(([k, v]) => String(stored[k]) === String(v))
}
