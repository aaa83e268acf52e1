// A real headless Chromium for browser tests, from the npm package @sparticuz/chromium (the
// binary ships brotli-compressed inside it), driven by playwright-core: no system browser,
// no download. The binary is unpacked once into node_modules/.cache, a folder of the
// project's own (the package unpacks into the temporary folder, which other users and
// concurrent runs share): each process unpacks into a folder of its own and renames it
// into place, so a concurrent test file never sees half a binary. The NSS libraries
// Chromium links against come from the package too (its al2023 archive), so a machine
// without libnss3 runs it as well.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import chromium, { inflate } from '@sparticuz/chromium'
import { chromium as playwright, type Browser } from 'playwright-core'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules/@sparticuz/chromium/package.json'), 'utf8')) as { version: string }
).version
const PACKAGE_BIN = join(ROOT, 'node_modules/@sparticuz/chromium/bin')
const CACHE = join(ROOT, 'node_modules', '.cache', `sparticuz-chromium-${VERSION}-nss`)

// No WebGL: the tests need none.
chromium.setGraphicsMode = false

export async function launchBrowser(): Promise<Browser> {
  const binary = await executablePath()
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: [join(CACHE, 'al2023', 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  }
  return playwright.launch({ executablePath: binary, args: chromium.args, headless: true, env })
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
    await inflate(join(PACKAGE_BIN, 'al2023.tar.br'))
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
