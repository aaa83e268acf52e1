// client/README.md's "ten lines" run as written against a real broker, through the
// package installed as the README says (npm pack -w client, npm install of the tarball,
// in a project outside this repository, offline: it has no dependency): a service vends
// a token and calls the provider's API with the headers, and, for a connection whose
// refresh the provider refuses, gets a connect URL to send its user to.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BOOTSTRAP_ID, BOOTSTRAP_SECRET, startBroker, type TestBroker } from '../support/broker.js'
import { type ScriptedProvider, startScriptedProvider } from './scripted-provider.js'

const ROOT = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('client/README.md', ROOT), 'utf8')
const snippet = /## Zero to a vended token in ten lines[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)![1]!

let broker: TestBroker
let provider: ScriptedProvider
let script: URL
let dir: string
let service: string

beforeAll(async () => {
  provider = await startScriptedProvider()
  broker = await startBroker({ providers: { acme: provider.entry } })
  // The package as a new service installs it: packed from the repository, installed from the tarball.
  dir = mkdtempSync(join(tmpdir(), 'client-readme-'))
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: 'pipe' })
  npm(['pack', '-w', 'client', '--pack-destination', dir], ROOT.pathname)
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!
  service = join(dir, 'service')
  mkdirSync(service)
  writeFileSync(join(service, 'package.json'), JSON.stringify({ name: 'service', private: true, type: 'module' }))
  npm(['install', '--offline', '--no-audit', '--no-fund', join(dir, tarball)], service)
  script = pathToFileURL(join(service, 'snippet.mjs'))
  // The test's provider stands in for Chatwork.
  const runnable = snippet
    .replace("'https://api.chatwork.com/v2/me'", `'${provider.url}/me'`)
    .replace("provider: 'chatwork'", "provider: 'acme'")
  writeFileSync(script, `const { CONNECTION_ID: connectionId, OWNER_ID: ownerId } = process.env\n${runnable}`)
})
afterAll(async () => {
  await broker?.close()
  await provider?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function imported(ownerId: string, refreshToken: string, expiresAt: Date): Promise<string> {
  const res = await fetch(`${broker.url}/v1/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await broker.token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      provider: 'acme',
      ownerId,
      credentials: { accessToken: `at-${ownerId}`, refreshToken, expiresAt: expiresAt.toISOString() },
    }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

/** Runs the snippet in its own process (the broker answers from this one meanwhile). */
async function run(connectionId: string, ownerId: string): Promise<string> {
  const env = {
    PATH: process.env.PATH,
    BROKER_URL: broker.url,
    BROKER_CLIENT_ID: BOOTSTRAP_ID,
    BROKER_CLIENT_SECRET: BOOTSTRAP_SECRET,
    CONNECTION_ID: connectionId,
    OWNER_ID: ownerId,
  }
  const { stdout } = await promisify(execFile)(process.execPath, [script.pathname], { env, timeout: 20_000 })
  return stdout
}

describe('client/README.md', () => {
  it('gets a service from zero to a vended token in ten lines', async () => {
    expect(snippet.trimEnd().split('\n').length).toBeLessThanOrEqual(10)
    const id = await imported('readme-user', 'live-readme', new Date(Date.now() + 3_600_000))
    const output = await run(id, 'readme-user')
    expect(output.trim()).toBe('200')
    expect(provider.apiCalls).toContain('Bearer at-readme-user')
  })

  it('handles reauthorization_required within the same ten lines', async () => {
    const id = await imported('readme-gone', 'dead-readme', new Date(Date.now() - 1000))
    const output = await run(id, 'readme-gone')
    expect(output.trim()).toMatch(new RegExp(`^Reconnect at ${broker.url}/connect/\\S+$`))
    expect(provider.refreshes.get('dead-readme')).toBe(1)
  })

  it('type-checks a TypeScript service against the installed package (strict, its own declarations)', () => {
    const source = [
      "import { BrokerClient, type ConnectSessionState, ReauthorizationRequiredError } from '@oauth-broker/client'",
      "import type { VendedToken } from '@oauth-broker/client'",
      "const broker = new BrokerClient({ url: 'https://broker.internal', clientId: 'billing', clientSecret: 's' })",
      'export async function headersFor(id: string): Promise<VendedToken["headers"] | string> {',
      '  try {',
      '    return (await broker.accessToken(id, { minValiditySeconds: 120 })).headers',
      '  } catch (error) {',
      '    if (error instanceof ReauthorizationRequiredError) return error.code',
      '    throw error',
      '  }',
      '}',
      "export const session: Promise<ConnectSessionState> = broker.connectSessions.get('cs_1')",
      '// @ts-expect-error a status the broker does not have',
      "export const wrong = broker.connections.list({ status: 'sleeping' })",
    ].join('\n')
    writeFileSync(join(service, 'check.ts'), source)
    const options = { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022' }
    const tsconfig = { compilerOptions: { ...options, lib: ['es2022', 'dom'], types: [] }, files: ['check.ts'] }
    writeFileSync(join(service, 'tsconfig.json'), JSON.stringify(tsconfig))
    const tsc = join(ROOT.pathname, 'node_modules/typescript/bin/tsc')
    const check = spawnSync(process.execPath, [tsc, '-p', join(service, 'tsconfig.json')], { encoding: 'utf8' })
    expect([check.status, check.stdout]).toEqual([0, ''])
  })
})
