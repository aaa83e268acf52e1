// npm run bench:secrets: what a flood of wrong client secrets costs the broker. On the
// real broker process (`node dist/main.js`, embedded PostgreSQL, logging to a file):
// the broker's CPU (user + system, from /proc, worker threads included) per wrong-secret
// POST /oauth/token for a generated client, an unknown id and the bootstrap client, and a
// legitimate client's latency while 2,000 wrong-secret requests arrive from 500 addresses
// (X-Forwarded-For, TRUST_PROXY=127.0.0.1; default rate limits). Figures are printed, not asserted.
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateEncryptionKey } from '../src/store/encryption.js'
import { freePort } from '../test/support/broker.js'
import { spawnBroker } from '../test/support/process.js'

const FLOOD = 2_000
const ADDRESSES = 500
const IN_FLIGHT = 50
const BOOTSTRAP = { id: 'bench', secret: 'bench-secret-0123456789-0123456789-abcdef' }

/** The process's CPU time so far in ms (utime + stime of /proc/<pid>/stat, all threads). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

async function tokenRequest(url: string, id: string, secret: string, from?: string): Promise<number> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(from ? { 'x-forwarded-for': from } : {}) },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  })
  await res.arrayBuffer()
  return res.status
}

/** `total` requests, at most IN_FLIGHT at once, request i from address i mod ADDRESSES. */
async function flood(url: string, id: string, secret: string, total: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>()
  let next = 0
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const from = `198.18.${Math.floor((i % ADDRESSES) / 250)}.${(i % ADDRESSES) % 250}`
      const status = await tokenRequest(url, id, secret, from)
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return statuses
}

async function cpuPerRequest(pid: number, run: () => Promise<unknown>, n: number) {
  const before = cpuMs(pid)
  const started = performance.now()
  const statuses = await run()
  return { cpuMs: (cpuMs(pid) - before) / n, wallMs: performance.now() - started, statuses }
}

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'broker-bench-secrets-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const env = {
    DATA_DIR: join(dir, 'data'),
    PUBLIC_URL: url,
    ENCRYPTION_KEY: generateEncryptionKey(),
    BOOTSTRAP_CLIENT_ID: BOOTSTRAP.id,
    BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP.secret,
    LOG_LEVEL: 'info',
    TRUST_PROXY: '127.0.0.1',
  }
  const broker = spawnBroker({ env, port, stdio: openSync(join(dir, 'broker.log'), 'a') })
  try {
    await broker.waitReady(60_000)
    const pid = broker.proc.pid!
    const basic = Buffer.from(`${BOOTSTRAP.id}:${BOOTSTRAP.secret}`).toString('base64')
    const tokenRes = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'x-forwarded-for': '198.51.100.1' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    })
    const { access_token: admin } = (await tokenRes.json()) as { access_token: string }
    const created = await fetch(`${url}/v1/service-clients`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'application/json',
        'x-forwarded-for': '198.51.100.1',
      },
      body: JSON.stringify({ name: 'legit', scopes: ['tokens:read'] }),
    })
    const legit = (await created.json()) as { clientId: string; clientSecret: string }
    const wrong = `${legit.clientSecret.slice(0, -2)}xx`
    // Warm-up: JIT, the pool, the hash key.
    await flood(url, legit.clientId, wrong, 200)

    console.log(`\nWrong client secrets — ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}\n`)
    const generated = await cpuPerRequest(pid, () => flood(url, legit.clientId, wrong, FLOOD), FLOOD)
    const unknown = await cpuPerRequest(pid, () => flood(url, 'svc_unknown', wrong, FLOOD), FLOOD)
    const boot = await cpuPerRequest(pid, () => flood(url, BOOTSTRAP.id, 'wrong', 40), 40)
    const right = await cpuPerRequest(pid, () => flood(url, legit.clientId, legit.clientSecret, 500), 500)
    const row = (name: string, r: { cpuMs: number; wallMs: number; statuses: unknown }) =>
      console.log(
        `${name.padEnd(42)} ${r.cpuMs.toFixed(3).padStart(8)} ms CPU/request  ` +
          `(${JSON.stringify(Object.fromEntries(r.statuses as Map<number, number>))})`,
      )
    row('wrong secret, generated client', generated)
    row('unknown client id', unknown)
    row('right secret, generated client', right)
    row('wrong secret, bootstrap client (scrypt)', boot)

    // A legitimate client, one request at a time from its own address, during the flood.
    const latencies: number[] = []
    let flooding = true
    const legitLoop = (async () => {
      while (flooding) {
        const started = performance.now()
        const status = await tokenRequest(url, legit.clientId, legit.clientSecret, '203.0.113.9')
        if (status !== 200) throw new Error(`legitimate request answered ${status}`)
        latencies.push(performance.now() - started)
      }
    })()
    const floodRun = await cpuPerRequest(pid, () => flood(url, legit.clientId, wrong, FLOOD), FLOOD)
    flooding = false
    await legitLoop
    console.log(
      `\nflood of ${FLOOD} wrong secrets from ${ADDRESSES} addresses (${IN_FLIGHT} in flight): ` +
        `${floodRun.wallMs.toFixed(0)} ms, ` +
        JSON.stringify(Object.fromEntries(floodRun.statuses as Map<number, number>)),
    )
    console.log(
      `legitimate client during it: ${latencies.length} requests, p50 ${quantile(latencies, 0.5).toFixed(1)} ms, ` +
        `p99 ${quantile(latencies, 0.99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
    )
  } finally {
    await broker.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
