// npm run bench:webhooks: webhook delivery with two broker replicas (`node dist/main.js`,
// embedded PostgreSQL shared by both) to a local receiver on 127.0.0.1.
// 1. Commit-to-delivery delay under no backlog: connections imported at a steady pace
//    through both replicas; the delay is the receipt time minus the event's `timestamp`
//    (taken in the event's transaction, just before its commit).
// 2. Throughput: a backlog of deliveries to a second endpoint, released at once; the time
//    until the receiver holds every one.
// Everything is bounded and stops by itself; the figures are printed, not asserted.
import { chmodSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { runningEmbeddedUrl } from '../src/store/embedded.js'
import { generateEncryptionKey } from '../src/store/encryption.js'
import { freePort } from '../test/support/broker.js'
import { spawnBroker, type BrokerProcess } from '../test/support/process.js'
import { startReceiver } from '../test/support/webhook-receiver.js'

const PACED_EVENTS = Number(process.env.BENCH_PACED_EVENTS ?? 200)
const PACE_PER_SECOND = Number(process.env.BENCH_PACE ?? 10)
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 2000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

async function tokenFor(url: string, env: Record<string, string>): Promise<string> {
  const basic = Buffer.from(`${env.BOOTSTRAP_CLIENT_ID}:${env.BOOTSTRAP_CLIENT_SECRET}`).toString('base64')
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  })
  return ((await res.json()) as { access_token: string }).access_token
}

async function post(url: string, token: string, body: unknown): Promise<{ status: number; body: { id: string } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as { id: string } }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'broker-bench-webhooks-'))
  chmodSync(dir, 0o755)
  const receiver = await startReceiver()
  const brokers: BrokerProcess[] = []
  try {
    const providersFile = join(dir, 'providers.json')
    const idp = { authorizationUrl: 'http://127.0.0.1:1/a', tokenUrl: 'http://127.0.0.1:1/t', clientId: 'c' }
    writeFileSync(providersFile, JSON.stringify({ providers: { bench: { ...idp, clientSecret: 's', scopes: ['x'] } } }))
    const env: Record<string, string> = {
      DATA_DIR: join(dir, 'data'),
      PROVIDERS_FILE: providersFile,
      ENCRYPTION_KEY: generateEncryptionKey(),
      BOOTSTRAP_CLIENT_ID: 'bench',
      BOOTSTRAP_CLIENT_SECRET: 'bench-secret-0123456789-0123456789-abcdef',
      BOOTSTRAP_WEBHOOK_URLS: `${receiver.url}/hooks`,
      LOG_LEVEL: 'info',
      RATE_LIMIT_TOKEN: '0',
      RATE_LIMIT_ADMIN: '0',
    }
    const log = openSync(join(dir, 'broker.log'), 'a')
    const ports = [await freePort(), await freePort()]
    const first = spawnBroker({
      env: { ...env, PUBLIC_URL: `http://127.0.0.1:${ports[0]}` },
      port: ports[0]!,
      stdio: log,
    })
    brokers.push(first)
    await first.waitReady(30_000)
    const databaseUrl = runningEmbeddedUrl(env.DATA_DIR!)!
    const second = spawnBroker({
      env: { ...env, DATABASE_URL: databaseUrl, PUBLIC_URL: `http://127.0.0.1:${ports[1]}` },
      port: ports[1]!,
      stdio: log,
    })
    brokers.push(second)
    await second.waitReady(30_000)
    const replicas = await Promise.all(brokers.map(async (b) => ({ url: b.url, token: await tokenFor(b.url, env) })))
    const a = replicas[0]!
    const live = await post(`${a.url}/v1/webhook-endpoints`, a.token, {
      url: `${receiver.url}/hooks/live`,
      events: ['*'],
    })
    if (live.status !== 201) throw new Error(`endpoint: ${JSON.stringify(live.body)}`)

    console.log(`\nWebhook benchmark — ${cpus().length} cores, Node ${process.version}, 2 replicas\n`)
    // 1. Paced events: no backlog.
    const started = Date.now()
    const imports: Array<Promise<unknown>> = []
    for (let i = 0; i < PACED_EVENTS; i++) {
      const r = replicas[i % 2]!
      const credentials = { accessToken: `at-${i}` }
      imports.push(post(`${r.url}/v1/connections`, r.token, { provider: 'bench', ownerId: `u-${i}`, credentials }))
      await sleep(Math.max(0, started + ((i + 1) * 1000) / PACE_PER_SECOND - Date.now()))
    }
    const statuses = (await Promise.all(imports)) as Array<{ status: number; body: unknown }>
    // On a starved machine an import can fail (no database connection in time): no event then.
    const committed = statuses.filter((r) => r.status === 201).length
    if (committed < PACED_EVENTS) console.log(`(${PACED_EVENTS - committed} imports failed: no event for them)`)
    await receiver.waitFor(() => new Set(receiver.at('/hooks/live').map((r) => r.id)).size >= committed, 60_000)
    const delays = receiver.at('/hooks/live').map((r) => r.at - Date.parse(JSON.parse(r.body).timestamp))
    console.log(
      `commit to delivery, ${committed} events at ${PACE_PER_SECOND}/s: ` +
        `p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms, max ${Math.max(...delays)} ms ` +
        `(target p99 <= 1000 ms)`,
    )

    // 2. A backlog released at once: the events of phase 1, each copied to disabled
    // endpoints as deliveries, until there are BACKLOG of them; then every copy is enabled.
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    const backlogUrl = `${receiver.url}/hooks/backlog`
    for (let made = 0; made < BACKLOG; made += committed) {
      const endpoint = await post(`${a.url}/v1/webhook-endpoints`, a.token, { url: backlogUrl, events: ['*'] })
      await db.query('UPDATE webhook_endpoints SET enabled = false WHERE id = $1', [endpoint.body.id])
      await db.query(
        'INSERT INTO webhook_deliveries (event_id, endpoint_id) SELECT id, $1 FROM webhook_events LIMIT $2',
        [endpoint.body.id, Math.min(committed, BACKLOG - made)],
      )
    }
    const releasedAt = Date.now()
    await db.query('UPDATE webhook_endpoints SET enabled = true WHERE url = $1', [`${receiver.url}/hooks/backlog`])
    await db.query('SELECT pg_notify(\'oauth_broker_changes\', \'{"topic":"webhook"}\')')
    await receiver.waitFor(() => receiver.at('/hooks/backlog').length >= BACKLOG, 300_000)
    const seconds = (Date.now() - releasedAt) / 1000
    console.log(
      `throughput: ${BACKLOG} deliveries drained in ${seconds.toFixed(1)} s = ` +
        `${Math.round(BACKLOG / seconds)} events/s (2 replicas, 16 sends in flight each)`,
    )
    await db.end()
  } finally {
    await Promise.all(brokers.map((b) => b.stop()))
    await receiver.close()
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true })
    else console.log(`kept ${dir}`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
