// `npx oauth-broker` in the image, without Docker: /app laid out as the Dockerfile's
// runtime stage leaves it (package.json, dist/, its node_modules/.bin link, the bin entry
// deleted), run offline with a home npm cannot write to, as in the read-only container.
// With the bin entry kept, npx would install the project into its cache first and fail.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './support/process.js'

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>
let app: string

/** /app as the runtime stage leaves it; dist/ is this checkout's build (npm run build). */
function layOut(dir: string, withBin: boolean): void {
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true })
  const { bin, ...rest } = pkg
  writeFileSync(join(dir, 'package.json'), JSON.stringify(withBin ? { ...rest, bin } : rest))
  symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'))
  symlinkSync('../../dist/cli.js', join(dir, 'node_modules', '.bin', 'oauth-broker'))
}

async function npx(cwd: string, args: string[]) {
  // HOME is a file: no npm cache or log folder can be made under it, even by root.
  const env = { PATH: process.env.PATH!, HOME: '/dev/null', npm_config_update_notifier: 'false' }
  return promisify(execFile)('npx', ['--offline', 'oauth-broker', ...args], { cwd, env, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'image-app-'))
})
afterAll(() => rmSync(app, { recursive: true, force: true }))

describe('npx oauth-broker in the image', () => {
  it('is what the Dockerfile sets up: the .bin link, and no bin entry', () => {
    const runtime = dockerfile.split(/^FROM /m).at(-1)!
    expect(runtime).toContain('ln -s ../../dist/cli.js node_modules/.bin/oauth-broker')
    expect(runtime).toContain('npm pkg delete bin')
  })

  it('runs the CLI offline with no writable home, and passes its exit codes through', async () => {
    const image = join(app, 'image')
    layOut(image, false)
    const version = await npx(image, ['--version'])
    expect([version.code, version.stdout]).toEqual([0, `oauth-broker ${pkg.version}\n`])
    const usage = await npx(image, ['connections', 'list', '--bogus'])
    expect([usage.code, usage.stdout]).toEqual([2, ''])
    expect(usage.stderr).toContain('unknown option --bogus')
    // The same layout with the bin entry: npx wants its cache, so the deletion matters.
    const withBin = join(app, 'with-bin')
    layOut(withBin, true)
    expect((await npx(withBin, ['--version'])).code).not.toBe(0)
  }, 120_000)
})
