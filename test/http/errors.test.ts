// The error-code registry (src/errors.ts: PROBLEMS, CONNECT_ERRORS) against what
// callers read: openapi.yaml names each problem code under its status, the README's table
// lists each with its status, every "<status> <code>" the README mentions agrees, and the
// README's list of connect-attempt errors is the registry's.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { CONNECT_ERRORS, PROBLEMS, type ProblemCode } from '../../src/errors.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const openapi = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>
}
const codes = Object.keys(PROBLEMS) as ProblemCode[]
/** Answered before any route matches (the not-found handler): no route can document them. */
const OUTSIDE_ROUTES: ProblemCode[] = ['method_not_allowed']

/** The codes each status's descriptions name, over every route of openapi.yaml. */
function codesInOpenApi(): Map<string, Set<string>> {
  const byStatus = new Map<string, Set<string>>()
  for (const methods of Object.values(openapi.paths)) {
    for (const op of Object.values(methods)) {
      for (const [status, response] of Object.entries(op.responses)) {
        const named = /\(code: ([a-z_, ]+)\)/.exec(response.description)?.[1]?.split(', ') ?? []
        for (const code of named) (byStatus.get(status) ?? byStatus.set(status, new Set()).get(status)!).add(code)
      }
    }
  }
  return byStatus
}

describe('error codes', () => {
  it('openapi.yaml names every problem code under its own status, and no other code', () => {
    const byStatus = codesInOpenApi()
    for (const code of codes) {
      if (OUTSIDE_ROUTES.includes(code)) continue
      expect([...(byStatus.get(String(PROBLEMS[code].status)) ?? [])], code).toContain(code)
    }
    for (const [status, named] of byStatus) {
      for (const code of named) expect(PROBLEMS[code as ProblemCode]?.status, `${code} under ${status}`).toBe(Number(status))
    }
  })

  it('the README table lists every code under its status, and nothing else', () => {
    const table = readme.slice(readme.indexOf('### Error codes'), readme.indexOf('\n## Providers'))
    const listed = new Map<string, number>()
    for (const [, status, cells] of table.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)) {
      for (const [, code] of cells!.matchAll(/`([a-z_]+)`/g)) listed.set(code!, Number(status))
    }
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(codes.map((c) => [c, PROBLEMS[c].status])))
  })

  it('every "<status> <code>" the README mentions has that status', () => {
    const mentions = [...readme.matchAll(/`(\d{3}) ([a-z_]+)`/g)]
    expect(mentions.length).toBeGreaterThan(3)
    for (const [text, status, code] of mentions) expect(PROBLEMS[code as ProblemCode]?.status, text).toBe(Number(status))
  })

  it('the README lists every connect-attempt error', () => {
    const section = readme.slice(readme.indexOf('Errors a connect attempt can end with'), readme.indexOf('\n## Docker compose'))
    const listed = new Set([...section.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]))
    for (const code of Object.keys(CONNECT_ERRORS)) expect([...listed], code).toContain(code)
  })
})
