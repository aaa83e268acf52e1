// Signing-key rotation: the new key is published before it signs, the old key stays in
// the JWKS (and keeps verifying) for at least one token lifetime after the switch, and
// is refused once retired. Time is moved with the broker's injectable clock.
import { decodeProtectedHeader, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'

let broker: TestBroker
const TTL = 300

beforeAll(async () => {
  broker = await startBroker({ env: { BROKER_TOKEN_TTL_SECONDS: String(TTL) } })
})
afterAll(async () => broker?.close())

const kids = async () => ((await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid)
const adminCall = (token: string) => fetch(`${broker.url}/v1/signing-keys`, { headers: { authorization: `Bearer ${token}` } })

describe('signing key rotation', () => {
  it('publishes first, signs after the activation delay, keeps the old key one token lifetime, then refuses it', async () => {
    const oldToken = await broker.token()
    const oldKid = decodeProtectedHeader(oldToken).kid!
    expect(await kids()).toEqual([oldKid])

    const rotated = await fetch(`${broker.url}/v1/signing-keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oldToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ activateInSeconds: 120 }),
    })
    expect(rotated.status).toBe(201)
    const newKey = (await rotated.json()) as { kid: string; status: string }
    expect(newKey.status).toBe('pending')

    // Published at once, not yet signing.
    expect((await kids()).sort()).toEqual([oldKid, newKey.kid].sort())
    expect(decodeProtectedHeader(await broker.token()).kid).toBe(oldKid)

    // After activation: new tokens use the new key; the old token still works (overlap).
    broker.clock.advance(121)
    const newToken = await broker.token()
    expect(decodeProtectedHeader(newToken).kid).toBe(newKey.kid)
    expect((await kids()).sort()).toEqual([oldKid, newKey.kid].sort())
    const listed = (await (await adminCall(newToken)).json()) as { items: Array<{ kid: string; status: string }> }
    expect(listed.items.find((k) => k.kid === oldKid)!.status).toBe('retiring')
    expect(listed.items.find((k) => k.kid === newKey.kid)!.status).toBe('active')

    // A token signed by the old key just before the switch, near the end of its life.
    broker.clock.advance(-2)
    const lastOldToken = await broker.token()
    expect(decodeProtectedHeader(lastOldToken).kid).toBe(oldKid)
    broker.clock.advance(2 + TTL - 10)
    expect((await adminCall(lastOldToken)).status).toBe(200)

    // Past one token lifetime plus skew after activation: the old key is gone.
    broker.clock.advance(10 + 61)
    await broker.app.services.keys.reload()
    expect(await kids()).toEqual([newKey.kid])
    const refusedForged = await adminCall(lastOldToken)
    expect(refusedForged.status).toBe(401)
    expect((await adminCall(await broker.token())).status).toBe(200)
  })
})
