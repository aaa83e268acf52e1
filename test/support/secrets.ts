// The writing side of the run-wide secrets check (test/support/secret-scan.ts): test
// processes register every secret value they use or that providers issue, and leave the
// places a leak would show (broker log lines, spawned processes' output, every row of each
// test database) in the folder global-setup provides. Outside a vitest run (the benchmark
// script imports the test servers) there is no folder and everything here does nothing.
//
// Register only values that must never be logged: tests that send hostile strings keep
// those to themselves. 8-character prefixes are registered for random values only.
import { appendFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import pg from 'pg'
import { expect, inject } from 'vitest'
import { fieldContext, Keyring, parseEncryptionKeys, type EncryptionKey } from '../../src/store/encryption.js'
import { FOLDERS, MIN_SECRET_LENGTH, REQUIREMENTS } from './secret-scan.js'
import { dumpTables } from './sql-dump.js'

const ROOT = new URL('../..', import.meta.url).pathname

let folder: string | null | undefined
/** The folder global-setup provides (ProvidedContext.secretsDir is declared there). */
function dir(): string | null {
  if (folder === undefined) {
    try {
      folder = inject('secretsDir') ?? null
    } catch {
      folder = null // not inside a vitest worker
    }
  }
  return folder
}

/** The running test file, as a file-name-safe tag (`test_connections_refresh.test.ts`). */
function testFileTag(): string {
  let path: string | undefined
  try {
    path = expect.getState().testPath
  } catch {
    path = undefined
  }
  return (path ? relative(ROOT, path) : 'unknown').replace(/[^A-Za-z0-9._-]/g, '_')
}

const registered = new Set<string>()
/** Encryption keys registered in this process: they open sealed values before a database is dropped. */
const knownKeys = new Map<string, EncryptionKey>()

/** Test files (tags) that registered a secret: only their databases are dumped. */
const filesWithSecrets = new Set<string>()

function write(kind: string, value: string): void {
  const d = dir()
  if (!d || value.length < MIN_SECRET_LENGTH) return
  filesWithSecrets.add(testFileTag())
  if (registered.has(`${kind}\0${value}`)) return
  registered.add(`${kind}\0${value}`)
  appendFileSync(
    join(d, FOLDERS.secrets, `${testFileTag()}.${process.pid}.jsonl`),
    `${JSON.stringify({ kind, value })}\n`,
  )
}

/**
 * A value that must never reach a log or a database dump in plaintext. `random` (default):
 * its 8-character prefix too; for a value with a fixed, non-random start, pass the length
 * of that start (the prefix is then taken after it) or false.
 */
export function registerSecret(
  kind: string,
  value: string | null | undefined,
  options: { random?: boolean | number } = {},
): void {
  if (typeof value !== 'string') return
  write(kind, value)
  const random = options.random ?? true
  const start = typeof random === 'number' ? random : 0
  const prefix = value.slice(start, start + MIN_SECRET_LENGTH)
  if (random !== false && value.length - start >= 2 * MIN_SECRET_LENGTH && mixesCharacterClasses(prefix))
    write(`${kind} (8-char prefix)`, value.slice(0, start + MIN_SECRET_LENGTH))
}

/**
 * Random base64 or hex text mixes letters of both cases or letters and digits; a prefix
 * that does not ("imported", "test-boo", "ssssssss") is a word or a pattern and would
 * match by chance. The rare random prefix without the mix is only not checked as a prefix.
 */
function mixesCharacterClasses(text: string): boolean {
  return [/[a-z]/, /[A-Z]/, /[0-9]/].filter((c) => c.test(text)).length >= 2
}

/** A JWT: in full, and its signature segment with its prefix (header and payload segments are not random). */
export function registerJwt(kind: string, jwt: string | null | undefined): void {
  if (typeof jwt !== 'string') return
  registerSecret(kind, jwt, { random: false })
  registerSecret(`${kind} signature`, jwt.split('.')[2])
}

/** Encryption keys (ENCRYPTION_KEY's value, or parsed): each as base64 and hex; remembered to open sealed values. */
export function registerEncryptionKeys(value: string | EncryptionKey[] | undefined): void {
  if (!value) return
  let keys: EncryptionKey[]
  try {
    keys = typeof value === 'string' ? parseEncryptionKeys(value) : value
  } catch {
    return // a deliberately broken key (configuration tests): nothing real to protect
  }
  for (const key of keys) {
    knownKeys.set(key.id, key)
    registerSecret('encryption key (base64)', key.key.toString('base64'))
    registerSecret('encryption key (base64url)', key.key.toString('base64url'))
    registerSecret('encryption key (hex)', key.key.toString('hex'))
  }
}

/** The secrets in a broker's environment: encryption keys, the bootstrap secret, the database password. */
export function registerEnvSecrets(env: Record<string, string | undefined>): void {
  registerEncryptionKeys(env.ENCRYPTION_KEY)
  registerSecret('bootstrap client secret', env.BOOTSTRAP_CLIENT_SECRET, { random: false })
  if (env.DATABASE_URL) {
    try {
      registerSecret('database password', decodeURIComponent(new URL(env.DATABASE_URL).password))
    } catch {
      // not a URL: nothing to take from it
    }
  }
}

/** The client secrets of a providers file; tests' fixed secrets (words, no capitals) get no prefix. */
export function registerProviderSecrets(providers: Record<string, unknown> | undefined): void {
  for (const entry of Object.values(providers ?? {})) {
    const secret = (entry as { clientSecret?: unknown } | null)?.clientSecret
    if (typeof secret === 'string')
      registerSecret('provider client secret', secret, {
        random: /[A-Z]/.test(secret) && /[a-z]/.test(secret) && /\d/.test(secret),
      })
  }
}

/** Appends log lines (a broker's, or a spawned process's output) for the teardown's scan. */
export function appendLogLines(lines: string[]): void {
  const d = dir()
  if (!d || !lines.length) return
  const text = lines.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('')
  appendFileSync(join(d, FOLDERS.logs, `${testFileTag()}.${process.pid}.log`), text)
}

/** This test file needs the teardown to see a dump with a pending connect attempt (sealed PKCE verifier). */
export function requirePendingVerifierDump(): void {
  const d = dir()
  if (d) appendFileSync(join(d, FOLDERS.required, REQUIREMENTS.pendingVerifierDump), `${testFileTag()}\n`)
}

/**
 * Before a test database is dropped: register the plaintexts of its sealed secrets that
 * no test sees otherwise (signing private keys, PKCE verifiers of pending attempts), opened
 * with the encryption keys registered in this process, then dump its rows into the folder.
 */
export async function dumpBeforeDrop(url: string, name: string): Promise<void> {
  const d = dir()
  // Only where secrets are handled: a test file that registered none has none to find.
  if (!d || !filesWithSecrets.has(testFileTag())) return
  await registerSealedSecrets(url)
  appendFileSync(join(d, FOLDERS.dumps, `${testFileTag()}.${name}.txt`), await dumpTables(url))
}

async function registerSealedSecrets(url: string): Promise<void> {
  if (!knownKeys.size) return
  const keyring = new Keyring([...knownKeys.values()])
  const open = (sealed: string, context: string) => {
    try {
      return keyring.openString(sealed, context)
    } catch {
      return undefined // tampered on purpose, or sealed with a key this process never saw
    }
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const tables = new Set(
      (await client.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`)).rows.map(
        (r) => r.t,
      ),
    )
    if (tables.has('signing_keys')) {
      for (const k of (
        await client.query<{ kid: string; private_key: string }>('SELECT kid, private_key FROM signing_keys')
      ).rows) {
        const pem = open(k.private_key, fieldContext('signing_keys', k.kid, 'private_key'))
        if (pem) registerSigningKey(pem)
      }
    }
    if (tables.has('connect_attempts')) {
      const rows = (
        await client.query<{ state_hash: string; code_verifier: string }>(
          'SELECT state_hash, code_verifier FROM connect_attempts WHERE code_verifier IS NOT NULL',
        )
      ).rows
      for (const a of rows)
        registerSecret(
          'PKCE verifier (pending attempt)',
          open(a.code_verifier, fieldContext('connect_attempts', a.state_hash, 'code_verifier')),
        )
    }
  } finally {
    await client.end()
  }
}

/** An Ed25519 PKCS#8 PEM: its base64 body, and the 32-byte seed in every encoding. */
export function registerSigningKey(pem: string): void {
  const body = pem.replace(/-----[A-Z ]+-----|\s/g, '')
  registerSecret('signing private key (PKCS#8 base64)', body, { random: false })
  const seed = Buffer.from(body, 'base64').subarray(-32)
  registerSecret('signing private key seed (base64)', seed.toString('base64'))
  registerSecret('signing private key seed (base64url)', seed.toString('base64url'))
  registerSecret('signing private key seed (hex)', seed.toString('hex'))
}

/** JSON payload fields a broker sends that are secrets: broker tokens, new client and webhook secrets. */
export function registerIssuedSecrets(payload: unknown): void {
  if (typeof payload !== 'string' || !/"(access_token|clientSecret|secret)"/.test(payload)) return
  let body: { access_token?: unknown; clientSecret?: unknown; secret?: unknown }
  try {
    body = JSON.parse(payload) as typeof body
  } catch {
    return
  }
  if (typeof body.access_token === 'string') registerJwt('broker token', body.access_token)
  if (typeof body.clientSecret === 'string') registerSecret('service client secret', body.clientSecret)
  if (typeof body.secret === 'string' && body.secret.startsWith('whsec_'))
    registerSecret('webhook endpoint secret', body.secret.slice('whsec_'.length))
}
