// The sandbox runs the compiled broker (dist/, which `npm ci` builds). After an edit under
// src/ or prisma/ it is rebuilt first, so the sandbox never runs stale code.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

export function buildIfStale(): void {
  const main = join(ROOT, 'dist/main.js')
  const sources = Math.max(newestMtime(join(ROOT, 'src')), statSync(join(ROOT, 'prisma/schema.prisma')).mtimeMs)
  if (existsSync(main) && statSync(main).mtimeMs >= sources) return
  process.stdout.write('sandbox: dist/ is missing or older than src/: npm run build\n')
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
}
