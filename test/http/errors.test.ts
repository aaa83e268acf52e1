// The error-code registry (src/errors.ts: PROBLEMS, CONNECT_ERRORS) against what
// callers read: openapi.yaml names each problem code under its status, the README's table
// lists each with its status, every "<status> <code>" the README mentions agrees, and the
// README's list of connect-attempt errors is the registry's.
import { readdirSync, readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { CONNECT_ERRORS, PROBLEMS, type ProblemCode } from '../../src/errors.js'

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')
// The README links docs/integrating.md, which holds the table and the lists.
const guide = read('docs/integrating.md')
/** What callers and operators read (not the design records, nor the notes quoting providers' own errors). */
const USER_DOCS = [
  'README.md',
  ...readdirSync(new URL('../../docs', import.meta.url))
    .filter((f) => f.endsWith('.md') && !['decisions.md', 'providers.md', 'security.md'].includes(f))
    .map((f) => `docs/${f}`),
]
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
      for (const code of named)
        expect(PROBLEMS[code as ProblemCode]?.status, `${code} under ${status}`).toBe(Number(status))
    }
  })

  it("the integration guide's table lists every code under its status, and nothing else", () => {
    const table = section(guide, '## Error codes')
    const listed = new Map<string, number>()
    for (const [, status, cells] of table.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)) {
      for (const [, code] of cells!.matchAll(/`([a-z_]+)`/g)) listed.set(code!, Number(status))
    }
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(codes.map((c) => [c, PROBLEMS[c].status])))
  })

  it('every "<status> <code>" the README and the guides mention has that status', () => {
    const mentions = USER_DOCS.flatMap((file) =>
      [...read(file).matchAll(/`(\d{3}) ([a-z_]+)`/g)].map((m) => ({ file, m })),
    )
    expect(mentions.length).toBeGreaterThan(3)
    for (const {
      file,
      m: [text, status, code],
    } of mentions)
      expect(PROBLEMS[code as ProblemCode]?.status, `${file}: ${text}`).toBe(Number(status))
  })

  it('the integration guide lists every connect-attempt error', () => {
    const listed = new Set(
      [...section(guide, '### Errors a connect attempt can end with').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]),
    )
    for (const code of Object.keys(CONNECT_ERRORS)) expect([...listed], code).toContain(code)
  })
})

/** The text under a Markdown heading, up to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`)
  expect(start, heading).toBeGreaterThanOrEqual(0)
  const rest = markdown.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`^#{1,${heading.indexOf(' ')}} `, 'm'))
  return end < 0 ? rest : rest.slice(0, end)
}
