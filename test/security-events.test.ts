// Security events (docs/security.md, checklist item 27; docs/decisions.md "Security events"): each attack
// or sensitive operation leaves one log line with a stable `event` field and the facts an
// operator needs (reason, kid, connection, table), and never a secret value: no state,
// code, token, cookie or key. The lines are parsed from the broker's captured JSON log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { reencryptAll } from '../src/store/reencrypt.js'
import { generateEncryptionKey, Keyring, parseEncryptionKeys } from '../src/store/encryption.js'
import { providerEntryFor, startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.js'
import { BOOTSTRAP_ID, ENCRYPTION_KEY, freePort, startBroker, type TestBroker } from './support/broker.js'
import { Browser } from './support/browser.js'
import { apiClient, connectUser, type Api } from './support/connect.js'
import { registerEncryptionKeys } from './support/secrets.js'
import type { Json } from './support/json.js'

let as: AuthorizationServer
let broker: TestBroker
let api: Api
let token: string
/** Values that must not appear in any security-event line (the run-wide check covers every line). */
const sensitive = new Set<string>()

type Line = Record<string, Json>

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    providers: { idp: providerEntryFor(as) },
    env: { RATE_LIMIT_BROWSER: '0', REFRESH_WINDOW_SECONDS: '0' },
  })
  token = await broker.token()
  sensitive.add(token)
  api = apiClient(broker, token)
})
afterAll(async () => {
  await broker?.close()
  await as?.close()
})

/** Runs `action` and returns the security-event lines the broker logged meanwhile. */
async function eventsDuring(action: () => Promise<unknown>): Promise<Line[]> {
  const from = broker.logs.length
  await action()
  return broker.logs
    .slice(from)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => typeof l.event === 'string')
}

/** A started attempt, as the user's browser holds it. */
async function attempt(): Promise<{ browser: Browser; authorizeUrl: string; state: string }> {
  const created = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'events-user',
    returnUrl: 'https://app.example.com/connected',
  })
  expect(created.status).toBe(201)
  const browser = new Browser()
  const start = await browser.get(created.body.connectUrl)
  expect(start.status).toBe(302)
  const authorizeUrl = start.headers.get('location')!
  const state = new URL(authorizeUrl).searchParams.get('state')!
  sensitive.add(state)
  for (const c of browser.cookies.values()) sensitive.add(c.value)
  return { browser, authorizeUrl, state }
}

async function authorized(a: { authorizeUrl: string }): Promise<URL> {
  const callback = await as.authorize(a.authorizeUrl)
  sensitive.add(callback.searchParams.get('code')!)
  return callback
}

const callbackUrl = (query: Record<string, string>) => `${broker.url}/oauth/callback/idp?${new URLSearchParams(query)}`
const errorOf = (res: Response) => new URL(res.headers.get('location') ?? 'http://x/').searchParams.get('error')

describe('security events', () => {
  it(
    'callback state refused: missing, forged, replayed, ' + 'expired, another browser (reason, never the state)',
    async () => {
      const missing = await eventsDuring(() => new Browser().get(callbackUrl({ code: 'c' })))
      expect(missing).toEqual([
        expect.objectContaining({ event: 'connect.state_refused', reason: 'missing', level: 40 }),
      ])

      const forged = await eventsDuring(() => new Browser().get(callbackUrl({ state: 'A'.repeat(43), code: 'c' })))
      expect(forged).toEqual([expect.objectContaining({ event: 'connect.state_refused', reason: 'unknown' })])

      const done = await attempt()
      const back = await authorized(done)
      expect(new URL((await done.browser.get(back)).headers.get('location')!).searchParams.get('status')).toBe(
        'connected',
      )
      const replayed = await eventsDuring(() => done.browser.get(back))
      expect(replayed).toEqual([
        expect.objectContaining({
          event: 'connect.state_refused',
          reason: 'replayed',
          sessionId: expect.stringMatching(/^cs_/),
        }),
      ])

      const late = await attempt()
      const lateBack = await authorized(late)
      broker.clock.advance(16 * 60)
      try {
        const expired = await eventsDuring(async () =>
          expect(errorOf(await late.browser.get(lateBack))).toBe('session_expired'),
        )
        expect(expired).toEqual([
          expect.objectContaining({ event: 'connect.state_refused', reason: 'expired', code: 'session_expired' }),
        ])
      } finally {
        broker.clock.offsetMs = 0
      }

      const victim = await attempt()
      const victimBack = await authorized(victim)
      const other = await eventsDuring(async () =>
        expect(errorOf(await new Browser().get(victimBack))).toBe('browser_mismatch'),
      )
      expect(other).toEqual([
        expect.objectContaining({
          event: 'connect.state_refused',
          reason: 'other_browser',
          code: 'browser_mismatch',
          provider: 'idp',
        }),
      ])
    },
  )

  it('iss mismatch: a different or a missing iss (whether it was there, not its value)', async () => {
    for (const [iss, present] of [
      ['https://evil.example', true],
      [undefined, false],
    ] as const) {
      const a = await attempt()
      const back = await authorized(a)
      if (iss) back.searchParams.set('iss', iss)
      else back.searchParams.delete('iss')
      const events = await eventsDuring(async () => expect(errorOf(await a.browser.get(back))).toBe('issuer_mismatch'))
      expect(events).toEqual([
        expect.objectContaining({ event: 'connect.issuer_mismatch', issPresent: present, code: 'issuer_mismatch' }),
      ])
      expect(JSON.stringify(events)).not.toContain('evil.example')
    }
  })

  it("code exchange failure: the attacker's code with the victim's state fails PKCE at the provider", async () => {
    const victim = await attempt()
    const attacker = await attempt()
    const attackerCode = (await authorized(attacker)).searchParams.get('code')!
    const victimBack = await authorized(victim)
    victimBack.searchParams.set('code', attackerCode)
    const events = await eventsDuring(async () =>
      expect(errorOf(await victim.browser.get(victimBack))).toBe('authorization_failed'),
    )
    expect(events).toEqual([
      expect.objectContaining({
        event: 'connect.code_exchange_failed',
        failure: 'grant',
        providerError: 'invalid_grant',
        level: 40,
      }),
    ])
    expect(as.tokenRequests.at(-1)!.params.code).toBe(attackerCode)
  })

  it('broker-token refusals in the /v1 hook: the reason and the kid, never the token', async () => {
    const call = (authorization?: string) =>
      fetch(`${broker.url}/v1/service-clients`, { headers: authorization ? { authorization } : {} })
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const flippedChar = signature[10] === 'A' ? 'B' : 'A'
    const flipped = `${header}.${payload}.${signature.slice(0, 10)}${flippedChar}${signature.slice(11)}`
    const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid as string
    const cases: Array<[string | undefined, Record<string, unknown>]> = [
      [undefined, { reason: 'no Authorization header' }],
      ['Bearer not-a-jwt', { reason: 'malformed token' }],
      [`Bearer ${flipped}`, { reason: 'signature verification failed', kid }],
    ]
    for (const [authorization, expected] of cases) {
      const events = await eventsDuring(async () => expect((await call(authorization)).status).toBe(401))
      expect(events).toEqual([expect.objectContaining({ event: 'broker_token.refused', level: 40, ...expected })])
      expect(JSON.stringify(events)).not.toContain(signature.slice(0, 8))
    }
    const narrow = await broker.token('tokens:read')
    sensitive.add(narrow)
    const scope = await eventsDuring(async () => expect((await call(`Bearer ${narrow}`)).status).toBe(403))
    expect(scope).toEqual([
      expect.objectContaining({
        event: 'broker_token.insufficient_scope',
        clientId: BOOTSTRAP_ID,
        scope: 'clients:admin',
      }),
    ])
  })

  it('client authentication failure at the token endpoint', async () => {
    const events = await eventsDuring(async () => {
      const res = await fetch(`${broker.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: BOOTSTRAP_ID,
          client_secret: 'a-wrong-secret-for-the-bootstrap-client',
        }),
      })
      expect(res.status).toBe(401)
    })
    expect(events).toEqual([expect.objectContaining({ event: 'client_authentication.failed', clientId: BOOTSTRAP_ID })])
  })

  it('revocation, and signing-key creation and rotation', async () => {
    const id = await connectUser(api, as, { provider: 'idp', ownerId: 'events-revoked' })
    const revoked = await eventsDuring(async () =>
      expect((await api('DELETE', `/v1/connections/${id}`)).status).toBe(204),
    )
    expect(revoked).toEqual([
      expect.objectContaining({
        event: 'connection.revoked',
        connectionId: id,
        revocation: { refresh: 'revoked', access: expect.any(String) },
        level: 30,
      }),
    ])

    const created = broker.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.event === 'signing_key.created')
    expect(created).toEqual([expect.objectContaining({ actor: 'system', kid: expect.any(String) })])
    let kid = ''
    const rotated = await eventsDuring(async () => {
      const res = await api('POST', '/v1/signing-keys/rotate', {})
      expect(res.status).toBe(201)
      kid = res.body.kid
    })
    expect(rotated).toEqual([
      expect.objectContaining({ event: 'signing_key.created', kid, actor: BOOTSTRAP_ID }),
      expect.objectContaining({
        event: 'signing_key.rotated',
        kid,
        actor: BOOTSTRAP_ID,
        activateInSeconds: expect.any(Number),
      }),
    ])
  })

  it('re-encryption under a new key: one line per table with the row count and the new key id', async () => {
    const newKey = `events:${generateEncryptionKey()}`
    registerEncryptionKeys(newKey)
    const keyring = new Keyring(parseEncryptionKeys(`${newKey},${ENCRYPTION_KEY}`))
    const count = async (table: string, column: string) =>
      (
        (await broker.db.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} IS NOT NULL`)).rows[0] as {
          n: number
        }
      ).n
    const before = {
      signing_keys: await count('signing_keys', 'private_key'),
      connections: await count('connections', 'access_token'),
    }
    expect(before.signing_keys).toBeGreaterThan(0)
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
    const { rows } = await reencryptAll(broker.db, keyring, log)
    expect(rows).toBeGreaterThan(0)
    const events = lines.map((l) => JSON.parse(l) as Line).filter((l) => l.event === 'encryption.reencrypted')
    expect(events.map((e) => [e.table, e.keyId])).toEqual([
      ['signing_keys', 'events'],
      ['connections', 'events'],
      ['connect_attempts', 'events'],
      ['pending_grants', 'events'],
      ['revocation_queue', 'events'],
      ['secret_hash_keys', 'events'],
      ['webhook_endpoints', 'events'],
    ])
    expect(events.find((e) => e.table === 'secret_hash_keys')!.rows).toBe(1)
    expect(events.find((e) => e.table === 'signing_keys')!.rows).toBe(before.signing_keys)
    expect(events.find((e) => e.table === 'connections')!.rows).toBe(before.connections)
    expect(lines.join('')).not.toContain(newKey.split(':')[1])
  })

  it('no security-event line carries a state, code, cookie or token', () => {
    const lines = broker.logs.filter((l) => l.includes('"event"'))
    expect(lines.length).toBeGreaterThan(10)
    expect([...sensitive].filter((v) => lines.some((l) => l.includes(v)))).toEqual([])
  })
})
