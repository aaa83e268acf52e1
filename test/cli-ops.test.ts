// The built ops command line (`node dist/cli.js`, the package's `oauth-broker` bin) as an
// admin uses it against a real database: find a user's connections, look at one, revoke
// one at its provider (after a confirmation), read the audit trail, check a configuration;
// help on stdout, usage errors as one line on stderr with exit 2, read-only commands that
// never migrate, and no token ever printed.
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENCRYPTION_KEY, startBroker, type TestBroker } from './support/broker.js'
import { apiClient, type Api } from './support/connect.js'
import { createDatabase } from './support/db.js'
import { providerEntryFor, startAuthorizationServer, type AuthorizationServer } from './support/authorization-server.js'
import { ROOT } from './support/process.js'
import { appendLogLines, registerEnvSecrets } from './support/secrets.js'

const exec = promisify(execFile)
const CLI = join(ROOT, 'dist/cli.js')
let as: AuthorizationServer
let broker: TestBroker
let api: Api
const TOKENS: string[] = []

interface Run {
  code: number
  stdout: string
  stderr: string
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  const full = {
    PATH: process.env.PATH!,
    DATABASE_URL: broker.databaseUrl,
    ENCRYPTION_KEY,
    PROVIDERS_FILE: broker.config.providersFile!,
    ...extra,
  }
  registerEnvSecrets(full)
  return full
}

async function cli(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  let result: Run
  try {
    result = { code: 0, ...(await exec(process.execPath, [CLI, ...args], { env: env(extra) })) }
  } catch (err) {
    result = err as Run
  }
  appendLogLines(result.stderr.split('\n').filter((l) => l.startsWith('{')))
  for (const token of TOKENS) expect(result.stdout + result.stderr).not.toContain(token)
  return result
}

/** Runs the CLI with `input` on its stdin (the confirmation prompt's answer). */
function cliWithInput(args: string[], input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: env() })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(input)
  })
}

async function imported(ownerId: string, n: number): Promise<string> {
  const accessToken = `at-cli-${ownerId}-${n}-${Math.random().toString(36).slice(2)}`
  const refreshToken = `rt-cli-${ownerId}-${n}-${Math.random().toString(36).slice(2)}`
  TOKENS.push(accessToken, refreshToken)
  const res = await api('POST', '/v1/connections', {
    provider: 'idp',
    ownerId,
    credentials: { accessToken, refreshToken },
  })
  expect(res.status).toBe(201)
  return res.body.id
}

beforeAll(async () => {
  as = await startAuthorizationServer({ redirectUris: ['http://127.0.0.1/unused'] })
  broker = await startBroker({ providers: { idp: providerEntryFor(as), other: providerEntryFor(as) } })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => {
  await broker?.close()
  await as?.close()
})

describe('cli: connections', () => {
  it('lists a user’s connections as a table or JSON, filtered, and shows one without its tokens', async () => {
    const [a1, a2, b1] = [await imported('alice', 1), await imported('alice', 2), await imported('bob', 1)]
    await broker.db.prisma.connection.update({ where: { id: a2 }, data: { status: 'reauthorization_required' } })
    const table = await cli(['connections', 'list', '--owner', 'alice'])
    expect(table.code).toBe(0)
    const lines = table.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID\s+PROVIDER\s+OWNER\s+NAMESPACE\s+STATUS\s+EXPIRES\s+LAST ERROR$/)
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual([a1, a2].sort())
    const json = await cli([
      'connections',
      'list',
      '--owner',
      'alice',
      '--status',
      'reauthorization_required',
      '--json',
    ])
    expect(JSON.parse(json.stdout).map((c: { id: string }) => c.id)).toEqual([a2])
    const none = await cli(['connections', 'list', '--provider', 'other'])
    expect([none.code, none.stdout]).toEqual([0, 'no connections match\n'])
    const shown = await cli(['connections', 'show', b1])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(new RegExp(`^id:\\s+${b1}$`, 'm'))
    expect(shown.stdout).toMatch(/^owner:\s+bob$/m)
    const shownJson = JSON.parse((await cli(['connections', 'show', b1, '--json'])).stdout)
    expect(shownJson).toMatchObject({ id: b1, provider: 'idp', ownerId: 'bob', status: 'active' })
    const missing = await cli(['connections', 'show', 'conn_nosuchconnection'])
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('connection_not_found')])
  }, 180_000)

  it('revokes at the provider after a yes, not after a no or no answer, and at once with --yes', async () => {
    const [keep, gone, scripted] = [await imported('carol', 1), await imported('carol', 2), await imported('carol', 3)]
    for (const answer of ['n\n', '']) {
      const declined = await cliWithInput(['connections', 'revoke', keep], answer)
      expect([declined.code, declined.stderr]).toEqual([1, expect.stringContaining('not revoked')])
      expect(declined.stderr).toContain(`Revoke ${keep} (provider idp, owner carol`)
    }
    expect((await broker.db.prisma.connection.findUnique({ where: { id: keep } }))?.status).toBe('active')
    const revocationPath = new URL(as.revocationUrl).pathname
    const before = as.requests.filter((r) => r.path === revocationPath).length
    const confirmed = await cliWithInput(['connections', 'revoke', gone], 'y\n')
    expect(confirmed.code).toBe(0)
    expect(confirmed.stdout).toBe(`revoked ${gone}: refresh token revoked, access token revoked\n`)
    const revocations = as.requests.filter((r) => r.path === revocationPath).slice(before)
    expect(revocations.map((r) => r.params.token_type_hint)).toEqual(['refresh_token', 'access_token'])
    const row = await broker.db.prisma.connection.findUnique({ where: { id: gone } })
    expect([row?.status, row?.accessToken, row?.refreshToken]).toEqual(['revoked', null, null])
    const yes = await cli(['connections', 'revoke', scripted, '--yes', '--json'])
    expect([yes.code, JSON.parse(yes.stdout).revoked]).toEqual([0, scripted])
    const again = await cli(['connections', 'revoke', gone, '--yes'])
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('connection_not_found')])
    // The audit trail shows who did it, by connection and by owner.
    const byConnection = await cli(['audit', '--connection', gone])
    expect(byConnection.stdout).toMatch(/^TIME\s+TYPE\s+ACTOR\s+CONNECTION\s+DETAIL$/m)
    expect(byConnection.stdout).toMatch(new RegExp(`connection\\.revoked\\s+cli\\s+${gone}`))
    const byOwner = JSON.parse((await cli(['audit', '--owner', 'carol', '--json'])).stdout) as Array<{
      type: string
      connectionId: string
    }>
    expect(new Set(byOwner.map((e) => e.connectionId))).toEqual(new Set([keep, gone, scripted]))
    expect(
      byOwner
        .filter((e) => e.type === 'connection.revoked')
        .map((e) => e.connectionId)
        .sort(),
    ).toEqual([gone, scripted].sort())
  }, 180_000)
})

describe('cli: usage', () => {
  it('prints help on stdout, the version, and refuses bad input with one line on stderr and exit 2', async () => {
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    for (const name of ['connections list', 'connections show', 'connections revoke', 'audit', 'config check'])
      expect(help.stdout).toContain(name)
    const commandHelp = await cli(['connections', 'list', '--help'])
    expect([commandHelp.code, commandHelp.stderr]).toEqual([0, ''])
    expect(commandHelp.stdout).toMatch(/^usage: oauth-broker connections list .*--owner <ownerId>/)
    const group = await cli(['connections', '--help'])
    expect(group.code).toBe(0)
    for (const action of ['list', 'show', 'revoke'])
      expect(group.stdout).toContain(`oauth-broker connections ${action}`)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect((await cli(['--version'])).stdout).toBe(`oauth-broker ${pkg.version}\n`)
    // The package's bin, as `npx oauth-broker` runs it (offline: never the registry's namesake).
    const npx = await exec('npx', ['--offline', 'oauth-broker', '--version'], { cwd: ROOT, env: env() })
    expect(npx.stdout).toBe(`oauth-broker ${pkg.version}\n`)
    for (const [args, message] of [
      [[], 'a command is needed'],
      [['frobnicate'], 'unknown command: frobnicate'],
      [['connections'], 'connections takes one of: list, show, revoke'],
      [['connections', 'delete', 'conn_1'], 'unknown command: connections delete'],
      [['connections', 'list', '--bogus'], 'unknown option --bogus'],
      [['connections', 'list', '--status', 'sleeping'], '--status must be one of'],
      [['connections', 'list', '--limit', '0'], '--limit must be'],
      [['connections', 'list', '--namespace', 'Billing'], 'not a namespace'],
      [['connections', 'show'], 'missing argument'],
      [['connections', 'show', 'conn_1', 'conn_2'], 'unexpected argument'],
      [['connections', 'show', '../etc/passwd'], 'not a connection id'],
      [['connections', 'revoke', 'a b', '--yes'], 'not a connection id'],
      [['audit'], 'needs one of --connection or --owner'],
      [['audit', '--connection', 'x', '--owner', 'y'], 'needs one of --connection or --owner'],
      [['clients', 'list', '--yes'], 'unknown option --yes'],
      [['clients', 'delete', '../x'], 'not a client id'],
      [['clients', 'rotate-secret', 'a b'], 'not a client id'],
      [['clients', 'set-jwks', 'x/y', 'keys.json'], 'not a client id'],
      [['webhooks', 'redeliver', 'evt 1'], 'not an event id'],
      [['webhooks', 'redeliver', 'msg_1', '--endpoint', 'a/b'], 'not an endpoint id'],
    ] as Array<[string[], string]>) {
      const res = await cli(args)
      expect([args, res.code, res.stdout]).toEqual([args, 2, ''])
      expect(res.stderr).toContain(message)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
    }
  }, 180_000)

  it('config check validates without starting anything: exit 0, or 2 with the problems', async () => {
    const ok = await cli(['config', 'check'], {
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      PUBLIC_URL: 'https://broker.example.com',
    })
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^configuration:\s+ok$/m)
    expect(ok.stdout).toMatch(/^providers:\s+idp, other$/m)
    expect(ok.stdout).not.toContain('nobody')
    const bad = await cli(['config', 'check'], { PROVIDERS_FILE: '/nonexistent/providers.yaml', PORT: 'x' })
    expect([bad.code, bad.stdout]).toEqual([2, ''])
    expect(bad.stderr).toContain('PORT')
    expect(bad.stderr).toContain('/nonexistent/providers.yaml')
  }, 180_000)
})

describe('cli: read-only commands', () => {
  it('never migrate: on an empty database they fail, and the schema stays untouched', async () => {
    const empty = await createDatabase({ migrate: false })
    try {
      for (const args of [
        ['connections', 'list'],
        ['audit', '--owner', 'alice'],
        ['clients', 'list'],
      ]) {
        const res = await cli(args, { DATABASE_URL: empty.url })
        expect([args, res.code]).toEqual([args, 1])
      }
      const pg = await import('pg')
      const client = new pg.default.Client({ connectionString: empty.url })
      await client.connect()
      try {
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)
        expect(rows[0].n).toBe(0)
      } finally {
        await client.end()
      }
    } finally {
      await empty.drop()
    }
  }, 180_000)
})
