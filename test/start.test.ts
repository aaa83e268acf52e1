// The start command as ops and developers run it: `node dist/main.js` (what `npm start`
// and the Docker image run), as separate processes.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, ENCRYPTION_KEY, freePort } from './support/broker.js'
import { createDatabase } from './support/db.js'
import { ROOT, spawnBroker, type BrokerProcess } from './support/process.js'
import { registerEncryptionKeys, registerIssuedSecrets, registerJwt } from './support/secrets.js'
import type { Json } from './support/json.js'

const exec = promisify(execFile)
const running: BrokerProcess[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'broker-start-'))
  chmodSync(d, 0o755)
  dirs.push(d)
  return d
}

async function start(env: Record<string, string>, cwd?: string) {
  const p = spawnBroker({ env, cwd, port: await freePort() })
  running.push(p)
  return p
}

async function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await exec(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], {
    cwd,
    env: { PATH: process.env.PATH!, ...env },
  })
  registerIssuedSecrets(stdout)
  return JSON.parse(stdout) as Record<string, Json>
}

describe('npm start with no configuration (embedded PostgreSQL)', () => {
  it(
    'is ready within 10 s, stops cleanly on SIGTERM, and ' + 'a second start keeps signing keys and service clients',
    async () => {
      const cwd = tempDir()
      const first = await start({}, cwd)
      const readyMs = await first.waitReady(10_000)
      expect(readyMs).toBeLessThan(10_000)
      const jwks1 = await (await fetch(`${first.url}/.well-known/jwks.json`)).json()
      // The ops tool uses the running broker's embedded database.
      const created = await cli(cwd, ['clients', 'create', '--name', 'kept', '--scopes', 'clients:admin'])
      expect(created.clientSecret).toBeTruthy()
      expect(first.output.join('\n')).toContain('generated a development key')
      registerEncryptionKeys(readFileSync(join(cwd, '.data/encryption.key'), 'utf8').trim())

      // Requests in flight when SIGTERM arrives finish: each has sent its headers and half
      // its body before the signal, the rest after it.
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: created.clientId,
        client_secret: created.clientSecret,
      }).toString()
      const half = Math.floor(body.length / 2)
      const port = Number(new URL(first.url).port)
      const sockets = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const socket = connect(port, '127.0.0.1')
          await once(socket, 'connect')
          let response = ''
          socket.on('data', (d: Buffer) => (response += d.toString()))
          const ended = once(socket, 'close').then(() => response)
          socket.write(
            'POST /oauth/token HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ' +
              `application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
          )
          return { socket, ended }
        }),
      )
      await new Promise((r) => setTimeout(r, 300))
      first.proc.kill('SIGTERM')
      await new Promise((r) => setTimeout(r, 300))
      for (const { socket } of sockets) socket.write(body.slice(half))
      const responses = await Promise.all(sockets.map((s) => s.ended))
      expect(responses.map((r) => r.split('\r\n')[0])).toEqual(Array(4).fill('HTTP/1.1 200 OK'))
      expect(responses.every((r) => /\r\nconnection: close\r\n/i.test(r))).toBe(true)
      expect(await first.exited).toBe(0)
      expect(first.output.join('\n')).toContain('embedded PostgreSQL stopped')
      expect(existsSync(join(cwd, '.data/postgres/postmaster.pid'))).toBe(false)

      const second = await start({}, cwd)
      await second.waitReady(10_000)
      expect(await (await fetch(`${second.url}/.well-known/jwks.json`)).json()).toEqual(jwks1)
      const token = await fetch(`${second.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: created.clientId,
          client_secret: created.clientSecret,
        }),
      })
      expect(token.status).toBe(200)
      registerJwt('broker token', ((await token.json()) as { access_token: string }).access_token)
      expect(await second.stop()).toBe(0)
    },
  )
})

describe('SIGTERM during start-up', () => {
  /** Processes whose command line names `dir` (an embedded PostgreSQL on it, or its initdb). */
  function processesUsing(dir: string): string[] {
    const found: string[] = []
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
        if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline}`)
      } catch {
        // exited meanwhile
      }
    }
    return found
  }

  it('while the embedded database initialises: waits for it, stops it, exits 0', async () => {
    const cwd = tempDir()
    const p = await start({}, cwd)
    while (!p.output.some((l) => l.includes('initialising embedded PostgreSQL'))) {
      if (p.proc.exitCode !== null) throw new Error(`exited early:\n${p.output.join('\n')}`)
      await new Promise((r) => setTimeout(r, 10))
    }
    p.proc.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    const output = p.output.join('\n')
    expect(output).toContain('shutting down')
    expect(output).toContain('embedded PostgreSQL stopped')
    // Nothing was started after the signal.
    expect(output).not.toContain('migration applied')
    expect(output).not.toContain('oauth broker ready')
    expect(existsSync(join(cwd, '.data/postgres/postmaster.pid'))).toBe(false)
    expect(processesUsing(join(cwd, '.data'))).toEqual([])
  })
})

describe('external database', () => {
  const env = (url: string) => ({
    DATABASE_URL: url,
    PUBLIC_URL: 'https://broker.example.com',
    ENCRYPTION_KEY,
    BOOTSTRAP_CLIENT_ID: BOOTSTRAP_ID,
    BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP_SECRET,
    LOG_LEVEL: 'info',
  })

  it(
    'two processes started at once on one empty database ' + 'both come up; migrations and the first key happen once',
    async () => {
      const db = await createDatabase({ migrate: false })
      const [a, b] = await Promise.all([start(env(db.url)), start(env(db.url))])
      await Promise.all([a!.waitReady(), b!.waitReady()])
      const c = new pg.Client({ connectionString: db.url })
      await c.connect()
      const migrations = await c.query('SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1')
      const keys = await c.query('SELECT count(*)::int AS n FROM signing_keys')
      const clients = await c.query('SELECT count(*)::int AS n FROM service_clients')
      await c.end()
      expect(migrations.rows.every((r) => r.n === 1)).toBe(true)
      expect(keys.rows[0].n).toBe(1)
      expect(clients.rows[0].n).toBe(1)
      const applied = [...a!.output, ...b!.output].filter((l) => l.includes('migration applied'))
      expect(applied).toHaveLength(migrations.rows.length)
      // Both replicas serve the same keys, and a token from one is accepted by the other.
      expect(await (await fetch(`${a!.url}/.well-known/jwks.json`)).json()).toEqual(
        await (await fetch(`${b!.url}/.well-known/jwks.json`)).json(),
      )
      await Promise.all([a!.stop(), b!.stop()])
      await db.drop()
    },
  )

  it('a restart with a new bootstrap secret and return URLs updates the bootstrap client', async () => {
    const db = await createDatabase({ migrate: false })
    const tokenWith = (url: string, secret: string) =>
      fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: BOOTSTRAP_ID, client_secret: secret }),
      })
    const first = await start({ ...env(db.url), BOOTSTRAP_RETURN_URLS: 'https://old.example.com/done' })
    await first.waitReady()
    expect((await tokenWith(first.url, BOOTSTRAP_SECRET)).status).toBe(200)
    expect(await first.stop()).toBe(0)

    const newSecret = 'rotated-bootstrap-secret-0123456789-abcdefghij'
    const second = await start({
      ...env(db.url),
      BOOTSTRAP_CLIENT_SECRET: newSecret,
      BOOTSTRAP_RETURN_URLS: 'https://new.example.com/done,https://other.example.com/cb',
    })
    await second.waitReady()
    const old = await tokenWith(second.url, BOOTSTRAP_SECRET)
    expect([old.status, ((await old.json()) as { error: string }).error]).toEqual([401, 'invalid_client'])
    const fresh = await tokenWith(second.url, newSecret)
    expect(fresh.status).toBe(200)
    const { access_token } = (await fresh.json()) as { access_token: string }
    const list = await fetch(`${second.url}/v1/service-clients`, {
      headers: { authorization: `Bearer ${access_token}` },
    })
    const items = ((await list.json()) as { items: Array<{ clientId: string; allowedReturnUrls: string[] }> }).items
    expect(items.filter((c) => c.clientId === BOOTSTRAP_ID)).toEqual([
      expect.objectContaining({
        clientId: BOOTSTRAP_ID,
        allowedReturnUrls: ['https://new.example.com/done', 'https://other.example.com/cb'],
      }),
    ])
    expect(second.output.join('\n')).toContain('bootstrap service client updated')
    expect(second.output.join('\n')).not.toContain(newSecret)
    expect(await second.stop()).toBe(0)
    await db.drop()
  })

  it(
    'refuses to start without ENCRYPTION_KEY or PUBLIC_URL, or ' +
      'with a key that does not open the stored keys, saying why',
    async () => {
      const db = await createDatabase({ migrate: false })
      const { ENCRYPTION_KEY: _drop, PUBLIC_URL: _url, ...noKey } = env(db.url)
      const missing = await start(noKey)
      expect(await missing.exited).toBe(2)
      expect(missing.output.join('\n')).toContain('ENCRYPTION_KEY: required with an external database')
      expect(missing.output.join('\n')).toContain('PUBLIC_URL: required with an external database')

      const good = await start(env(db.url))
      await good.waitReady()
      await good.stop()
      const wrong = await start({ ...env(db.url), ENCRYPTION_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' })
      expect(await wrong.exited).toBe(1)
      expect(wrong.output.join('\n')).toMatch(/cannot decrypt (signing key|the client-secret hash key).*unknown key id/)
      await db.drop()
    },
  )
})
