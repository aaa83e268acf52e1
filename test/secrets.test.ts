// Nothing secret leaves through the logs, and nothing secret sits in plaintext in the
// database: a scenario exercises every route of the foundation while all log output is
// captured, then the logs and a pg_dump of the database are searched for each secret
// used, in full and by 8-character prefix.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fieldContext } from '../src/store/encryption.js'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, ENCRYPTION_KEY, startBroker, type TestBroker } from './support/broker.js'

const exec = promisify(execFile)
let broker: TestBroker
const secrets = new Map<string, string>()

function remember(name: string, value: string) {
  secrets.set(name, value)
  // Prefixes long enough to identify the value, taken where the value is random.
  if (value.length >= 16) secrets.set(`${name} (8-char prefix)`, value.slice(0, 8))
}

beforeAll(async () => {
  broker = await startBroker({ env: { LOG_LEVEL: 'trace' } })
  remember('bootstrap client secret', BOOTSTRAP_SECRET)
  remember('encryption key', ENCRYPTION_KEY)
  remember('encryption key (hex)', Buffer.from(ENCRYPTION_KEY, 'base64').toString('hex'))

  const basic = `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const tokenRes = await fetch(`${broker.url}/oauth/token`, { method: 'POST', headers: { ...form, authorization: basic }, body: 'grant_type=client_credentials' })
  const jwt = ((await tokenRes.json()) as { access_token: string }).access_token
  remember('broker token', jwt)
  remember('broker token signature', jwt.split('.')[2]!)
  const auth = { authorization: `Bearer ${jwt}` }

  // Failed attempts carry secrets too: wrong secrets, a malformed Basic header, a bad JWT.
  const wrongSecret = 'wrong-secret-value-that-must-not-be-logged-anywhere'
  remember('wrong client secret', wrongSecret)
  await fetch(`${broker.url}/oauth/token`, { method: 'POST', headers: form, body: `grant_type=client_credentials&client_id=${BOOTSTRAP_ID}&client_secret=${wrongSecret}` })
  await fetch(`${broker.url}/oauth/token`, { method: 'POST', headers: { ...form, authorization: `Basic ${Buffer.from(`x:${wrongSecret}`).toString('base64')}` }, body: 'grant_type=client_credentials' })
  await fetch(`${broker.url}/v1/service-clients`, { headers: { authorization: `Bearer ${jwt.slice(0, -4)}AAAA` } })

  const created = await fetch(`${broker.url}/v1/service-clients`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'svc', scopes: ['tokens:read'], allowedReturnUrls: ['https://app.example.com/back'] }),
  })
  const client = (await created.json()) as { clientId: string; clientSecret: string }
  remember('created client secret', client.clientSecret)
  const second = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
  })
  remember('second broker token signature', ((await second.json()) as { access_token: string }).access_token.split('.')[2]!)

  await fetch(`${broker.url}/v1/signing-keys/rotate`, { method: 'POST', headers: auth })
  await fetch(`${broker.url}/v1/signing-keys`, { headers: auth })
  await fetch(`${broker.url}/v1/audit-events`, { headers: auth })
  await fetch(`${broker.url}/v1/service-clients`, { headers: auth })
  await fetch(`${broker.url}/.well-known/jwks.json`)
  await fetch(`${broker.url}/metrics`)

  // Every signing private key, decrypted from the database.
  const keys = await broker.db.prisma.signingKey.findMany()
  expect(keys.length).toBe(2)
  for (const k of keys) {
    const pem = broker.app.services.keyring.openString(k.privateKey, fieldContext('signing_keys', k.kid, 'private_key'))
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')
    const seed = der.subarray(der.length - 32)
    remember(`private key ${k.kid} (seed, base64)`, seed.toString('base64'))
    remember(`private key ${k.kid} (seed, base64url)`, seed.toString('base64url'))
    remember(`private key ${k.kid} (seed, hex)`, seed.toString('hex'))
  }
  await broker.app.services.audit.flush()
})
afterAll(async () => broker?.close())

describe('secrets', () => {
  it('never appear in the logs (trace level, every line)', () => {
    const logs = broker.logs.join('')
    expect(broker.logs.length).toBeGreaterThan(20)
    const found = [...secrets].filter(([, value]) => logs.includes(value)).map(([name]) => name)
    expect(found).toEqual([])
  })

  it('never appear in plaintext in a pg_dump of the database, and no private key PEM at all', async () => {
    const { stdout: dump } = await exec('pg_dump', ['--no-owner', broker.databaseUrl], { maxBuffer: 64 * 1024 * 1024 }).catch((err: Error) => {
      throw new Error(`pg_dump is required for this test (Debian: apt-get install postgresql-client): ${err.message}`)
    })
    expect(dump).toContain('COPY public.signing_keys')
    expect(dump).not.toContain('PRIVATE KEY')
    const found = [...secrets].filter(([, value]) => dump.includes(value)).map(([name]) => name)
    expect(found).toEqual([])
  })
})
