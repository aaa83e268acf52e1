// RFC 7523 private_key_jwt with WebCrypto: a short-lived JWT signed with the client's
// private key, `aud` = the broker's issuer identifier (nothing else, per the guidance on
// audience injection), a fresh `jti` each time.

// Types of the WebCrypto objects taken from `crypto.subtle` itself, so the client compiles
// against the DOM library or Node.js's types alike.
type CryptoKey =
  Awaited<ReturnType<typeof crypto.subtle.generateKey>> extends infer K
    ? K extends { privateKey: infer P }
      ? P
      : never
    : never

/** A private JWK (RFC 7517). */
export interface PrivateJwk {
  kty: string
  d?: string
  crv?: string
  alg?: string
  kid?: string
  [member: string]: unknown
}

export type PrivateKey = PrivateJwk | CryptoKey

interface Signer {
  alg: string
  key: CryptoKey
  params: { name: string; hash?: string; saltLength?: number }
  kid: string | undefined
}

const HASH_BITS: Record<string, number> = { 'SHA-256': 256, 'SHA-384': 384, 'SHA-512': 512 }
const CURVE_ALG: Record<string, { alg: string; hash: string }> = {
  'P-256': { alg: 'ES256', hash: 'SHA-256' },
  'P-384': { alg: 'ES384', hash: 'SHA-384' },
  'P-521': { alg: 'ES512', hash: 'SHA-512' },
}

/** Whether `key` looks like a private key this module can sign with (checked at construction). */
export function isPrivateKey(key: unknown): key is PrivateKey {
  if (isCryptoKey(key)) return key.type === 'private'
  const jwk = key as PrivateJwk | null
  return typeof jwk === 'object' && jwk !== null && typeof jwk.kty === 'string' && typeof jwk.d === 'string'
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return typeof key === 'object' && key !== null && 'algorithm' in key && 'usages' in key && 'type' in key
}

export async function signerFor(key: PrivateKey, keyId: string | undefined): Promise<Signer> {
  if (isCryptoKey(key)) return signerForCryptoKey(key, keyId)
  const jwk = key as PrivateJwk
  const kid = keyId ?? jwk.kid
  if (jwk.kty === 'EC') {
    const curve = CURVE_ALG[jwk.crv ?? '']
    if (!curve) throw new TypeError(`privateKey: unsupported EC curve ${jwk.crv}`)
    const cryptoKey = await crypto.subtle.importKey(
      'jwk',
      jwk as never,
      { name: 'ECDSA', namedCurve: jwk.crv! },
      false,
      ['sign'],
    )
    return { alg: curve.alg, key: cryptoKey, params: { name: 'ECDSA', hash: curve.hash }, kid }
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    const cryptoKey = await crypto.subtle.importKey('jwk', jwk as never, { name: 'Ed25519' }, false, ['sign'])
    return { alg: 'EdDSA', key: cryptoKey, params: { name: 'Ed25519' }, kid }
  }
  if (jwk.kty === 'RSA') {
    const alg = jwk.alg ?? 'RS256'
    const m = /^(RS|PS)(256|384|512)$/.exec(alg)
    if (!m) throw new TypeError(`privateKey: unsupported RSA alg ${alg}`)
    const name = m[1] === 'PS' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5'
    const hash = `SHA-${m[2]}`
    const cryptoKey = await crypto.subtle.importKey('jwk', { ...jwk, alg } as never, { name, hash }, false, ['sign'])
    const params = name === 'RSA-PSS' ? { name, saltLength: Number(m[2]) / 8 } : { name }
    return { alg, key: cryptoKey, params, kid }
  }
  throw new TypeError(`privateKey: unsupported key type ${jwk.kty}`)
}

function signerForCryptoKey(key: CryptoKey, kid: string | undefined): Signer {
  const algorithm = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string }
  const bits = HASH_BITS[algorithm.hash?.name ?? '']
  switch (algorithm.name) {
    case 'RSASSA-PKCS1-v1_5':
      if (bits) return { alg: `RS${bits}`, key, params: { name: algorithm.name }, kid }
      break
    case 'RSA-PSS':
      if (bits) return { alg: `PS${bits}`, key, params: { name: algorithm.name, saltLength: bits / 8 }, kid }
      break
    case 'ECDSA': {
      const curve = CURVE_ALG[algorithm.namedCurve ?? '']
      if (curve) return { alg: curve.alg, key, params: { name: 'ECDSA', hash: curve.hash }, kid }
      break
    }
    case 'Ed25519':
      return { alg: 'EdDSA', key, params: { name: 'Ed25519' }, kid }
  }
  throw new TypeError(`privateKey: unsupported CryptoKey algorithm ${algorithm.name}`)
}

const encoder = new TextEncoder()

export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A client assertion valid for 60 s. */
export async function clientAssertion(signer: Signer, clientId: string, audience: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const header = { alg: signer.alg, typ: 'JWT', ...(signer.kid ? { kid: signer.kid } : {}) }
  const payload = { iss: clientId, sub: clientId, aud: audience, iat: now, exp: now + 60, jti: crypto.randomUUID() }
  const input = `${base64url(encoder.encode(JSON.stringify(header)))}.${base64url(encoder.encode(JSON.stringify(payload)))}`
  const signature = await crypto.subtle.sign(signer.params, signer.key, encoder.encode(input))
  return `${input}.${base64url(new Uint8Array(signature))}`
}
