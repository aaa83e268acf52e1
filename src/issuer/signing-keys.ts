// The broker's signing keys (RFC 7517/7518, EdDSA over Ed25519). A key is published in
// the JWKS from the moment it is created, starts signing at `activatesAt` (so verifiers
// that cache the JWKS see it before the first token it signs), and stays published
// until `retiresAt`, at least one token lifetime after a newer key took over.
// (docs/security.md, checklist items 18 and 20)
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose'
import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { notifyChange, type ChangeFeed } from '../store/changes.js'
import type { Database, Tx } from '../store/db.js'
import { fieldContext, type Keyring } from '../store/encryption.js'
import { SECURITY_EVENTS } from '../security-events.js'

export const SIGNING_ALG = 'EdDSA'
/** Cache-Control max-age of the JWKS document. */
export const JWKS_MAX_AGE_SECONDS = 60
/** Default delay between publishing a rotated key and signing with it: two JWKS cache lifetimes. */
export const DEFAULT_ACTIVATION_DELAY_SECONDS = 2 * JWKS_MAX_AGE_SECONDS
/**
 * The shortest delay a rotation accepts: one JWKS cache lifetime, so a verifier that fetched
 * the JWKS just before the rotation has the new key before the first token it signs.
 */
export const MIN_ACTIVATION_DELAY_SECONDS = JWKS_MAX_AGE_SECONDS
export const MAX_ACTIVATION_DELAY_SECONDS = 7 * 86_400
/** Clock skew allowance added to the overlap of an old key. */
const SKEW_SECONDS = 60
/** Serializes key creation and rotation across replicas. */
const KEYS_LOCK_KEY = 0x6b657973 // "keys"

/** The public members a JWKS may carry: an allow-list, never "private minus d". */
const PUBLIC_JWK_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const

/** What jose's import functions return: a WebCrypto CryptoKey. */
type CryptoKey = Awaited<ReturnType<typeof importPKCS8>>

export const SIGNING_KEY_STATUSES = ['pending', 'active', 'retiring', 'retired'] as const
export type SigningKeyStatus = (typeof SIGNING_KEY_STATUSES)[number]

export interface SigningKeyInfo {
  kid: string
  alg: string
  status: SigningKeyStatus
  createdAt: string
  activatesAt: string
  retiresAt: string | null
}

interface LoadedKey {
  kid: string
  alg: string
  publicJwk: JWK
  publicKey: CryptoKey
  privateKey: CryptoKey | undefined
  createdAt: Date
  activatesAt: Date
  retiresAt: Date | null
}

export interface SigningKeysOptions {
  db: Database
  keyring: Keyring
  clock: Clock
  /** The broker tokens' lifetime: how long a replaced key keeps verifying. */
  tokenTtlSeconds: number
  audit: AuditLog
  log: Logger
}

export class SigningKeys {
  private keys: LoadedKey[] = []
  private lastReload = 0
  private reloading: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  /** Called after the key set changed (verification caches must forget retired keys). */
  onChange: () => void = () => {}

  private db: Database
  private keyring: Keyring
  private clock: Clock
  private tokenTtlSeconds: number
  private audit: AuditLog
  private log: Logger

  constructor(options: SigningKeysOptions) {
    this.db = options.db
    this.keyring = options.keyring
    this.clock = options.clock
    this.tokenTtlSeconds = options.tokenTtlSeconds
    this.audit = options.audit
    this.log = options.log
  }

  async start(changes: ChangeFeed | undefined): Promise<void> {
    changes?.subscribe((c) => {
      if (c.topic === 'signing_key' || c.topic === '*') void this.reload()
    })
    // The first load must succeed: a key that cannot be decrypted means a wrong ENCRYPTION_KEY.
    await this.load()
    // Activation and retirement are times, not events: re-evaluate now and then anyway.
    this.timer = setInterval(() => void this.reload(), 60_000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  reload(): Promise<void> {
    this.reloading ??= this.load()
      .catch((err: unknown) => this.log.warn({ err: { message: (err as Error).message } }, 'signing keys not reloaded'))
      .finally(() => (this.reloading = undefined))
    return this.reloading
  }

  private async load(): Promise<void> {
    const now = this.clock.now()
    const rows = await this.db.prisma.signingKey.findMany({
      where: { OR: [{ retiresAt: null }, { retiresAt: { gt: now } }] },
      orderBy: { activatesAt: 'asc' },
    })
    const loaded: LoadedKey[] = []
    for (const row of rows) {
      const publicJwk = row.publicJwk as JWK
      const previous = this.keys.find((k) => k.kid === row.kid)
      let privateKey = previous?.privateKey
      if (!privateKey) {
        let pem: string
        try {
          pem = this.keyring.openString(row.privateKey, fieldContext('signing_keys', row.kid, 'private_key'))
        } catch (err) {
          throw new Error(
            `cannot decrypt signing key ${row.kid}: ${(err as Error).message}. Is ENCRYPTION_KEY ` +
              'the key this database was written with (old keys must stay listed until re-encryption)?',
          )
        }
        privateKey = await importPKCS8(pem, row.alg)
      }
      loaded.push({
        kid: row.kid,
        alg: row.alg,
        publicJwk,
        publicKey: previous?.publicKey ?? ((await importJWK(publicJwk, row.alg)) as CryptoKey),
        privateKey,
        createdAt: row.createdAt,
        activatesAt: row.activatesAt,
        retiresAt: row.retiresAt,
      })
    }
    const changed =
      loaded.map((k) => `${k.kid}:${k.retiresAt?.getTime()}`).join() !==
      this.keys.map((k) => `${k.kid}:${k.retiresAt?.getTime()}`).join()
    this.keys = loaded
    this.lastReload = Date.now()
    if (changed) this.onChange()
  }

  /** Reloads when a token names an unknown kid (another replica rotated), at most every 5 s. */
  async reloadForUnknownKid(): Promise<void> {
    if (Date.now() - this.lastReload < 5_000) return
    await this.reload()
  }

  /** Creates the first key when there is none that can sign (first start). */
  async ensureKey(): Promise<void> {
    await this.db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1)', KEYS_LOCK_KEY)
      const now = this.clock.now()
      const usable = await tx.signingKey.count({
        where: { activatesAt: { lte: now }, OR: [{ retiresAt: null }, { retiresAt: { gt: now } }] },
      })
      if (usable > 0) return
      const kid = await this.insertKey(tx, now, 'system')
      await this.audit.write({ type: 'signing_key.created', actor: 'system', detail: { kid } }, tx)
    })
  }

  /**
   * Publishes a new key now, signs with it after `activateInSeconds`, and schedules the
   * retirement of every older key one token lifetime (plus skew) after that.
   */
  async rotate(activateInSeconds: number, actor: string): Promise<SigningKeyInfo> {
    if (!isActivationDelay(activateInSeconds))
      throw new RangeError(`activateInSeconds must be ${MIN_ACTIVATION_DELAY_SECONDS}..${MAX_ACTIVATION_DELAY_SECONDS}`)
    const kid = await this.db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1)', KEYS_LOCK_KEY)
      const now = this.clock.now()
      const activatesAt = new Date(now.getTime() + activateInSeconds * 1000)
      const retiresAt = new Date(activatesAt.getTime() + (this.tokenTtlSeconds + SKEW_SECONDS) * 1000)
      await tx.signingKey.updateMany({
        where: { OR: [{ retiresAt: null }, { retiresAt: { gt: retiresAt } }] },
        data: { retiresAt },
      })
      const kid = await this.insertKey(tx, activatesAt, actor)
      await this.audit.write(
        {
          type: 'signing_key.rotated',
          actor,
          detail: { kid, activatesAt: activatesAt.toISOString(), previousRetireAt: retiresAt.toISOString() },
        },
        tx,
      )
      return kid
    })
    this.log.info({ event: SECURITY_EVENTS.signingKeyRotated, kid, actor, activateInSeconds }, 'signing key rotated')
    await this.reload()
    return this.list().find((k) => k.kid === kid)!
  }

  private async insertKey(tx: Tx, activatesAt: Date, actor: string): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(publicJwk)
    const pem = await exportPKCS8(privateKey)
    await tx.signingKey.create({
      data: {
        kid,
        alg: SIGNING_ALG,
        publicJwk: { ...pickPublic(publicJwk), kid, alg: SIGNING_ALG, use: 'sig' },
        privateKey: this.keyring.seal(pem, fieldContext('signing_keys', kid, 'private_key')),
        createdAt: this.clock.now(),
        activatesAt,
      },
    })
    await notifyChange(tx, { topic: 'signing_key', id: kid })
    this.log.info({ event: SECURITY_EVENTS.signingKeyCreated, kid, actor, activatesAt }, 'signing key created')
    return kid
  }

  /** The newest key whose activation time has come. */
  current(): LoadedKey {
    const now = this.clock.now()
    const usable = this.keys.filter((k) => k.activatesAt <= now && (!k.retiresAt || k.retiresAt > now))
    const key = usable[usable.length - 1]
    if (!key?.privateKey) throw new Error('no signing key is active')
    return key
  }

  /** A published key by id, for verification; undefined when unknown or retired. */
  publicKey(kid: string): CryptoKey | undefined {
    const now = this.clock.now()
    const key = this.keys.find((k) => k.kid === kid)
    return key && (!key.retiresAt || key.retiresAt > now) ? key.publicKey : undefined
  }

  jwks(): { keys: JWK[] } {
    const now = this.clock.now()
    return {
      keys: this.keys
        .filter((k) => !k.retiresAt || k.retiresAt > now)
        .map((k) => ({ ...pickPublic(k.publicJwk), kid: k.kid, alg: k.alg, use: 'sig' })),
    }
  }

  list(): SigningKeyInfo[] {
    const now = this.clock.now()
    const current = this.keys.filter((k) => k.activatesAt <= now).at(-1)
    return this.keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      status:
        k.retiresAt && k.retiresAt <= now
          ? 'retired'
          : k.activatesAt > now
            ? 'pending'
            : k === current
              ? 'active'
              : 'retiring',
      createdAt: k.createdAt.toISOString(),
      activatesAt: k.activatesAt.toISOString(),
      retiresAt: k.retiresAt?.toISOString() ?? null,
    }))
  }
}

export function isActivationDelay(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= MIN_ACTIVATION_DELAY_SECONDS && seconds <= MAX_ACTIVATION_DELAY_SECONDS
}

function pickPublic(jwk: JWK): JWK {
  const out: Record<string, unknown> = {}
  for (const member of PUBLIC_JWK_MEMBERS) if (jwk[member] !== undefined) out[member] = jwk[member]
  return out as JWK
}
