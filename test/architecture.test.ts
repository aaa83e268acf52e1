// The shape rules of docs/architecture.md, checked on the source: imports between src/
// folders point one way (no cycle, counting type-only imports: a cycle of types is still
// two modules that must change together), and no source file outgrows 300 lines. A file
// at the src/ root counts as its own unit (app.ts, config.ts, ...); a folder counts as one.
// Only the Prisma client in src/generated, written by `prisma generate`, is exempt from the
// line limit. No line of code (src/, test/, scripts/, sandbox/) is over 120 characters: the
// width Biome formats to (biome.json), which leaves long strings and comments to us.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = resolve(import.meta.dirname, '../src')
const MAX_LINES = 300
const LINE_LIMIT_EXEMPT = ['generated/']
const ROOT = resolve(import.meta.dirname, '..')
const CODE_FOLDERS = ['src', 'test', 'scripts', 'sandbox']
const MAX_WIDTH = 120
const MAX_FUNCTION_LINES = 60

function sourceFiles(dir: string, extensions = ['.ts']): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path, extensions)
    return extensions.some((extension) => entry.name.endsWith(extension)) ? [path] : []
  })
}

/** `file:line (width)` for each line wider than MAX_WIDTH characters. */
function wideLines(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (line.length > MAX_WIDTH ? [`${file}:${i + 1} (${line.length})`] : []))
}

/** `http/` for src/http/routes/token.ts, `app.ts` for src/app.ts. */
function unitOf(file: string): string {
  const path = relative(SRC, file).split('\\').join('/')
  const slash = path.indexOf('/')
  return slash < 0 ? path : path.slice(0, slash + 1)
}

/** Relative imports of one file (import, import type, export from, import()), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return importedFiles
    .filter((f) => f.fileName.startsWith('.'))
    .map((f) => resolve(dirname(file), f.fileName).replace(/\.js$/, '.ts'))
}

/** unit → unit → the file that makes the edge (one example each). */
function unitGraph(files: string[]): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>()
  for (const file of files) {
    const from = unitOf(file)
    for (const target of importsOf(file)) {
      const to = unitOf(target)
      if (to === from) continue
      if (!graph.has(from)) graph.set(from, new Map())
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, relative(SRC, file))
    }
  }
  return graph
}

/** Strongly connected components with more than one unit (Tarjan): each is an import cycle. */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const found: string[][] = []
  const visit = (unit: string) => {
    index.set(unit, index.size)
    low.set(unit, index.get(unit)!)
    stack.push(unit)
    for (const next of graph.get(unit)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(unit, Math.min(low.get(unit)!, low.get(next)!))
      } else if (stack.includes(next)) {
        low.set(unit, Math.min(low.get(unit)!, index.get(next)!))
      }
    }
    if (low.get(unit) !== index.get(unit)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      component.push(member)
    } while (member !== unit)
    if (component.length > 1) found.push(component.sort())
  }
  for (const unit of graph.keys()) if (!index.has(unit)) visit(unit)
  return found
}

/** The edges inside a cycle, each with the file that makes it: what to look at to break it. */
function describeCycle(graph: Map<string, Map<string, string>>, component: string[]): string {
  const edges: string[] = []
  for (const from of component) {
    for (const [to, file] of graph.get(from) ?? []) if (component.includes(to)) edges.push(`${from} -> ${to} (${file})`)
  }
  return edges.join('; ')
}

/**
 * Functions longer than MAX_FUNCTION_LINES in `text`. Route registration tables aside: a
 * route plugin (`export const …Routes`) is a list of routes, each with its schema.
 */
function longFunctions(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    const isFunction =
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isConstructorDeclaration(node)
    const parent = node.parent as ts.Node | undefined
    const routePlugin =
      isFunction &&
      parent !== undefined &&
      ts.isVariableDeclaration(parent) &&
      /Routes$/.test(parent.name.getText(source))
    if (isFunction && !routePlugin) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line
      if (last - first + 1 > MAX_FUNCTION_LINES) found.push(`${file}:${first + 1} (${last - first + 1} lines)`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const files = sourceFiles(SRC)

describe('architecture', () => {
  it('has no import cycle between src/ folders and root modules', () => {
    const graph = unitGraph(files)
    expect(graph.get('app.ts')?.has('http/')).toBe(true) // the graph is built at all
    expect(cycles(graph).map((c) => describeCycle(graph, c))).toEqual([])
  })

  it(`has no source file over ${MAX_LINES} lines (src/generated aside)`, () => {
    const long = files
      .filter((file) => !LINE_LIMIT_EXEMPT.some((prefix) => relative(SRC, file).startsWith(prefix)))
      .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
    expect(long).toEqual([])
  })

  it(`has no line over ${MAX_WIDTH} characters in src/, test/, scripts/, sandbox/ (.ts, .mjs)`, () => {
    const code = CODE_FOLDERS.flatMap((folder) => sourceFiles(join(ROOT, folder), ['.ts', '.mjs'])).filter(
      (file) => !relative(SRC, file).startsWith('generated/'),
    )
    expect(code.length).toBeGreaterThan(100) // the files are found at all
    expect(code.flatMap((file) => wideLines(relative(ROOT, file), readFileSync(file, 'utf8')))).toEqual([])
    expect(wideLines('x.ts', `ok\n${'a'.repeat(MAX_WIDTH + 1)}`)).toEqual([`x.ts:2 (${MAX_WIDTH + 1})`])
  })

  it(`has no function over ${MAX_FUNCTION_LINES} lines in src/ (route registration tables aside)`, () => {
    const long = files
      .filter((file) => !LINE_LIMIT_EXEMPT.some((prefix) => relative(SRC, file).startsWith(prefix)))
      .flatMap((file) => longFunctions(relative(SRC, file), readFileSync(file, 'utf8')))
    expect(long).toEqual([])
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const a${i} = ${i}`).join('\n')
    expect(longFunctions('x.ts', `function f() {\n${body}\n}\n`)).toEqual([`x.ts:1 (${MAX_FUNCTION_LINES + 2} lines)`])
  })

  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a/', new Map([['b/', 'a/x.ts']])],
      ['b/', new Map([['c.ts', 'b/y.ts']])],
      ['c.ts', new Map([['a/', 'c.ts']])],
      ['d/', new Map([['a/', 'd/z.ts']])],
    ])
    expect(cycles(graph)).toEqual([['a/', 'b/', 'c.ts']])
    expect(unitOf(join(SRC, 'http/routes/token.ts'))).toBe('http/')
    expect(unitOf(join(SRC, 'app.ts'))).toBe('app.ts')
  })
})
