// A real headless Chromium for browser tests, from the npm package @sparticuz/chromium (the
// binary ships brotli-compressed inside it), driven by playwright-core: no system browser,
// no download. The binary is unpacked once into node_modules/.cache, a folder of the
// project's own (the package unpacks into the temporary folder, which other users and
// concurrent runs share): each process unpacks into a folder of its own and renames it
// into place, so a concurrent test file never sees half a binary.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import chromium from '@sparticuz/chromium'
import { chromium as playwright, type Browser } from 'playwright-core'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@sparticuz/chromium/package.json'), 'utf8')) as { version: string }).version
const CACHE = join(ROOT, 'node_modules', '.cache', `sparticuz-chromium-${VERSION}`)

// No WebGL: the tests need none, and it spares unpacking SwiftShader.
chromium.setGraphicsMode = false

export async function launchBrowser(): Promise<Browser> {
  return playwright.launch({ executablePath: await executablePath(), args: chromium.args, headless: true })
}

async function executablePath(): Promise<string> {
  const binary = join(CACHE, 'chromium')
  if (existsSync(binary)) return binary
  mkdirSync(join(CACHE, '..'), { recursive: true })
  const scratch = mkdtempSync(`${CACHE}.unpacking-`)
  // The package unpacks into os.tmpdir(), which follows TMPDIR at each call.
  const tmpdir = process.env.TMPDIR
  process.env.TMPDIR = scratch
  try {
    await chromium.executablePath()
  } finally {
    if (tmpdir === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = tmpdir
  }
  try {
    renameSync(scratch, CACHE)
  } catch (err) {
    // Another process put its copy in place first: use that one.
    rmSync(scratch, { recursive: true, force: true })
    if (!existsSync(binary)) throw err
  }
  return binary
}
