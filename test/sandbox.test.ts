// `npm run sandbox` as a newcomer uses it: started as its own process group (a terminal's
// job), its demo page opened in headless Chromium, a demo account connected through the
// demo provider's real login and consent pages, the printed curl lines run (by a small
// curl stand-in), and Ctrl-C (SIGINT to the whole group) stopping everything, the
// embedded PostgreSQL included.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Browser } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { runningEmbeddedUrl } from '../src/store/embedded.js'
import { freePort } from './support/broker.js'
import { launchBrowser } from './support/browser.js'
import { ROOT } from './support/process.js'

let sandbox: ChildProcess | undefined
let browser: Browser | undefined
const dir = mkdtempSync(join(tmpdir(), 'broker-sandbox-'))
chmodSync(dir, 0o755)

afterAll(async () => {
  await browser?.close()
  if (sandbox?.exitCode === null) process.kill(-sandbox.pid!, 'SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** Starts the sandbox like `npm run sandbox` does, and resolves with its output once it is ready. */
async function startSandbox(
  env: Record<string, string>,
): Promise<{ output: () => string; exited: Promise<number | null> }> {
  let output = ''
  sandbox = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? dir, ...env },
    detached: true, // a process group of its own, as a terminal's job is
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => sandbox!.once('exit', (code) => resolve(code)))
  const ready = new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ctrl-C stops everything.')) resolve()
    }
    sandbox!.stdout!.on('data', read)
    sandbox!.stderr!.on('data', read)
    void exited.then((code) => reject(new Error(`the sandbox exited (${code}) before it was ready:\n${output}`)))
  })
  await ready
  return { output: () => output, exited }
}

/** The printed shell line's words, quotes removed (enough for the lines the sandbox prints). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map(([, single, double, bare]) => (single ?? double ?? bare)!)
}

/** A stand-in for curl with the options the sandbox prints: -s, -u, -H, -d and a URL. */
async function curl(words: string[]): Promise<{ status: number; text: string }> {
  expect(words[0]).toBe('curl')
  const headers = new Headers()
  const data: string[] = []
  let url = ''
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!
    if (word === '-s') continue
    else if (word === '-u') headers.set('authorization', `Basic ${Buffer.from(words[++i]!).toString('base64')}`)
    else if (word === '-H') headers.set(words[++i]!.split(':')[0]!, words[i]!.split(':').slice(1).join(':').trim())
    else if (word === '-d') data.push(words[++i]!)
    else if (/^https?:\/\//.test(word)) url = word
    else throw new Error(`curl stand-in: unexpected argument ${word}`)
  }
  if (data.length && !headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded')
  const res = await fetch(url, {
    method: data.length ? 'POST' : 'GET',
    headers,
    body: data.length ? data.join('&') : undefined,
  })
  return { status: res.status, text: await res.text() }
}

/** `TOKEN=$(curl … | sed -E 's/A/B/')`: runs the curl, applies the sed expression, returns TOKEN. */
async function runTokenLine(line: string): Promise<string> {
  const [, command, pattern, replacement] = /^TOKEN=\$\((curl .*) \| sed -E 's\/(.*)\/(.*)\/'\)$/.exec(line) ?? []
  expect(command, line).toBeDefined()
  const { status, text } = await curl(shellWords(command!))
  expect(status, text).toBe(200)
  return text.replace(new RegExp(pattern!), replacement!.replace(/\\(\d)/g, '$$$1'))
}

describe('npm run sandbox', () => {
  it('connects a demo account in a real browser, vends its token with the printed curl lines, and stops on Ctrl-C', {
    timeout: 60_000,
  }, async () => {
    const [brokerPort, demoPort] = [await freePort(), await freePort()]
    const launched = launchBrowser() // unpacking Chromium overlaps the sandbox's start
    const { output, exited } = await startSandbox({
      SANDBOX_DIR: dir,
      SANDBOX_PORT: String(brokerPort),
      SANDBOX_DEMO_PORT: String(demoPort),
    })
    const demoUrl = /Open (http:\/\/127\.0\.0\.1:\d+) and click/.exec(output())?.[1]
    expect(demoUrl).toBe(`http://127.0.0.1:${demoPort}`)
    const printed = output()
      .split('\n')
      .filter((l) => /^(TOKEN=\$\()?curl /.test(l))
    expect(printed).toHaveLength(2)
    const issuer = /Demo provider +(http:\/\/\S+)/.exec(output())![1]!

    browser = await launched
    const page = await browser.newPage()
    await page.goto(demoUrl!)
    await page.click('#connect')
    await page.waitForURL(`${issuer}/**`) // the demo provider's sign-in page
    await page.fill('#login', 'newcomer')
    await page.click('#sign-in')
    await page.click('#allow')
    await page.waitForURL(`${demoUrl}/return?**status=connected**`)
    // The demo service confirmed its user (the token below is vendable only then) and
    // redirected to a clean URL: the one-time code is not in the address bar.
    expect(new URL(page.url()).searchParams.has('confirmation_code')).toBe(false)
    const connectionId = (await page.textContent('#connection-id'))!
    expect(connectionId).toMatch(/^conn_/)
    // The return page shows the terminal's lines with the id filled in.
    expect((await page.textContent('#curl'))!.split('\n')).toEqual(
      printed.map((l) => l.replace('CONNECTION_ID', connectionId)),
    )

    const token = await runTokenLine(printed[0]!)
    const vended = await curl(shellWords(printed[1]!.replace('$TOKEN', token).replace('CONNECTION_ID', connectionId)))
    expect(vended.status, vended.text).toBe(200)
    const body = JSON.parse(vended.text) as { accessToken: string; provider: string; connectionId: string }
    expect(body).toMatchObject({ provider: 'demo', connectionId })
    // A real token of the demo provider.
    expect((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${body.accessToken}` } })).status).toBe(200)

    const database = runningEmbeddedUrl(join(dir, 'data'))
    expect(database).toBeDefined()
    process.kill(-sandbox!.pid!, 'SIGINT') // Ctrl-C in a terminal
    expect(await exited).toBe(0)
    expect(output()).toContain('sandbox: stopped')
    expect(runningEmbeddedUrl(join(dir, 'data'))).toBeUndefined()
    await expect(
      new pg.Client({ connectionString: database, connectionTimeoutMillis: 2000 }).connect(),
    ).rejects.toThrow(/ECONNREFUSED/)
  })
})
