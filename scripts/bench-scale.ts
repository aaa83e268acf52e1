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
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { runningEmbeddedUrl } from '../src/store/embedded.js'
import { generateEncryptionKey, Keyring, parseEncryptionKeys } from '../src/store/encryption.js'
import { freePort } from '../test/support/broker.js'
import { type BrokerProcess, spawnBroker } from '../test/support/process.js'
import type { LoadResult } from './bench-load.js'
import { makeDue, ownerOf, seedConnections, slowTokenEndpoint } from './bench-scale-seed.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TARGET = Number(process.env.BENCH_SCALE_CONNECTIONS ?? 1_000_000)
const SMALL = 1_000
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const CONCURRENCY = 8
const WINDOW_S = Number(process.env.BENCH_REFRESH_WINDOW ?? 300)
const DUE = Number(process.env.BENCH_REFRESH_DUE ?? 10_000)
const PROVIDER_DELAY_MS = 200

type Row = [string, number, LoadResult & { cpuMs: number }]

/** CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat, 100 ticks a second). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** A load run, with the broker's CPU per request: the cost figure the shared machine disturbs least. */
async function measured(pid: number, run: () => Promise<LoadResult>): Promise<LoadResult & { cpuMs: number }> {
  const before = cpuMs(pid)
  const result = await run()
  return { ...result, cpuMs: Math.round(((cpuMs(pid) - before) / Math.max(1, result.requests)) * 1000) / 1000 }
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

/** Peak resident set size of a process, sampled every 250 ms while `during` runs (MB). */
async function peakRss<T>(pid: number, during: () => Promise<T>): Promise<{ value: T; rssMb: number }> {
  let peak = 0
  const sample = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    if (m) peak = Math.max(peak, Number(m[1]) / 1024)
  }
  const timer = setInterval(sample, 250)
  try {
    const value = await during()
    sample()
    return { value, rssMb: Math.round(peak) }
  } finally {
    clearInterval(timer)
  }
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
  // Warm-up (JIT, pools), not reported.
  await load(dir, origin, [`/v1/connections/${hot}/access-token`], vend)
  rows.push([
    'access token, one hot connection',
    total,
    await measured(pid, () => load(dir, origin, [`/v1/connections/${hot}/access-token`], vend)),
  ])
  rows.push([
    'access token, random connection',
    total,
    await measured(pid, () =>
      load(
        dir,
        origin,
        active.map((id) => `/v1/connections/${id}/access-token`),
        vend,
      ),
    ),
  ])
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
  console.log('\nmeasurement                            connections     req/s   p50 ms   p99 ms  CPU ms/req  errors')
  for (const [name, n, r] of rows)
    console.log(
      name.padEnd(38) +
        String(n).padStart(12) +
        String(r.rps).padStart(10) +
        [r.p50, r.p99].map((x) => String(x).padStart(9)).join('') +
        String(r.cpuMs).padStart(12) +
        String(r.errors + r.non2xx).padStart(8),
    )
}

function compare(small: Row[], large: Row[]): void {
  const at = (rows: Row[], prefix: string) => rows.find(([n]) => n.startsWith(prefix))![2]
  const hotS = at(small, 'access token, one hot')
  const hotL = at(large, 'access token, one hot')
  const randomL = at(large, 'access token, random')
  console.log(
    `\nhot connection at ${TARGET} vs ${SMALL}: CPU per request ${hotL.cpuMs} vs ${hotS.cpuMs} ms ` +
      `(${((hotL.cpuMs / hotS.cpuMs - 1) * 100).toFixed(1)} %), throughput ${((hotL.rps / hotS.rps) * 100).toFixed(1)} %, ` +
      `p99 ${hotL.p99} vs ${hotS.p99} ms (target: within 10 %)`,
  )
  console.log(
    `random connections at ${TARGET}: ${(randomL.cpuMs / hotS.cpuMs).toFixed(2)}x the CPU per request of a hot one ` +
      `at ${SMALL}, ${(hotS.rps / randomL.rps).toFixed(2)}x by throughput, p99 ${randomL.p99} ms (target <= 2x)`,
  )
  for (const prefix of ['GET /v1/connections (first', 'GET /v1/connections?ownerId'])
    console.log(`${prefix.trim()}… p99 at ${CONCURRENCY} concurrent: ${at(large, prefix).p99} ms (target <= 20 ms)`)
}

/** The broker's own memory figures (prom-client default metrics), MB. */
async function memory(origin: string): Promise<string> {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const mb = (name: string) => {
    const m = new RegExp(`^broker_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
    return m ? (Number(m[1]) / 2 ** 20).toFixed(0) : '?'
  }
  return `rss ${mb('process_resident_memory_bytes')}, heap used ${mb('nodejs_heap_size_used_bytes')} of ${mb('nodejs_heap_size_total_bytes')}, external ${mb('nodejs_external_memory_bytes')} MB`
}

async function databaseSize(db: pg.Client): Promise<void> {
  const { rows } = await db.query<{ n: string; total: string; heap: string; toast: string; indexes: string }>(
    `SELECT (SELECT count(*) FROM connections) AS n, pg_total_relation_size('connections') AS total,
            pg_relation_size('connections') AS heap, pg_indexes_size('connections') AS indexes,
            pg_total_relation_size('connections') - pg_relation_size('connections')
              - pg_indexes_size('connections') AS toast`,
  )
  const r = rows[0]!
  const per = (v: string) => (Number(v) / Number(r.n)).toFixed(0)
  console.log(
    `\ndatabase: ${r.n} connections, ${(Number(r.total) / 2 ** 20).toFixed(0)} MiB in all = ${per(r.total)} ` +
      `bytes per connection (table ${per(r.heap)}, indexes ${per(r.indexes)}, TOAST/maps ${per(r.toast)})`,
  )
}

async function refresherRun(db: pg.Client, ids: string[], calls: () => number): Promise<void> {
  const before = calls()
  const { rows } = await db.query<{ t0: Date }>('SELECT now() AS t0')
  const t0 = rows[0]!.t0
  await makeDue(db, ids, WINDOW_S)
  const count = async () => {
    const { rows: r } = await db.query<{ done: string; early: string }>(
      `SELECT count(*) FILTER (WHERE c.last_refreshed_at >= $2) AS done,
              count(*) FILTER (WHERE c.last_refreshed_at >= $2 AND c.last_refreshed_at
                <= $2::timestamptz + make_interval(secs => 5 + (u.n - 1) * ($3::float8 - 10) / $4)) AS early
         FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) JOIN connections c ON c.id = u.id`,
      [ids, t0, WINDOW_S, ids.length],
    )
    return { done: Number(r[0]!.done), early: Number(r[0]!.early) }
  }
  const started = Date.now()
  let state = await count()
  while (Date.now() - started < WINDOW_S * 1000 && state.done < ids.length) {
    await new Promise((r) => setTimeout(r, 5_000))
    state = await count()
    process.stdout.write(`  ${Math.round((Date.now() - started) / 1000)} s: ${state.done} refreshed\n`)
  }
  const seconds = (Date.now() - started) / 1000
  console.log(
    `\nproactive refresher, 2 replicas, provider answering in ${PROVIDER_DELAY_MS} ms: ${ids.length} connections ` +
      `due within a ${WINDOW_S} s window; ${state.done} refreshed in ${seconds.toFixed(0)} s ` +
      `(${(state.done / seconds).toFixed(1)}/s), ${state.early} before their token expired, ` +
      `${calls() - before} provider calls (target: all ${ids.length} within the window)`,
  )
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
    }
    const log = openSync(join(dir, 'broker.log'), 'a')
    const broker = spawnBroker({ env, port, stdio: log })
    brokers.push(broker)
    await broker.waitReady(60_000)
    const databaseUrl = runningEmbeddedUrl(env.DATA_DIR)!
    db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    const keyring = new Keyring(parseEncryptionKeys(env.ENCRYPTION_KEY))
    const tokenRes = await fetch(`${publicUrl}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`bench:${env.BOOTSTRAP_CLIENT_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    })
    const token = ((await tokenRes.json()) as { access_token: string }).access_token
    console.log(
      `\nOAuth broker scale benchmark — ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
        `Node ${process.version}, ${DURATION_S} s per run, ${CONCURRENCY} concurrent, ${new Date().toISOString()}`,
    )
    console.log(`broker memory at rest: ${await memory(publicUrl)}`)
    const active = await seedConnections(db, keyring, { provider: 'bench', from: 0, count: SMALL })
    const small = await peakRss(broker.proc.pid!, () => measure(broker.proc.pid!, dir, publicUrl, token, active, SMALL))
    print(small.value)
    console.log(`broker memory after the run: ${await memory(publicUrl)}`)
    const t = Date.now()
    active.push(...(await seedConnections(db, keyring, { provider: 'bench', from: SMALL, count: TARGET - SMALL })))
    console.log(`\nseeded ${TARGET - SMALL} more connections in ${((Date.now() - t) / 1000).toFixed(0)} s`)
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

    const port2 = await freePort()
    const replica = spawnBroker({
      env: { ...env, DATABASE_URL: databaseUrl, PUBLIC_URL: `http://127.0.0.1:${port2}` },
      port: port2,
      stdio: log,
    })
    brokers.push(replica)
    await replica.waitReady(60_000)
    await refresherRun(db, sample(active.slice(1), DUE), endpoint.calls)
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
