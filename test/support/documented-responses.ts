// "Documented" and "served" agree both ways. Each test broker records the (method, route,
// status) of every response it serves into a folder that global-setup provides (test files
// run in forked processes); after a complete run, global-setup's teardown fails the run when
// openapi.yaml documents a response that no test produced, unless it is allowed below.
// (The other half, a status served but not documented, fails in test/support/broker.ts.)
import { appendFileSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
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
