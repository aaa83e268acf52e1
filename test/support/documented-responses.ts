// "Documented" and "served" agree both ways. Each test broker records the (method, route,
// status) of every response it serves into a folder that global-setup provides (test files
// run in forked processes); after a complete run, global-setup's teardown fails the run when
// openapi.yaml documents a response that no test produced, unless it is allowed below.
// (The other half, a status served but not documented, fails in test/support/broker.ts.)
// The tests are split in two commands (npm test, npm run test:slow): each complete green
// run records what it served, and the check takes both suites' records together.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/** `METHOD /openapi/{path} status`, e.g. `GET /v1/connections/{id} 404`. */
export type Response = string

/**
 * Documented responses no test can produce on demand, each with the reason. `*` matches any
 * method or path. Keep it short: a status a test can provoke belongs in a test instead.
 */
export const ALLOWED_UNSERVED: Array<[pattern: string, reason: string]> = []

export function responseKey(method: string, fastifyUrl: string, status: number): Response {
  return `${method} ${fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}')} ${status}`
}

/** Appends a response to this process's file (once per response and process). */
export function recorder(dir: string): (method: string, fastifyUrl: string, status: number) => void {
  const file = join(dir, `${process.pid}.txt`)
  const written = new Set<Response>()
  return (method, fastifyUrl, status) => {
    const key = responseKey(method, fastifyUrl, status)
    if (written.has(key)) return
    written.add(key)
    appendFileSync(file, `${key}\n`)
  }
}

export function readServed(dir: string): Set<Response> {
  const served = new Set<Response>()
  for (const name of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) if (line) served.add(line)
  }
  return served
}

export function documentedResponses(openapiYaml: string): Set<Response> {
  const doc = parse(openapiYaml) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }
  const out = new Set<Response>()
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      for (const status of Object.keys(op.responses)) out.add(`${method.toUpperCase()} ${path} ${status}`)
    }
  }
  return out
}

function allowed(response: Response, allow: typeof ALLOWED_UNSERVED): boolean {
  const [method, path, status] = response.split(' ')
  return allow.some(([pattern]) => {
    const [m, p, s] = pattern.split(' ')
    return (m === '*' || m === method) && (p === '*' || p === path) && s === status
  })
}

/** Documented responses that were never served and are not allowed to be missing. */
export function unserved(documented: Set<Response>, served: Set<Response>, allow = ALLOWED_UNSERVED): Response[] {
  return [...documented].filter((r) => !served.has(r) && !allowed(r, allow)).sort()
}

/** Allow-list entries that match nothing documented any more, or that a test now serves. */
export function staleAllowances(documented: Set<Response>, served: Set<Response>, allow = ALLOWED_UNSERVED): string[] {
  return allow
    .filter(([pattern]) => {
      const matches = [...documented].filter((r) => allowed(r, [[pattern, '']]))
      return matches.length === 0 || matches.every((r) => served.has(r))
    })
    .map(([pattern]) => pattern)
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const RECORDS = join(ROOT, 'node_modules', '.cache', 'served-responses')

/** Saves what a complete green run of `suite` served. */
export function recordSuite(suite: string, served: Set<Response>): void {
  mkdirSync(RECORDS, { recursive: true })
  writeFileSync(join(RECORDS, `${suite}.txt`), [...served].sort().join('\n'))
}

/**
 * What a complete green run of `suite` served, if recorded after the last change to the
 * code, the tests and openapi.yaml (an older record could hide a response no longer served).
 */
export function recordedSuite(suite: string): Set<Response> | undefined {
  const file = join(RECORDS, `${suite}.txt`)
  if (!existsSync(file) || statSync(file).mtimeMs < newestSource()) return undefined
  return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))
}

/** src/generated is rewritten by every build (prisma generate): it is not a change. */
const REGENERATED = join(ROOT, 'src', 'generated')

function newestSource(): number {
  const newest = (path: string): number => {
    if (path === REGENERATED) return 0
    const stat = statSync(path)
    if (!stat.isDirectory()) return stat.mtimeMs
    return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
  }
  return Math.max(...['src', 'test', 'openapi.yaml'].map((p) => newest(join(ROOT, p))))
}
