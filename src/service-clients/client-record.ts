// The service-client record as the API and the in-memory cache see it (no secret), and the
// shapes of the admin changes to it.
import type { ClientJwks } from './client-keys.js'
import { SCOPES, type Scope } from './scopes.js'
import type { Clock } from '../clock.js'
import type { ClientSecrets } from './secrets.js'

export interface ServiceClient {
  clientId: string
  name: string
  scopes: Scope[]
  /** The namespaces whose connections it may touch; ["*"]: all. */
  namespaces: string[]
  allowedReturnUrls: string[]
  /** Where its webhook endpoints may point (service-clients/webhook-urls.ts). */
  allowedWebhookUrls: string[]
  /** The public keys of a client that authenticates with private_key_jwt (RFC 7523). */
  jwks?: ClientJwks
  createdAt: string
  /** Its sessions with a returnUrl confirm the end user unless they say otherwise (connections/confirmation.ts). */
  requireConfirmation: boolean
}

export interface NewServiceClient {
  name: string
  scopes: string[]
  namespaces?: string[]
  allowedReturnUrls: string[]
  allowedWebhookUrls?: string[]
  /** Public keys instead of a secret: checked by validateJwks. */
  jwks?: unknown
  /** Default true. */
  requireConfirmation?: boolean
}

/** PATCH /v1/service-clients/:clientId: each field present replaces the stored one. */
export type ServiceClientChanges = Partial<NewServiceClient>

/** The bootstrap client as configured (BOOTSTRAP_* variables). */
export interface BootstrapClient {
  clientId: string
  clientSecret: string
  returnUrls: string[]
  webhookUrls?: string[]
}

/** Who changes service clients: an admin client (with its namespaces) or the CLI (["*"]). */
export interface Admin {
  actor: string
  namespaces: readonly string[]
}

export type ClientRow = {
  id: string
  name: string
  scopes: string[]
  namespaces: string[]
  allowedReturnUrls: string[]
  allowedWebhookUrls: string[]
  jwks: unknown
  createdAt: Date
  requireConfirmation: boolean
}

export function toClient(row: ClientRow): ServiceClient {
  return {
    clientId: row.id,
    name: row.name,
    scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    namespaces: row.namespaces,
    allowedReturnUrls: row.allowedReturnUrls,
    allowedWebhookUrls: row.allowedWebhookUrls,
    ...(row.jwks ? { jwks: row.jwks as ClientJwks } : {}),
    createdAt: row.createdAt.toISOString(),
    requireConfirmation: row.requireConfirmation,
  }
}

/** The columns of the record: never the secret hashes. */
export const PUBLIC_COLUMNS = {
  id: true,
  name: true,
  scopes: true,
  namespaces: true,
  allowedReturnUrls: true,
  allowedWebhookUrls: true,
  jwks: true,
  createdAt: true,
  requireConfirmation: true,
} as const

export interface ServiceClientsOptions {
  /** The backstop reload's period (a lost notification heals within it). Default 30 s. */
  reloadIntervalMs?: number
  /** The bootstrap client of this deployment: deleting it leaves a tombstone (upsertBootstrap). */
  bootstrap?: { clientId: string; clientSecret: string }
  /** Time for secret-rotation overlaps; tests move it. */
  clock?: Clock
  /** Hashing and checking secrets (the fast hash needs its key from the database). */
  secrets?: ClientSecrets
}
