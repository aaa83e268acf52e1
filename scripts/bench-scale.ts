// npm run bench:scale: does a large connections table change what the broker costs?
// The real broker process (`node dist/main.js`, embedded PostgreSQL, production logging to
// a file) is measured with 1,000 connections, then again after seeding up to
// BENCH_SCALE_CONNECTIONS (default 1,000,000; 100,000 for a quick run): access tokens for one
// hot connection and for callers spread over all connections at random (the cache-miss
// path), list pages, the broker's RSS, the database size per connection; then the
// proactive refresher of two replicas against a token endpoint answering in 200 ms, with
// 10,000 connections due within one refresh window. Load comes from a separate process
// (scripts/bench-load.ts). Everything is bounded and stops by itself; figures are printed,
// not asserted (docs/performance.md).
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { runningEmbeddedUrl } from '../src/store/embedded.js'
import { generateEncryptionKey, Keyring, parseEncryptionKeys } from '../src/store/encryption.js'
import { freePort } from '../test/support/broker.js'
import { type BrokerProcess, spawnBroker } from '../test/support/process.js'
import type { LoadResult } from './bench-load.js'
import { cpuMs, databaseSize, explainReads, memory, peakRss, refresherRun } from './bench-scale-probes.js'
import { ownerOf, seedConnections, slowTokenEndpoint } from './bench-scale-seed.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TARGET = Number(process.env.BENCH_SCALE_CONNECTIONS ?? 1_000_000)
const SMALL = 1_000
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const CONCURRENCY = 8
const WINDOW_S = Number(process.env.BENCH_REFRESH_WINDOW ?? 300)
const DUE = Number(process.env.BENCH_REFRESH_DUE ?? 10_000)
const PROVIDER_DELAY_MS = 200

type Measured = LoadResult & { cpuMs: number; systemMs: number }
type Row = [string, number, Measured]

/**
 * A load run, with the broker's CPU per request: the cost figure the shared machine disturbs
 * least; and its kernel part (socket and log writes), which the broker's code does not decide.
 */
async function measured(pid: number, run: () => Promise<LoadResult>): Promise<Measured> {
  const [before, systemBefore] = [cpuMs(pid), cpuMs(pid, 'system')]
  const result = await run()
  const per = (ms: number) => Math.round((ms / Math.max(1, result.requests)) * 1000) / 1000
  return { ...result, cpuMs: per(cpuMs(pid) - before), systemMs: per(cpuMs(pid, 'system') - systemBefore) }
}

function load(
  dir: string,
  origin: string,
  paths: string[],
  options: { method: 'GET' | 'POST'; token: string },
): Promise<LoadResult> {
  const pathsFile = join(dir, 'paths.txt')
  writeFileSync(pathsFile, paths.join('\n'))
  const args = {
    origin,
    pathsFile,
    method: options.method,
    headers: {
      authorization: `Bearer ${options.token}`,
      ...(options.method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.method === 'POST' ? { body: '{}' } : {}),
    connections: CONCURRENCY,
    durationSeconds: DURATION_S,
  }
  const script = join(ROOT, 'scripts/bench-load.ts')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(args)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), (DURATION_S + 60) * 1000)
    child.on('exit', () => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(out) as LoadResult)
      } catch (err) {
        reject(new Error(`load generator output not understood: ${(err as Error).message}`))
      }
    })
  })
}

/** `count` distinct random picks from `items`. */
function sample<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items
  const picked = new Set<number>()
  while (picked.size < count) picked.add(Math.floor(Math.random() * items.length))
  return [...picked].map((i) => items[i]!)
}

async function measure(
  pid: number,
  dir: string,
  origin: string,
  token: string,
  active: string[],
  total: number,
): Promise<Row[]> {
  const hot = active[0]!
  const owners = Array.from({ length: Math.min(10_000, total) }, () => ownerOf(Math.floor(Math.random() * total)))
  const vend = { method: 'POST' as const, token }
  const list = { method: 'GET' as const, token }
  const rows: Row[] = []
  const spread = active.map((id) => `/v1/connections/${id}/access-token`)
  // Warm-up (JIT, pools; with few connections, every row in the cache), not reported.
  await load(dir, origin, [`/v1/connections/${hot}/access-token`], vend)
  // The hot path again before the random load fills the connection cache: tells the
  // table's size apart from the cache's occupancy (a fuller heap for every GC to mark).
  rows.push([
    'access token, hot, before random load',
    total,
    await measured(pid, () => load(dir, origin, [`/v1/connections/${hot}/access-token`], vend)),
  ])
  await load(dir, origin, spread, vend)
  rows.push([
    'access token, one hot connection',
    total,
    await measured(pid, () => load(dir, origin, [`/v1/connections/${hot}/access-token`], vend)),
  ])
  rows.push(['access token, random connection', total, await measured(pid, () => load(dir, origin, spread, vend))])
  rows.push([
    'GET /v1/connections (first page)',
    total,
    await measured(pid, () => load(dir, origin, ['/v1/connections'], list)),
  ])
  rows.push([
    'GET /v1/connections?ownerId=',
    total,
    await measured(pid, () =>
      load(
        dir,
        origin,
        owners.map((o) => `/v1/connections?ownerId=${o}`),
        list,
      ),
    ),
  ])
  rows.push([
    'GET /v1/connections?namespace=crm',
    total,
    await measured(pid, () => load(dir, origin, ['/v1/connections?namespace=crm'], list)),
  ])
  return rows
}

function print(rows: Row[]): void {
  console.log(
    '\nmeasurement                            connections     req/s   p50 ms   p99 ms  CPU ms/req  (kernel)  errors',
  )
  for (const [name, n, r] of rows)
    console.log(
      name.padEnd(38) +
        String(n).padStart(12) +
        String(r.rps).padStart(10) +
        [r.p50, r.p99].map((x) => String(x).padStart(9)).join('') +
        String(r.cpuMs).padStart(12) +
        `(${r.systemMs})`.padStart(10) +
        String(r.errors + r.non2xx).padStart(8),
    )
}

function compare(small: Row[], large: Row[]): void {
  const at = (rows: Row[], prefix: string) => rows.find(([n]) => n.startsWith(prefix))![2]
  const hotS = at(small, 'access token, one hot')
  const hotL = at(large, 'access token, one hot')
  const coldS = at(small, 'access token, hot, before')
  const coldL = at(large, 'access token, hot, before')
  const randomS = at(small, 'access token, random')
  const randomL = at(large, 'access token, random')
  const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)} %`
  console.log(
    `\nhot connection, ${TARGET} vs ${SMALL}: CPU per request ${hotL.cpuMs} vs ${hotS.cpuMs} ms ` +
      `(${pct(hotL.cpuMs, hotS.cpuMs)}), req/s ${pct(hotL.rps, hotS.rps)}, p99 ${hotL.p99} vs ${hotS.p99} ms ` +
      '(target: within 10 %)',
  )
  console.log(
    `hot connection before random load: CPU per request ${coldL.cpuMs} vs ${coldS.cpuMs} ms ` +
      `(${pct(coldL.cpuMs, coldS.cpuMs)}), req/s ${pct(coldL.rps, coldS.rps)}`,
  )
  console.log(
    `random connections, ${TARGET} vs ${SMALL}: CPU per request ${(randomL.cpuMs / randomS.cpuMs).toFixed(2)}x, ` +
      `req/s ${(randomS.rps / randomL.rps).toFixed(2)}x lower, p99 ${randomL.p99} vs ${randomS.p99} ms (target <= 2x)`,
  )
  for (const prefix of ['GET /v1/connections (first', 'GET /v1/connections?ownerId'])
    console.log(`${prefix.trim()}… p99 at ${CONCURRENCY} concurrent: ${at(large, prefix).p99} ms (target <= 20 ms)`)
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'broker-bench-scale-'))
  chmodSync(dir, 0o755)
  const brokers: BrokerProcess[] = []
  const endpoint = await slowTokenEndpoint(PROVIDER_DELAY_MS)
  let db: pg.Client | undefined
  try {
    const port = await freePort()
    const publicUrl = `http://127.0.0.1:${port}`
    const providersFile = join(dir, 'providers.json')
    const provider = {
      displayName: 'Bench',
      authorizationUrl: 'http://127.0.0.1:9/authorize',
      tokenUrl: endpoint.url,
      clientId: 'bench-client',
      clientSecret: 'bench-client-secret',
      scopes: ['openid', 'offline_access', 'api:read'],
    }
    writeFileSync(providersFile, JSON.stringify({ providers: { bench: provider } }))
    const env = {
      DATA_DIR: join(dir, 'data'),
      PUBLIC_URL: publicUrl,
      PROVIDERS_FILE: providersFile,
      ENCRYPTION_KEY: generateEncryptionKey(),
      BOOTSTRAP_CLIENT_ID: 'bench',
      BOOTSTRAP_CLIENT_SECRET: 'bench-secret-0123456789-0123456789-abcdef',
      LOG_LEVEL: 'info',
      BOOTSTRAP_RETURN_URLS: 'https://app.example.com/connected',
      RATE_LIMIT_TOKEN: '0',
      RATE_LIMIT_ADMIN: '0',
      REFRESH_WINDOW_SECONDS: String(WINDOW_S),
      // V8 heap limits as an image would set them (docs/performance.md); empty: Node's defaults.
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    }
    const log = openSync(join(dir, 'broker.log'), 'a')
    const broker = spawnBroker({ env, port, stdio: log })
    brokers.push(broker)
    await broker.waitReady(60_000)
    const databaseUrl = runningEmbeddedUrl(env.DATA_DIR)!
    db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    const keyring = new Keyring(parseEncryptionKeys(env.ENCRYPTION_KEY))
    // A broker token per phase: seeding a million rows outlasts one token's lifetime.
    const newToken = async () => {
      const res = await fetch(`${publicUrl}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`bench:${env.BOOTSTRAP_CLIENT_SECRET}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      })
      return ((await res.json()) as { access_token: string }).access_token
    }
    console.log(
      `\nOAuth broker scale benchmark — ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
        `Node ${process.version}, ${DURATION_S} s per run, ${CONCURRENCY} concurrent, ${new Date().toISOString()}` +
        `, broker NODE_OPTIONS: ${process.env.BENCH_NODE_OPTIONS || '(none)'}`,
    )
    console.log(`broker memory at rest: ${await memory(publicUrl)}`)
    const active = await seedConnections(db, keyring, { provider: 'bench', from: 0, count: SMALL })
    let token = await newToken()
    const small = await peakRss(broker.proc.pid!, () => measure(broker.proc.pid!, dir, publicUrl, token, active, SMALL))
    print(small.value)
    console.log(`broker memory after the run: ${await memory(publicUrl)}`)
    const t = Date.now()
    // A loop, not push(...more): a million arguments overflow the stack.
    for (const id of await seedConnections(db, keyring, { provider: 'bench', from: SMALL, count: TARGET - SMALL }))
      active.push(id)
    console.log(`\nseeded ${TARGET - SMALL} more connections in ${((Date.now() - t) / 1000).toFixed(0)} s`)
    token = await newToken()
    const large = await peakRss(broker.proc.pid!, () =>
      measure(broker.proc.pid!, dir, publicUrl, token, active, TARGET),
    )
    print(large.value)
    console.log(`broker memory after the run: ${await memory(publicUrl)}`)
    compare(small.value, large.value)
    console.log(
      `broker RSS under load: peak ${small.rssMb} MB at ${SMALL}, ${large.rssMb} MB at ${TARGET} (target <= 250 MB)`,
    )
    await databaseSize(db)
    await explainReads(db, active[active.length - 1]!, ownerOf(TARGET - 1))

    const port2 = await freePort()
    const replica = spawnBroker({
      env: { ...env, DATABASE_URL: databaseUrl, PUBLIC_URL: `http://127.0.0.1:${port2}` },
      port: port2,
      stdio: log,
    })
    brokers.push(replica)
    await replica.waitReady(60_000)
    await refresherRun(db, sample(active.slice(1), DUE), endpoint.calls, {
      windowSeconds: WINDOW_S,
      providerDelayMs: PROVIDER_DELAY_MS,
    })
  } finally {
    await db?.end()
    await Promise.all(brokers.map((b) => b.stop()))
    await endpoint.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
