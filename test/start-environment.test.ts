// `npm start` (node dist/main.js) in a broken environment, as separate processes: each
// case ends with one paragraph naming the cause and the fix, exit code 2, no stack trace,
// and leaves DATA_DIR as it was. And in a private folder (mode 700), where as root the
// embedded PostgreSQL's own user cannot enter, it still starts.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from './support/broker.js'
import { spawnBroker, type BrokerProcess } from './support/process.js'
import { registerEncryptionKeys } from './support/secrets.js'

const running: BrokerProcess[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tempDir(mode = 0o755): string {
  const d = mkdtempSync(join(tmpdir(), 'broker-env-'))
  chmodSync(d, mode)
  dirs.push(d)
  return d
}

async function start(cwd: string, env: Record<string, string> = {}, port?: number) {
  const p = spawnBroker({ env, cwd, port: port ?? (await freePort()) })
  running.push(p)
  return p
}

/** The process ended with exit code 2 and one paragraph (no stack trace); returns it. */
async function refusal(p: BrokerProcess): Promise<string> {
  expect(await p.exited).toBe(2)
  const paragraphs = p.output.filter((l) => l.startsWith('oauth-broker: '))
  expect(paragraphs, p.output.join('\n')).toHaveLength(1)
  expect(p.output.filter((l) => /^\s+at /.test(l) || /^\s*(Error|TypeError)\b/.test(l))).toEqual([])
  return paragraphs[0]!
}

const keyOf = (cwd: string) => readFileSync(join(cwd, '.data/encryption.key'), 'utf8')
const jwks = async (p: BrokerProcess) => (await fetch(`${p.url}/.well-known/jwks.json`)).json()

describe('a broken environment ends with one paragraph and exit code 2', () => {
  it('a DATA_DIR that cannot be created', async () => {
    const cwd = tempDir()
    writeFileSync(join(cwd, 'a-file'), 'not a folder\n')
    const message = await refusal(await start(cwd, { DATA_DIR: join(cwd, 'a-file', 'data') }))
    expect(message).toMatch(/DATA_DIR .*a-file\/data cannot be used \(ENOTDIR\).*Set DATA_DIR to a folder/)
    expect(readFileSync(join(cwd, 'a-file'), 'utf8')).toBe('not a folder\n')
  })

  it(
    'a second start on the same DATA_DIR, and a port ' + 'taken; the running broker and its data are untouched',
    async () => {
      const cwd = tempDir()
      const first = await start(cwd)
      await first.waitReady()
      registerEncryptionKeys(keyOf(cwd).trim())
      const keys = await jwks(first)
      const key = keyOf(cwd)

      const second = await refusal(await start(cwd))
      expect(second).toMatch(
        new RegExp(
          String.raw`embedded PostgreSQL in .*\.data/postgres is already running \(pid \d+\): ` +
            'another broker uses this DATA_DIR.*set DATA_DIR to another folder',
        ),
      )
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200)

      // Another folder, the first broker's port: said before a database is created there.
      const other = tempDir()
      const taken = await refusal(await start(other, {}, Number(new URL(first.url).port)))
      expect(taken).toMatch(
        /^oauth-broker: Cannot listen on port \d+ on 127\.0\.0\.1: another process uses it.*set PORT to a free port/,
      )
      expect(existsSync(join(other, '.data'))).toBe(false)

      expect(await first.stop()).toBe(0)
      const again = await start(cwd)
      await again.waitReady()
      expect(await jwks(again)).toEqual(keys)
      expect(keyOf(cwd)).toBe(key)
      expect(await again.stop()).toBe(0)
    },
  )

  it('a port another program holds: said at once, nothing created', async () => {
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as { port: number }).port
    try {
      const cwd = tempDir()
      const message = await refusal(await start(cwd, {}, port))
      expect(message).toContain(`Cannot listen on port ${port} on 127.0.0.1`)
      expect(existsSync(join(cwd, '.data'))).toBe(false)
    } finally {
      holder.close()
    }
  })

  it('a database of another PostgreSQL major version in DATA_DIR: says how to migrate, changes nothing', async () => {
    const cwd = tempDir()
    const cluster = join(cwd, '.data/postgres')
    mkdirSync(cluster, { recursive: true })
    writeFileSync(join(cluster, 'PG_VERSION'), '15\n')
    writeFileSync(join(cluster, 'base'), 'stands for the old data\n')
    const message = await refusal(await start(cwd))
    expect(message).toMatch(/holds a PostgreSQL 15 database, which this broker's embedded PostgreSQL 17 cannot open/)
    expect(message).toContain(`mv ${cluster} ${cluster}-pg15`)
    expect(message).toMatch(/dump it with the broker version that created it/)
    expect(readFileSync(join(cluster, 'PG_VERSION'), 'utf8')).toBe('15\n')
    expect(readFileSync(join(cluster, 'base'), 'utf8')).toBe('stands for the old data\n')
  })
})

describe('a private folder (mode 700)', () => {
  it('starts; as root, PostgreSQL keeps its data where its own user can reach it, and says so', async () => {
    const cwd = join(tempDir(0o700), 'project')
    mkdirSync(cwd)
    const p = await start(cwd)
    // The start-up time is measured by hand (README figures); the suite runs under load.
    await p.waitReady(30_000)
    registerEncryptionKeys(keyOf(cwd).trim())
    const link = join(cwd, '.data/postgres')
    const asRoot = process.getuid?.() === 0
    expect(lstatSync(link).isSymbolicLink()).toBe(asRoot)
    expect(p.output.some((l) => l.includes('running as root: PostgreSQL runs as the postgres user'))).toBe(asRoot)
    const cluster = realpathSync(link)
    if (asRoot) dirs.push(cluster)
    expect(cluster.startsWith('/var/lib/oauth-broker/')).toBe(asRoot)
    expect(await p.stop()).toBe(0)
    expect(existsSync(join(cluster, 'postmaster.pid'))).toBe(false)
  })
})
