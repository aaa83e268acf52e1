// Nothing secret leaves through the logs, and nothing secret sits in plaintext in the
// database: a scenario exercises every route of the foundation while all log output is
// captured, then the logs and every row of the database are searched for each secret
// used, in full and by 8-character prefix. Its secrets also go to the run-wide check
// (test/support/secret-scan.ts), whose scan is tested at the end of this file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fieldContext } from '../src/store/encryption.js'
import { providerEntryFor, startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.js'
import {
  BOOTSTRAP_ID,
  BOOTSTRAP_SECRET,
  ENCRYPTION_KEY,
  freePort,
  startBroker,
  type TestBroker,
} from './support/broker.js'
import { Browser } from './support/browser.js'
import { apiClient } from './support/connect.js'
import {
  ensureFolders,
  findSecrets,
  FOLDERS,
  formatReport,
  pendingVerifiersInDump,
  REQUIREMENTS,
  scanSecretsFolder,
} from './support/secret-scan.js'
import { registerSecret, requirePendingVerifierDump } from './support/secrets.js'
import { dumpTables, rowsOf } from './support/sql-dump.js'

let broker: TestBroker
let as: AuthorizationServer
const secrets = new Map<string, string>()

/** Values whose start is not random: the run-wide check takes no prefix of them. */
const NOT_RANDOM = new Set(['broker token', 'bootstrap client secret', 'wrong client secret'])

function remember(name: string, value: string) {
  secrets.set(name, value)
  // Prefixes long enough to identify the value, taken where the value is random.
  if (value.length >= 16) secrets.set(`${name} (8-char prefix)`, value.slice(0, 8))
  registerSecret(name, value, { random: !NOT_RANDOM.has(name) })
}

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    env: { LOG_LEVEL: 'trace', PROVIDER_TIMEOUT_MS: '1000', FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
    providers: {
      idp: providerEntryFor(as, { scopes: ['openid', 'offline_access'] }),
    },
  })
  remember('provider client secret', as.clientSecret)
  remember('bootstrap client secret', BOOTSTRAP_SECRET)
  remember('encryption key', ENCRYPTION_KEY)
  remember('encryption key (hex)', Buffer.from(ENCRYPTION_KEY, 'base64').toString('hex'))

  const basic = `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const tokenRes = await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: { ...form, authorization: basic },
    body: 'grant_type=client_credentials',
  })
  const jwt = ((await tokenRes.json()) as { access_token: string }).access_token
  remember('broker token', jwt)
  remember('broker token signature', jwt.split('.')[2]!)
  const auth = { authorization: `Bearer ${jwt}` }

  // Failed attempts carry secrets too: wrong secrets, a malformed Basic header, a bad JWT.
  const wrongSecret = 'wrong-secret-value-that-must-not-be-logged-anywhere'
  remember('wrong client secret', wrongSecret)
  await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: form,
    body: `grant_type=client_credentials&client_id=${BOOTSTRAP_ID}&client_secret=${wrongSecret}`,
  })
  await fetch(`${broker.url}/oauth/token`, {
    method: 'POST',
    headers: { ...form, authorization: `Basic ${Buffer.from(`x:${wrongSecret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  })
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
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
  })
  remember(
    'second broker token signature',
    ((await second.json()) as { access_token: string }).access_token.split('.')[2]!,
  )

  await fetch(`${broker.url}/v1/signing-keys/rotate`, { method: 'POST', headers: auth })
  await fetch(`${broker.url}/v1/signing-keys`, { headers: auth })
  await fetch(`${broker.url}/v1/audit-events`, { headers: auth })
  await fetch(`${broker.url}/v1/service-clients`, { headers: auth })
  await fetch(`${broker.url}/.well-known/jwks.json`)
  await fetch(`${broker.url}/metrics`)

  // The connect flow and the provider side: code, state, verifier, binding cookie, connect
  // URL, access and refresh tokens (several generations), a refused callback, a revocation.
  const api = apiClient(broker, jwt)
  const browser = new Browser()
  const session = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'secret-owner',
    returnUrl: 'https://app.example.com/connected',
  })
  remember('connect URL token', session.body.connectUrl.split('/').pop())
  const start = await browser.get(session.body.connectUrl)
  const authorize = new URL(start.headers.get('location')!)
  remember('state', authorize.searchParams.get('state')!)
  remember('code challenge', authorize.searchParams.get('code_challenge')!)
  for (const [, cookie] of browser.cookies) remember('browser binding cookie', cookie.value)
  const callback = await as.authorize(authorize.href)
  remember('authorization code', callback.searchParams.get('code')!)
  const done = await browser.get(callback)
  const connectionId = new URL(done.headers.get('location')!).searchParams.get('connection_id')!
  await new Browser().get(callback) // replayed: refused and logged
  const exchange = as.tokenRequests.find((r) => r.grantType === 'authorization_code')!
  remember('PKCE verifier', exchange.params.code_verifier!)
  for (let i = 0; i < 3; i++) {
    const vended = await api('POST', `/v1/connections/${connectionId}/access-token`, { forceRefresh: i > 0 })
    remember(`provider access token #${i}`, vended.body.accessToken)
  }
  as.fault('html')
  await api('POST', `/v1/connections/${connectionId}/access-token`, { forceRefresh: true })
  for (const r of as.tokenRequests.filter((t) => t.grantType === 'refresh_token'))
    remember('provider refresh token', r.params.refresh_token!)
  // The refresh token currently stored, decrypted.
  const stored = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
  remember('current refresh token', broker.app.services.connections.open(stored, 'refresh_token')!)
  const toRevoke = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'secret-owner-2',
    returnUrl: 'https://app.example.com/connected',
  })
  const b2 = new Browser()
  const cb2 = await as.authorize((await b2.get(toRevoke.body.connectUrl)).headers.get('location')!)
  const id2 = new URL((await b2.get(cb2)).headers.get('location')!).searchParams.get('connection_id')!
  remember('revoked access token', (await api('POST', `/v1/connections/${id2}/access-token`, {})).body.accessToken)
  await api('DELETE', `/v1/connections/${id2}`)

  // A connect attempt left pending: its PKCE verifier stays sealed in the database, so the
  // dumps (this file's and the run-wide check's) have a verifier to not find in plaintext.
  const pending = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'secret-owner-3',
    returnUrl: 'https://app.example.com/connected',
  })
  expect((await new Browser().get(pending.body.connectUrl)).status).toBe(302)
  const attempt = await broker.db.prisma.connectAttempt.findFirstOrThrow({ where: { sessionId: pending.body.id } })
  remember(
    'pending PKCE verifier',
    broker.app.services.keyring.openString(
      attempt.codeVerifier!,
      fieldContext('connect_attempts', attempt.stateHash, 'code_verifier'),
    ),
  )
  requirePendingVerifierDump()

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
afterAll(async () => {
  await broker?.close()
  await as?.close()
})

describe('secrets', () => {
  it('never appear in the logs (trace level, every line)', () => {
    const logs = broker.logs.join('')
    expect(broker.logs.length).toBeGreaterThan(20)
    const found = [...secrets].filter(([, value]) => logs.includes(value)).map(([name]) => name)
    expect(found).toEqual([])
  })

  it('never appear in plaintext in a dump of every table of the database, and no private key PEM at all', async () => {
    const dump = await dumpTables(broker.databaseUrl)
    expect(rowsOf(dump, 'public.signing_keys').length).toBeGreaterThan(0)
    expect(rowsOf(dump, 'public.connections').length).toBeGreaterThan(0)
    expect(dump).not.toContain('PRIVATE KEY')
    expect(pendingVerifiersInDump(dump)).toBe(1)
    const found = [...secrets].filter(([, value]) => dump.includes(value)).map(([name]) => name)
    expect(found).toEqual([])
  })
})

describe('the run-wide secrets check (global-setup teardown)', () => {
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-scan-test-'))
    ensureFolders(dir)
    return dir
  }
  const secretLine = (kind: string, value: string) => `${JSON.stringify({ kind, value })}\n`
  const dumpWithSession = (codeVerifier: string | null) =>
    `-- table public.connect_attempts\n${JSON.stringify({
      state_hash: 'abc',
      session_id: 'cs_1',
      code_verifier: codeVerifier,
      created_at: '2026-01-01',
    })}\n-- table public.connections\n`

  it(
    'finds a secret and an 8-character prefix in logs and dumps, ' + 'naming the kind and the file, never the value',
    () => {
      const dir = scratch()
      try {
        const value = 'Zq3u0m6yq0x8m8y0b2rY1gkq4c8a0Jg2W3sX4yE'
        writeFileSync(
          join(dir, FOLDERS.secrets, 'a.jsonl'),
          secretLine('provider refresh token', value) +
            secretLine('provider refresh token (8-char prefix)', value.slice(0, 8)) +
            secretLine('unused', 'never-written-anywhere-0123'),
        )
        writeFileSync(join(dir, FOLDERS.logs, 'clean.log'), '{"msg":"refreshed"}\n{"msg":"request completed"}\n')
        writeFileSync(
          join(dir, FOLDERS.logs, 'leaky.log'),
          `{"msg":"x"}\n{"msg":"oops","token":"${value.slice(0, 8)}…"}\n`,
        )
        writeFileSync(
          join(dir, FOLDERS.dumps, 'file.db.txt'),
          `-- table public.connections\n${JSON.stringify({ id: 'conn_1', refresh_token: value })}\n`,
        )
        const report = scanSecretsFolder(dir)
        expect(report).toMatchObject({ logFiles: 2, logLines: 4, dumps: 1, secrets: 3 })
        expect(report.found).toEqual(
          expect.arrayContaining([
            { kind: 'provider refresh token (8-char prefix)', file: 'logs/leaky.log' },
            { kind: 'provider refresh token', file: 'dumps/file.db.txt' },
            { kind: 'provider refresh token (8-char prefix)', file: 'dumps/file.db.txt' },
          ]),
        )
        expect(report.found).toHaveLength(3)
        const printed = formatReport(report)
        expect(printed).toContain('found 3')
        expect(printed).not.toContain(value.slice(0, 8))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )

  it('one pass over the text finds every secret wherever it starts (window hash against a plain search)', () => {
    const values = Array.from({ length: 50 }, (_, i) => `secret-${i}-${'abcdefghij'.slice(i % 10)}${i * 7919}`)
    const text = `head ${values.filter((_, i) => i % 3 === 0).join(' mid ')} tail ${values[49]}`
    const expected = values.filter((v) => text.includes(v)).sort()
    expect(expected.length).toBeGreaterThan(10)
    expect(findSecrets(text, new Map(values.map((v) => [v, ['k']]))).sort()).toEqual(expected)
    expect(findSecrets('short', new Map([['shortish-secret', ['k']]]))).toEqual([])
  })

  it('counts dumped pending attempts, and reports a requirement no dump met', () => {
    expect(pendingVerifiersInDump(dumpWithSession('v1.k1234abcd.bm9uY2U.Ym9keQ'))).toBe(1)
    expect(pendingVerifiersInDump(dumpWithSession(null))).toBe(0)
    const dir = scratch()
    try {
      writeFileSync(join(dir, FOLDERS.required, REQUIREMENTS.pendingVerifierDump), 'test_secrets.test.ts\n')
      writeFileSync(join(dir, FOLDERS.dumps, 'x.txt'), dumpWithSession(null))
      expect(scanSecretsFolder(dir).unmetRequirements).toEqual([
        expect.stringContaining('test_secrets.test.ts asked for a dumped database with a pending connect attempt'),
      ])
      writeFileSync(join(dir, FOLDERS.dumps, 'y.txt'), dumpWithSession('v1.k1234abcd.bm9uY2U.Ym9keQ'))
      expect(scanSecretsFolder(dir)).toMatchObject({ dumpsWithPendingVerifier: 1, unmetRequirements: [] })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
