// Signing-key rotation: the new key is published before it signs, the old key stays in
// the JWKS (and keeps verifying) for at least one token lifetime after the switch, and
// is refused once retired. Time is moved with the broker's injectable clock, to instants
// relative to the key's own activatesAt/retiresAt, so slow machines do not shift them. The
// old key's private half is read back from the database (as the broker does, through the
// keyring), so the test can sign with it, after retirement, a token that has not expired.
import { randomUUID } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, importPKCS8, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fieldContext, Keyring, parseEncryptionKeys } from '../../src/store/encryption.js'
import { BOOTSTRAP_ID, ENCRYPTION_KEY, startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker
const TTL = 300

beforeAll(async () => {
  broker = await startBroker({ env: { BROKER_TOKEN_TTL_SECONDS: String(TTL) } })
})
afterAll(async () => broker?.close())

type KeyInfo = { kid: string; status: string; activatesAt: string; retiresAt: string | null }

const kids = async () =>
  ((await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid)
const adminCall = (token: string) =>
  fetch(`${broker.url}/v1/signing-keys`, { headers: { authorization: `Bearer ${token}` } })
const at = (iso: string, seconds: number) => new Date(new Date(iso).getTime() + seconds * 1000)

/** A signer with the stored private key of `kid`, decrypted as the broker decrypts it. */
async function signerFor(kid: string) {
  const row = await broker.db.prisma.signingKey.findUniqueOrThrow({ where: { kid } })
  const pem = new Keyring(parseEncryptionKeys(ENCRYPTION_KEY)).openString(
    row.privateKey,
    fieldContext('signing_keys', kid, 'private_key'),
  )
  const privateKey = await importPKCS8(pem, row.alg)
  /** A token exactly like the broker's, issued now by the broker's clock, valid one full TTL. */
  return () => {
    const iat = Math.floor(broker.clock.now().getTime() / 1000)
    return new SignJWT({ client_id: BOOTSTRAP_ID, scope: 'clients:admin', jti: randomUUID() })
      .setProtectedHeader({ alg: row.alg, typ: 'at+jwt', kid })
      .setIssuer(broker.url)
      .setAudience(broker.url)
      .setSubject(BOOTSTRAP_ID)
      .setIssuedAt(iat)
      .setExpirationTime(iat + TTL)
      .sign(privateKey)
  }
}

describe('signing key rotation', () => {
  it(
    'publishes first, signs after the activation delay, ' + 'keeps the old key one token lifetime, then refuses it',
    async () => {
      const oldToken = await broker.token()
      const oldKid = decodeProtectedHeader(oldToken).kid!
      expect(await kids()).toEqual([oldKid])
      const signWithOldKey = await signerFor(oldKid)
      expect((await adminCall(await signWithOldKey())).status).toBe(200)

      const rotated = await fetch(`${broker.url}/v1/signing-keys/rotate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${oldToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ activateInSeconds: 120 }),
      })
      expect(rotated.status).toBe(201)
      const newKey = (await rotated.json()) as KeyInfo
      expect(newKey.status).toBe('pending')

      // Published at once, not yet signing.
      expect((await kids()).sort()).toEqual([oldKid, newKey.kid].sort())
      expect(decodeProtectedHeader(await broker.token()).kid).toBe(oldKid)

      // After activation: new tokens use the new key; the old token still works (overlap).
      broker.clock.set(at(newKey.activatesAt, 1))
      const newToken = await broker.token()
      expect(decodeProtectedHeader(newToken).kid).toBe(newKey.kid)
      expect((await kids()).sort()).toEqual([oldKid, newKey.kid].sort())
      const listed = (await (await adminCall(newToken)).json()) as { items: KeyInfo[] }
      const oldKey = listed.items.find((k) => k.kid === oldKid)!
      expect(oldKey.status).toBe('retiring')
      expect(listed.items.find((k) => k.kid === newKey.kid)!.status).toBe('active')
      // Retirement leaves one full token lifetime (plus skew) after the switch.
      expect(new Date(oldKey.retiresAt!).getTime()).toBeGreaterThanOrEqual(at(newKey.activatesAt, TTL).getTime())
      // During the overlap the old key still verifies whatever it signs.
      expect((await adminCall(await signWithOldKey())).status).toBe(200)

      // A token signed by the old key just before the switch, near the end of its life.
      broker.clock.set(at(newKey.activatesAt, -2))
      const lastOldToken = await broker.token()
      expect(decodeProtectedHeader(lastOldToken).kid).toBe(oldKid)
      broker.clock.set(new Date((decodeJwt(lastOldToken).exp! - 10) * 1000))
      expect((await adminCall(lastOldToken)).status).toBe(200)

      // Past the old key's retiresAt: it is gone from the JWKS and verifies nothing.
      broker.clock.set(at(oldKey.retiresAt!, 1))
      await broker.app.services.keys.reload()
      expect(await kids()).toEqual([newKey.kid])
      const refusedExpired = await adminCall(lastOldToken)
      expect(refusedExpired.status).toBe(401)
      // Refused because the key is retired, not because the token expired: this one is
      // signed by the old key now and valid for a full TTL.
      const refusedForged = await adminCall(await signWithOldKey())
      expect(refusedForged.status).toBe(401)
      expect(((await refusedForged.json()) as { code: string }).code).toBe('unauthorized')
      expect(refusedForged.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/)
      expect((await adminCall(await broker.token())).status).toBe(200)
    },
  )

  it(
    'refuses an activation delay shorter than the JWKS cache ' +
      'lifetime (60 s): verifiers would not know the key yet',
    async () => {
      const rotate = async (activateInSeconds: number) =>
        fetch(`${broker.url}/v1/signing-keys/rotate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await broker.token()}`, 'content-type': 'application/json' },
          body: JSON.stringify({ activateInSeconds }),
        })
      const before = await kids()
      for (const activateInSeconds of [0, 1, 59]) {
        const res = await rotate(activateInSeconds)
        expect(res.status).toBe(400)
        const body = (await res.json()) as { code: string; detail: string }
        expect(body.code).toBe('invalid_request')
        expect(body.detail).toContain('activateInSeconds')
      }
      expect(await kids()).toEqual(before)
      const accepted = await rotate(60)
      expect(accepted.status).toBe(201)
      const key = (await accepted.json()) as KeyInfo
      expect(key.status).toBe('pending')
      expect(await kids()).toContain(key.kid)
    },
  )
})
