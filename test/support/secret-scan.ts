// The run-wide secrets check: every test process writes what it must never leak (secret
// values) and where leaks would show (log lines, database dumps) into one folder that
// global-setup creates; global-setup's teardown scans every log and dump for every secret.
// This module is the folder's layout and the scan; test/support/secrets.ts is the writing
// side. It imports nothing from vitest: global-setup runs outside the test workers.
//
//   <dir>/secrets/<test file>.<pid>.jsonl   one {"kind","value"} per line
//   <dir>/logs/<test file>.<pid>.log        log lines of in-process brokers and spawned processes
//   <dir>/dumps/<test file>.<database>.txt  every row of a test database (sql-dump.ts), taken before its drop
//   <dir>/required/<name>                   a check a test file asked for (see `requirements`)
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { rowsOf } from './sql-dump.js'

export const FOLDERS = { secrets: 'secrets', logs: 'logs', dumps: 'dumps', required: 'required' } as const

/** Checks a test file can ask the teardown for (a file under required/). */
export const REQUIREMENTS = {
  /** At least one dump holds a pending connect attempt (a sealed PKCE verifier), so the dump check covers verifiers. */
  pendingVerifierDump: 'pending-verifier-dump',
} as const

/** Shorter values would match by chance; 8 characters is also the prefix length checked. */
export const MIN_SECRET_LENGTH = 8
const WINDOW = MIN_SECRET_LENGTH

export function ensureFolders(dir: string): void {
  for (const f of Object.values(FOLDERS)) mkdirSync(join(dir, f), { recursive: true })
}

export interface Finding {
  kind: string
  /** The log or dump file (relative to the folder) the value was found in. */
  file: string
}

export interface ScanReport {
  logFiles: number
  logLines: number
  dumps: number
  dumpsWithPendingVerifier: number
  secrets: number
  found: Finding[]
  unmetRequirements: string[]
  ms: number
}

/** Polynomial hash of text[i..i+WINDOW) over UTF-16 code units, as a 32-bit integer. */
const BASE = 257
const BASE_POW = (() => {
  let p = 1
  for (let i = 0; i < WINDOW - 1; i++) p = Math.imul(p, BASE)
  return p
})()

function windowHash(text: string, at: number): number {
  let h = 0
  for (let i = at; i < at + WINDOW; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0
  return h
}

/**
 * Which of `secrets` (value → kinds) occur in `text`. One pass over the text with a rolling
 * hash of 8-character windows, looked up among the secrets' first 8 characters: linear in
 * the text, whatever the number of secrets (an indexOf per secret would be text × secrets).
 */
export function findSecrets(text: string, secrets: Map<string, string[]>): string[] {
  const byHead = new Map<number, string[]>()
  for (const value of secrets.keys()) {
    if (value.length < WINDOW) continue
    const h = windowHash(value, 0)
    const list = byHead.get(h)
    if (list) list.push(value)
    else byHead.set(h, [value])
  }
  const found = new Set<string>()
  if (text.length < WINDOW || byHead.size === 0) return []
  let h = windowHash(text, 0)
  for (let i = 0; ; i++) {
    const candidates = byHead.get(h)
    if (candidates) for (const value of candidates) if (!found.has(value) && text.startsWith(value, i)) found.add(value)
    if (i + WINDOW >= text.length) break
    h = (Math.imul(h - Math.imul(text.charCodeAt(i), BASE_POW), BASE) + text.charCodeAt(i + WINDOW)) | 0
  }
  return [...found]
}

/** Rows of connect_attempts in a dump (sql-dump.ts) whose code_verifier (a sealed PKCE verifier) is set. */
export function pendingVerifiersInDump(dump: string): number {
  return rowsOf(dump, 'public.connect_attempts').filter(
    (r) => typeof r.code_verifier === 'string' && r.code_verifier.startsWith('v1.'),
  ).length
}

function readSecrets(dir: string): Map<string, string[]> {
  const secrets = new Map<string, string[]>()
  const folder = join(dir, FOLDERS.secrets)
  for (const file of existsSync(folder) ? readdirSync(folder) : []) {
    for (const line of readFileSync(join(folder, file), 'utf8').split('\n')) {
      if (!line) continue
      const { kind, value } = JSON.parse(line) as { kind: string; value: string }
      if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) continue
      const kinds = secrets.get(value)
      if (!kinds) secrets.set(value, [kind])
      else if (!kinds.includes(kind)) kinds.push(kind)
    }
  }
  return secrets
}

/** Scans every log and dump in `dir` for every registered secret. Never returns a secret value. */
export function scanSecretsFolder(dir: string): ScanReport {
  const started = Date.now()
  const secrets = readSecrets(dir)
  const report: ScanReport = {
    logFiles: 0,
    logLines: 0,
    dumps: 0,
    dumpsWithPendingVerifier: 0,
    secrets: secrets.size,
    found: [],
    unmetRequirements: [],
    ms: 0,
  }
  for (const folder of [FOLDERS.logs, FOLDERS.dumps]) {
    const path = join(dir, folder)
    for (const file of existsSync(path) ? readdirSync(path).sort() : []) {
      const text = readFileSync(join(path, file), 'utf8')
      if (folder === FOLDERS.logs) {
        report.logFiles++
        for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) report.logLines++
      } else {
        report.dumps++
        if (pendingVerifiersInDump(text) > 0) report.dumpsWithPendingVerifier++
      }
      for (const value of findSecrets(text, secrets)) {
        for (const kind of secrets.get(value)!) report.found.push({ kind, file: `${folder}/${file}` })
      }
    }
  }
  const required = join(dir, FOLDERS.required)
  for (const name of existsSync(required) ? readdirSync(required) : []) {
    if (name === REQUIREMENTS.pendingVerifierDump && report.dumpsWithPendingVerifier === 0) {
      report.unmetRequirements.push(
        `${readFileSync(join(required, name), 'utf8').trim()} asked for a dumped ` +
          'database with a pending connect attempt (sealed PKCE verifier); no dump had one',
      )
    }
  }
  report.ms = Date.now() - started
  return report
}

export function formatReport(r: ScanReport): string {
  const lines = [
    `[secrets] log lines scanned ${r.logLines} (${r.logFiles} files), database ` +
      `dumps scanned ${r.dumps} (${r.dumpsWithPendingVerifier} with a pending PKCE ` +
      `verifier), secrets checked ${r.secrets}, found ${r.found.length} (${r.ms} ms)`,
  ]
  for (const f of r.found) lines.push(`  FOUND ${f.kind} in ${f.file}`)
  for (const u of r.unmetRequirements) lines.push(`  UNMET ${u}`)
  return lines.join('\n')
}
