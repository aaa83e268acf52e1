// The ops command line (`npm run cli -- ...`, i.e. `node dist/cli.js ...`) against a real
// database: clients, signing keys, and re-encryption under a new encryption key.
import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateEncryptionKey } from '../src/store/encryption.js'
import { ENCRYPTION_KEY } from './support/broker.js'
import { createDatabase } from './support/db.js'
import { ROOT } from './support/process.js'
import { appendLogLines, registerEnvSecrets, registerIssuedSecrets } from './support/secrets.js'

const exec = promisify(execFile)
let db: { url: string; drop(): Promise<void> }

beforeAll(async () => {
  db = await createDatabase({ migrate: false })
})
afterAll(async () => db?.drop())

/**
 * Runs the CLI; its stdout is its answer (a new client secret is printed there once), its stderr goes to the secrets
 * check.
 */
async function cli(args: string[], env: Record<string, string> = {}) {
  const fullEnv = { PATH: process.env.PATH!, DATABASE_URL: db.url, ENCRYPTION_KEY, ...env }
  registerEnvSecrets(fullEnv)
  let result: { code: number; stdout: string; stderr: string }
  try {
    result = { code: 0, ...(await exec(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], { env: fullEnv })) }
  } catch (err) {
    result = err as { code: number; stdout: string; stderr: string }
  }
  registerIssuedSecrets(result.stdout)
  appendLogLines(result.stderr.split('\n').filter(Boolean))
  return { code: result.code, out: result.stdout ? JSON.parse(result.stdout) : undefined, stderr: result.stderr }
}

async function query(sql: string) {
  const c = new pg.Client({ connectionString: db.url })
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}

describe('cli', () => {
  it('migrates, then creates, lists and deletes service clients; the secret is printed once', async () => {
    expect((await cli(['migrate'])).out).toEqual({ migrated: true })
    const created = await cli([
      'clients',
      'create',
      '--name',
      'billing',
      '--scopes',
      'tokens:read,connections:read',
      '--return-urls',
      'https://billing.example.com/done',
    ])
    expect(created.code).toBe(0)
    expect(created.out).toMatchObject({
      name: 'billing',
      scopes: ['tokens:read', 'connections:read'],
      allowedReturnUrls: ['https://billing.example.com/done'],
    })
    expect(created.out.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(created.stderr).toContain('shown once')
    const listed = await cli(['clients', 'list'])
    expect(listed.out.map((c: { clientId: string }) => c.clientId)).toContain(created.out.clientId)
    expect(JSON.stringify(listed.out)).not.toContain(created.out.clientSecret)
    expect((await cli(['clients', 'delete', created.out.clientId])).out).toEqual({ deleted: created.out.clientId })
    const again = await cli(['clients', 'delete', created.out.clientId])
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('service_client_not_found')])
  })

  it('creates a client in the namespaces given (default: "default"), and refuses a bad one', async () => {
    await cli(['migrate'])
    const plain = await cli(['clients', 'create', '--name', 'plain', '--scopes', 'tokens:read'])
    expect(plain.out.namespaces).toEqual(['default'])
    const team = await cli([
      'clients',
      'create',
      '--name',
      'team',
      '--scopes',
      'tokens:read',
      '--namespaces',
      'billing,support',
    ])
    expect(team.out.namespaces).toEqual(['billing', 'support'])
    const bad = await cli(['clients', 'create', '--name', 'x', '--scopes', 'tokens:read', '--namespaces', 'Billing'])
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining('namespaces')])
    for (const c of [plain, team]) await cli(['clients', 'delete', c.out.clientId])
  })

  it('refuses bad input with a usage message and exit code 2', async () => {
    const res = await cli(['clients', 'create', '--name', 'x'])
    expect(res.code).toBe(2)
    expect(res.stderr).toContain('needs --name and --scopes')
    const scopes = await cli(['clients', 'create', '--name', 'x', '--scopes', 'root'])
    expect([scopes.code, scopes.stderr]).toEqual([1, expect.stringContaining('invalid_scope')])
  })

  it('registers keys instead of a secret, replaces them, and rotates a secret with an overlap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-jwks-'))
    const jwk = (kid: string) => ({
      ...(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as object),
      kid,
    })
    writeFileSync(join(dir, 'one.json'), JSON.stringify({ keys: [jwk('one')] }))
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ keys: [jwk('two')] }))
    const privateKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
    writeFileSync(join(dir, 'private.json'), JSON.stringify({ keys: [{ ...privateKey, kid: 'p' }] }))
    writeFileSync(join(dir, 'garbage.json'), 'not json')

    const keyed = await cli([
      'clients',
      'create',
      '--name',
      'keyed',
      '--scopes',
      'tokens:read',
      '--jwks',
      join(dir, 'one.json'),
    ])
    expect(keyed.code).toBe(0)
    expect(keyed.out.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(['one'])
    expect(keyed.out).not.toHaveProperty('clientSecret')
    expect(keyed.stderr).not.toContain('shown once')
    const rotateKeyed = await cli(['clients', 'rotate-secret', keyed.out.clientId])
    expect([rotateKeyed.code, rotateKeyed.stderr]).toEqual([1, expect.stringContaining('no secret to rotate')])

    // A secret client moved to keys: its secret is gone.
    const secret = await cli(['clients', 'create', '--name', 'moving', '--scopes', 'tokens:read'])
    const moved = await cli(['clients', 'set-jwks', secret.out.clientId, join(dir, 'two.json')])
    expect(moved.code).toBe(0)
    expect(moved.out.jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(['two'])
    const [row] = await query(`SELECT secret_hash, jwks FROM service_clients WHERE id = '${secret.out.clientId}'`)
    expect(row.secret_hash).toBeNull()
    expect(row.jwks.keys[0].kid).toBe('two')

    const refused = await cli(['clients', 'set-jwks', keyed.out.clientId, join(dir, 'private.json')])
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('invalid_jwks')])
    const garbage = await cli(['clients', 'set-jwks', keyed.out.clientId, join(dir, 'garbage.json')])
    expect([garbage.code, garbage.stderr]).toEqual([2, expect.stringContaining('is not JSON')])

    const plain = await cli(['clients', 'create', '--name', 'plain', '--scopes', 'tokens:read'])
    const rotated = await cli(['clients', 'rotate-secret', plain.out.clientId, '--overlap', '120'])
    expect(rotated.code).toBe(0)
    expect(rotated.out.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(rotated.out.clientSecret).not.toBe(plain.out.clientSecret)
    expect(Date.parse(rotated.out.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(100_000)
    expect(rotated.stderr).toContain('shown once')
    const bad = await cli(['clients', 'rotate-secret', plain.out.clientId, '--overlap', '700000'])
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--overlap must be')])
  }, 120_000)

  it('rotates the signing key: published now, active after the delay', async () => {
    const before = await cli(['keys', 'list'])
    // Shorter than the JWKS cache lifetime: refused before anything is written.
    for (const delay of ['0', '59', 'soon']) {
      const refused = await cli(['keys', 'rotate', '--activate-in', delay])
      expect([refused.code, refused.stderr]).toEqual([
        2,
        expect.stringContaining('--activate-in must be 60..604800 seconds'),
      ])
    }
    expect((await cli(['keys', 'list'])).out).toEqual(before.out)
    const rotated = await cli(['keys', 'rotate', '--activate-in', '60'])
    expect(rotated.out.status).toBe('pending')
    const after = await cli(['keys', 'list'])
    expect(after.out).toHaveLength(before.out.length + 1)
    expect(after.out.filter((k: { status: string }) => k.status === 'active')).toHaveLength(1)
  }, 120_000)

  it('re-encrypts every stored secret under a new first key; then the old key can be dropped', async () => {
    const newKey = generateEncryptionKey()
    const rotatedEnv = { ENCRYPTION_KEY: `fresh:${newKey},${ENCRYPTION_KEY}` }
    const res = await cli(['encryption', 'reencrypt'], rotatedEnv)
    expect(res.code).toBe(0)
    expect(res.out.remainingUnderOlderKeys).toBe(0)
    expect(res.out.reencrypted).toBeGreaterThanOrEqual(2)
    const rows = await query('SELECT private_key FROM signing_keys')
    expect(rows.every((r: { private_key: string }) => r.private_key.startsWith('v1.fresh.'))).toBe(true)
    // Only the new key now: everything still decrypts.
    expect((await cli(['keys', 'list'], { ENCRYPTION_KEY: `fresh:${newKey}` })).code).toBe(0)
    // And the old key alone no longer opens anything.
    const old = await cli(['keys', 'list'])
    expect([old.code, old.stderr]).toEqual([1, expect.stringContaining('cannot decrypt signing key')])
  })
})
