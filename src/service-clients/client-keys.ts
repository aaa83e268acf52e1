// The public keys a service client signs its client assertions with (RFC 7523
// private_key_jwt): a JWK Set checked here before it is stored. Public asymmetric keys
// only, few of them, each named by a unique `kid`, and `use`/`alg` coherent with the key.
// Only the public members are kept, so nothing else a tool exported is stored.
import { createPublicKey } from 'node:crypto'
import { problem } from '../errors.js'

/** Asymmetric signature algorithms a client assertion may use: never `none`, never HMAC. */
export const ASSERTION_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const

export const MAX_CLIENT_KEYS = 5

export interface ClientJwk {
  kty: 'RSA' | 'EC' | 'OKP'
  kid: string
  use?: 'sig'
  alg?: string
  key_ops?: ['verify']
  n?: string
  e?: string
  crv?: string
  x?: string
  y?: string
}

export interface ClientJwks {
  keys: ClientJwk[]
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv']
const PUBLIC_MEMBERS = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] } as const
const CURVES: Record<string, readonly string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519'] }
const KID = /^[\x21-\x7e]{1,128}$/

/** The key type and curve each algorithm needs. */
function algorithmFits(alg: string, kty: string, crv: string | undefined): boolean {
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return kty === 'RSA'
  const ec: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }
  if (ec[alg]) return kty === 'EC' && crv === ec[alg]
  if (alg === 'EdDSA' || alg === 'Ed25519') return kty === 'OKP' && crv === 'Ed25519'
  return false
}

const refuse = (detail: string) => problem('invalid_jwks', `jwks: ${detail}`)

/** Checks a JWK Set of public signature keys; returns it with only the public members. */
export function validateJwks(input: unknown): ClientJwks {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw refuse('must be a JWK Set: {"keys": [...]}')
  const extra = Object.keys(input).filter((k) => k !== 'keys')
  if (extra.length) throw refuse(`unexpected member ${JSON.stringify(extra[0])}; only "keys"`)
  const keys = (input as { keys?: unknown }).keys
  if (!Array.isArray(keys) || keys.length === 0) throw refuse('"keys" must be a non-empty array')
  if (keys.length > MAX_CLIENT_KEYS)
    throw refuse(`at most ${MAX_CLIENT_KEYS} keys (a current key and the next one are enough)`)
  const out = keys.map((key, i) => validateKey(key, i))
  const kids = out.map((k) => k.kid)
  const twice = kids.find((kid, i) => kids.indexOf(kid) !== i)
  if (twice !== undefined) throw refuse(`kid ${JSON.stringify(twice)} appears twice`)
  return { keys: out }
}

function validateKey(key: unknown, i: number): ClientJwk {
  const at = `keys[${i}]`
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw refuse(`${at} must be a JWK object`)
  const jwk = key as Record<string, unknown>
  const secret = PRIVATE_MEMBERS.find((m) => m in jwk)
  if (secret) throw refuse(`${at} holds the private member "${secret}": register public keys only`)
  if (jwk.kty === 'oct') throw refuse(`${at} is a symmetric key (kty "oct"): register an asymmetric public key`)
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') throw refuse(`${at}.kty must be RSA, EC or OKP`)
  if (typeof jwk.kid !== 'string' || !KID.test(jwk.kid))
    throw refuse(`${at}.kid is required: 1 to 128 printable characters`)
  const out: Record<string, unknown> = { kty: jwk.kty, kid: jwk.kid }
  for (const member of PUBLIC_MEMBERS[jwk.kty]) {
    if (typeof jwk[member] !== 'string') throw refuse(`${at}.${member} is required for kty ${jwk.kty}`)
    out[member] = jwk[member]
  }
  if (CURVES[jwk.kty] && !CURVES[jwk.kty]!.includes(jwk.crv as string))
    throw refuse(`${at}.crv must be one of ${CURVES[jwk.kty]!.join(', ')}`)
  if (jwk.use !== undefined && jwk.use !== 'sig') throw refuse(`${at}.use must be "sig"`)
  if (
    jwk.key_ops !== undefined &&
    !(Array.isArray(jwk.key_ops) && jwk.key_ops.length === 1 && jwk.key_ops[0] === 'verify')
  ) {
    throw refuse(`${at}.key_ops must be ["verify"]`)
  }
  if (jwk.alg !== undefined) {
    if (typeof jwk.alg !== 'string' || !(ASSERTION_ALGORITHMS as readonly string[]).includes(jwk.alg))
      throw refuse(`${at}.alg must be one of ${ASSERTION_ALGORITHMS.join(', ')}`)
    if (!algorithmFits(jwk.alg, jwk.kty, jwk.crv as string | undefined))
      throw refuse(`${at}.alg ${jwk.alg} does not fit a ${jwk.kty} key${jwk.crv ? ` on ${jwk.crv as string}` : ''}`)
  }
  for (const member of ['use', 'alg', 'key_ops'] as const) if (jwk[member] !== undefined) out[member] = jwk[member]
  checkKeyMaterial(out, at)
  return out as unknown as ClientJwk
}

/** The key must import as a public key; RSA keys need at least 2048 bits. */
function checkKeyMaterial(jwk: Record<string, unknown>, at: string): void {
  let details: { modulusLength?: number } | undefined
  try {
    details = createPublicKey({ key: jwk as never, format: 'jwk' }).asymmetricKeyDetails
  } catch {
    throw refuse(`${at} is not a valid ${jwk.kty as string} public key`)
  }
  if (jwk.kty === 'RSA' && (details?.modulusLength ?? 0) < 2048)
    throw refuse(`${at} is an RSA key shorter than 2048 bits`)
}
