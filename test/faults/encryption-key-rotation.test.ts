// Encryption-key rotation with online re-encryption, as ops would run it: the broker runs
// with key1 and holds connections; it restarts with ENCRYPTION_KEY=key2,key1; the ops
// command `node dist/cli.js encryption reencrypt` runs while callers vend tokens and force
// refreshes (which write new ciphertexts themselves); afterwards nothing is left under
// key1, and a broker with key2 alone serves every connection, whose refresh chain at the
// provider (Zendesk Chat replica, rotating refresh tokens) is intact.
// Also: the right key present but not first, after an unrelated key, still boots and serves.
// (Missing or wrong key at boot: test/start.test.ts.)
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEALED_COLUMNS } from '../../src/store/reencrypt.js'
import { DecryptionError, generateEncryptionKey } from '../../src/store/encryption.js'
import { startZendeskChatReplica, type ZendeskChatReplica } from '../replicas/zendesk-chat.js'
import { ENCRYPTION_KEY, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, connectUser } from '../support/connect.js'
import { createDatabase } from '../support/db.js'
import { histogram, openColumn, printFigures, sleep, sql, testKeyring, vend, type Outcome } from '../support/faults.js'
import { ROOT } from '../support/process.js'
import type { Json } from '../support/json.js'

const exec = promisify(execFile)
const KEY1 = ENCRYPTION_KEY
const KEY2 = generateEncryptionKey()
const UNRELATED = generateEncryptionKey()
const key1 = testKeyring(KEY1)
const key2 = testKeyring(KEY2)
const CONNECTIONS = 12
/** Connections the load force-refreshes; the others change only through the re-encryption. */
const FORCED = 4

let database: { url: string; drop(): Promise<void> }
let zendesk: ZendeskChatReplica
let providers: Record<string, unknown>
let broker: TestBroker | undefined
const ids: string[] = []

const figures: Record<string, number | string> = {
  tokensLost: 0,
  fiveXxOutsideFaultWindow: 0,
  rightKeyNotFirst_tokensServed: 0,
  sealedValuesUnderKey1Before: 0,
  sealedValuesUnderKey1After: 0,
  reencryptCliMs: 0,
  reencryptCliRows: 0,
  callsDuringReencryption: '',
  forcedRefreshesDuringReencryption: 0,
  key2Only_tokensServed: 0,
  key2Only_refreshesOk: 0,
  chainBreaks: 0,
  rollingRestart_replicaWithoutNewKey: '',
}
const calls: Outcome[] = []

beforeAll(async () => {
  database = await createDatabase()
  const port = await freePort()
  zendesk = await startZendeskChatReplica({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/zendesk-chat`] })
  providers = {
    'zendesk-chat': {
      clientId: zendesk.clientId,
      clientSecret: zendesk.clientSecret,
      authorizationUrl: zendesk.urls.authorizationUrl,
      tokenUrl: zendesk.urls.tokenUrl,
    },
  }
  broker = await start(KEY1, port)
})

afterAll(async () => {
  figures.fiveXxOutsideFaultWindow = calls.filter((o) => o.status >= 500 || o.status === 0).length
  printFigures('encryption-key rotation with re-encryption under load', figures)
  await broker?.close()
  await zendesk?.close()
  await database?.drop()
})

function start(keys: string, port?: number) {
  return startBroker({
    port,
    databaseUrl: database.url,
    providers,
    env: { ENCRYPTION_KEY: keys, REFRESH_WINDOW_SECONDS: '0', FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' },
  })
}

async function restart(keys: string) {
  await broker?.close()
  broker = undefined
  broker = await start(keys)
  return { b: broker, token: await broker.token() }
}

/** Sealed values (every sealed column of the schema) whose key id is `keyId`. */
async function sealedUnder(keyId: string): Promise<number> {
  let n = 0
  for (const spec of SEALED_COLUMNS) {
    for (const column of spec.columns) {
      const [r] = await sql(
        database.url,
        `SELECT count(*)::int AS n FROM ${spec.table} WHERE split_part(${column}, '.', 2) = $1`,
        [keyId],
      )
      n += r.n as number
    }
  }
  return n
}

async function storedTokens(id: string, keyring = key2) {
  const [r] = await sql(database.url, 'SELECT version, access_token, refresh_token FROM connections WHERE id = $1', [
    id,
  ])
  return {
    version: r.version as number,
    at: openColumn(keyring, id, 'access_token', r.access_token),
    rt: openColumn(keyring, id, 'refresh_token', r.refresh_token),
  }
}

describe('encryption-key rotation', () => {
  it('with key1: several users connected, each refreshed once', async () => {
    const api = apiClient(broker!, await broker!.token())
    for (let i = 0; i < CONNECTIONS; i++) {
      const id = await connectUser(api, zendesk, {
        provider: 'zendesk-chat',
        ownerId: `rotation-${i}`,
        params: { subdomain: 'acme' },
      })
      ids.push(id)
      expect((await api('POST', `/v1/connections/${id}/access-token`, { forceRefresh: true })).status).toBe(200)
    }
    figures.sealedValuesUnderKey1Before = await sealedUnder(key1.primaryId)
    // Both tokens of every connection, plus the signing key.
    expect(figures.sealedValuesUnderKey1Before).toBeGreaterThanOrEqual(CONNECTIONS * 2 + 1)
  })

  it('ENCRYPTION_KEY with the right key second, after an unrelated one: boots and serves every token', async () => {
    const { b, token } = await restart(`${UNRELATED},${KEY1}`)
    for (const id of ids) {
      const res = await vend(b.url, token, id)
      calls.push(res)
      expect(res.status).toBe(200)
      expect(res.body.accessToken).toBe((await storedTokens(id, key1)).at)
      figures.rightKeyNotFirst_tokensServed = (figures.rightKeyNotFirst_tokensServed as number) + 1
    }
    // Serving writes nothing under the unrelated key, so it can be dropped again safely.
    expect(await sealedUnder(testKeyring(UNRELATED).primaryId)).toBe(0)
  })

  it('restarted with key2,key1: re-encryption under load, every call 200, nothing left under key1', async () => {
    const { b, token } = await restart(`${KEY2},${KEY1}`)
    // Refreshes hold their row lock for a while, so the re-encryption meets them.
    zendesk.setLatency(100)
    let running = true
    const during: Outcome[] = []
    const loops = [
      ...Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; running; i++) {
          during.push(await vend(b.url, token, ids[(w + i) % ids.length]!))
          await sleep(5)
        }
      }),
      (async () => {
        for (let i = 0; running; i++)
          during.push(await vend(b.url, token, ids[i % FORCED]!, { forceRefresh: true }, 'forced refresh'))
      })(),
    ]
    await sleep(300)
    const started = Date.now()
    let cli: { code: number; out: Json; stderr: string }
    try {
      const { stdout, stderr } = await exec(process.execPath, [join(ROOT, 'dist/cli.js'), 'encryption', 'reencrypt'], {
        env: { PATH: process.env.PATH!, DATABASE_URL: database.url, ENCRYPTION_KEY: `${KEY2},${KEY1}` },
        timeout: 30_000,
      })
      cli = { code: 0, out: JSON.parse(stdout), stderr }
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string }
      cli = { code: e.code, out: e.stdout ? JSON.parse(e.stdout) : undefined, stderr: e.stderr }
    }
    const cliMs = Date.now() - started
    figures.reencryptCliMs = cliMs
    await sleep(300)
    running = false
    await Promise.all(loops)
    zendesk.setLatency(0)
    calls.push(...during)

    figures.callsDuringReencryption = histogram(during)
    figures.forcedRefreshesDuringReencryption = during.filter(
      (o) => o.kind === 'forced refresh' && o.start < started + cliMs && o.end > started,
    ).length
    figures.reencryptCliRows = cli.out?.reencrypted ?? -1
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.out).toMatchObject({ remainingUnderOlderKeys: 0, keyId: key2.primaryId })
    // At least the connections nobody refreshed, and the signing key.
    expect(cli.out.reencrypted).toBeGreaterThanOrEqual(CONNECTIONS - FORCED + 1)
    expect(during.length).toBeGreaterThan(50)
    expect(
      during.every((o) => o.status === 200),
      histogram(during),
    ).toBe(true)
    expect(figures.forcedRefreshesDuringReencryption).toBeGreaterThan(0)
    figures.sealedValuesUnderKey1After = await sealedUnder(key1.primaryId)
    expect(figures.sealedValuesUnderKey1After).toBe(0)
  }, 45_000)

  it('a broker with key2 only serves every connection, ' +
    'refreshes each, and the chain at the provider is intact', async () => {
    const { b, token } = await restart(KEY2)
    for (const id of ids) {
      const stored = await storedTokens(id)
      // key1 alone can no longer open the stored value: the rotation really happened.
      const [raw] = await sql(database.url, 'SELECT access_token FROM connections WHERE id = $1', [id])
      expect(() => openColumn(key1, id, 'access_token', raw.access_token)).toThrow(DecryptionError)

      const vended = await vend(b.url, token, id)
      calls.push(vended)
      expect([vended.status, vended.body?.accessToken]).toEqual([200, stored.at])
      expect(zendesk.isValid(vended.body.accessToken)).toBe(true)
      figures.key2Only_tokensServed = (figures.key2Only_tokensServed as number) + 1

      const refreshed = await vend(b.url, token, id, { forceRefresh: true })
      calls.push(refreshed)
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200)
      figures.key2Only_refreshesOk = (figures.key2Only_refreshesOk as number) + 1

      // The provider made exactly the refreshes the broker stored: version - 1 of them.
      const after = await storedTokens(id)
      const grant = zendesk.book.refresh.get(after.rt!)?.grantId
      const atProvider = zendesk.usedRefreshTokens.filter((t) => zendesk.book.refresh.get(t)?.grantId === grant).length
      if (atProvider !== after.version - 1) figures.chainBreaks = (figures.chainBreaks as number) + 1
      if (!('record' in zendesk.book.checkRefresh(after.rt!, zendesk.clientId)))
        figures.tokensLost = (figures.tokensLost as number) + 1
    }
    expect(new Set(zendesk.usedRefreshTokens).size).toBe(zendesk.usedRefreshTokens.length)
    expect(zendesk.rejections.map((r) => r.reason)).toEqual([])
    expect(figures.chainBreaks).toBe(0)
    expect(figures.tokensLost).toBe(0)
    expect(calls.filter((o) => o.status >= 500 || o.status === 0)).toEqual([])
  }, 30_000)

  it('the next rotation, rolled replica by replica: a replica ' +
    'that knows the new key reads what the rotated one wrote', async () => {
    const KEY3 = generateEncryptionKey()
    const old = broker! // still on key2 alone: the replica not restarted yet
    const oldToken = await old.token()
    // docs/operations.md step 2 on one replica: the new key first.
    const rotated = await start(`${KEY3},${KEY2}`)
    // docs/operations.md step 1, done first on every other replica: the new key second.
    const prepared = await start(`${KEY2},${KEY3}`)
    try {
      const id = ids[0]!
      const refreshed = await vend(rotated.url, await rotated.token(), id, { forceRefresh: true })
      calls.push(refreshed)
      expect(refreshed.status).toBe(200)
      await sleep(100) // the change notification evicts the row from the other replicas' caches
      const fromPrepared = await vend(prepared.url, await prepared.token(), id)
      calls.push(fromPrepared)
      expect([fromPrepared.status, fromPrepared.body?.accessToken]).toEqual([200, refreshed.body.accessToken])
      // Skipping step 1: a replica that does not know the new key fails closed, never serves garbage.
      const fromOld = await vend(old.url, oldToken, id)
      figures.rollingRestart_replicaWithoutNewKey = `${fromOld.status}${fromOld.code ? ` ${fromOld.code}` : ''}`
      expect([fromOld.status, fromOld.code, fromOld.body?.accessToken]).toEqual([500, 'secret_unreadable', undefined])
    } finally {
      await rotated.close()
      await prepared.close()
    }
  }, 30_000)
})
