// npm run bench: throughput and latency of token vending against /healthz, and a refresh
// storm, on the real broker process (`node dist/main.js`, embedded PostgreSQL, production
// logging to a file) with a real authorization server (oidc-provider) on 127.0.0.1.
// Load comes from autocannon in a separate process. Everything is bounded and stops by
// itself; the figures are printed, not asserted.
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { runningEmbeddedUrl } from '../src/store/embedded.js'
import { generateEncryptionKey } from '../src/store/encryption.js'
import { providerEntryFor, startAuthorizationServer } from '../test/support/authorization-server.js'
import { freePort } from '../test/support/broker.js'
import { apiClient, connectUser } from '../test/support/connect.js'
import { spawnBroker, type BrokerProcess } from '../test/support/process.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10)
const STORM_CONNECTIONS = 50
const STORM_CALLERS = 20

interface Run {
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
}

function autocannon(
  url: string,
  connections: number,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Run> {
  const args = [
    join(ROOT, 'node_modules/autocannon/autocannon.js'),
    '-j',
    '-c',
    String(connections),
    '-d',
    String(DURATION_S),
  ]
  if (options.method) args.push('-m', options.method)
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}=${v}`)
  if (options.body !== undefined) args.push('-b', options.body)
  args.push(url)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), (DURATION_S + 30) * 1000)
    child.on('exit', () => {
      clearTimeout(timer)
      try {
        const r = JSON.parse(out) as {
          requests: { average: number }
          latency: { p50: number; p99: number }
          errors: number
          non2xx: number
        }
        resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx })
      } catch (err) {
        reject(new Error(`autocannon output not understood: ${(err as Error).message}`))
      }
    })
  })
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'broker-bench-'))
  chmodSync(dir, 0o755)
  const brokers: BrokerProcess[] = []
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const as = await startAuthorizationServer({
    redirectUris: [`${publicUrl}/oauth/callback/bench`],
    accessTokenTtlSeconds: 3600,
  })
  try {
    const providersFile = join(dir, 'providers.json')
    writeFileSync(
      providersFile,
      JSON.stringify({
        providers: {
          bench: providerEntryFor(as),
        },
      }),
    )
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
    }
    const log = openSync(join(dir, 'broker.log'), 'a')
    const broker = spawnBroker({ env, port, stdio: log })
    brokers.push(broker)
    await broker.waitReady(30_000)

    const tokenFor = async (url: string) => {
      const res = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic(env.BOOTSTRAP_CLIENT_ID, env.BOOTSTRAP_CLIENT_SECRET)}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      })
      return ((await res.json()) as { access_token: string }).access_token
    }
    const token = await tokenFor(publicUrl)
    const api = apiClient({ url: publicUrl } as never, token)
    // The bootstrap client confirms end users by default; the benchmark's service needs no confirmation step.
    const connectionId = await connectUser(api, as, { provider: 'bench', ownerId: 'bench-user', confirm: false })

    console.log(
      `\nOAuth broker benchmark — ${cpus().length} cores, Node ${process.version}, ` +
        `${DURATION_S} s per run, production logging (info, to a file)\n`,
    )
    const vend = {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    }
    const tokenUrl = `${publicUrl}/v1/connections/${connectionId}/access-token`
    const rows: Array<[string, number, Run]> = []
    for (const c of [64, 8]) {
      rows.push(['GET /healthz', c, await autocannon(`${publicUrl}/healthz`, c)])
      rows.push(['POST /v1/connections/:id/access-token', c, await autocannon(tokenUrl, c, vend)])
    }
    console.log('route                                   conns      req/s   p50 ms   p99 ms   errors')
    for (const [route, c, r] of rows) {
      console.log(
        route.padEnd(40) +
          String(c).padStart(5) +
          r.rps.toFixed(0).padStart(11) +
          [r.p50, r.p99, r.errors + r.non2xx].map((n) => String(n).padStart(9)).join(''),
      )
    }
    const at = (route: string, c: number) => rows.find(([n, cc]) => n.startsWith(route) && cc === c)![2]
    const ratio = at('POST', 64).rps / at('GET', 64).rps
    console.log(`\ntoken/healthz throughput at 64 connections: ${(ratio * 100).toFixed(1)} % (target >= 10 %)`)
    console.log(`token p99 at 8 connections: ${at('POST', 8).p99} ms (target <= 10 ms)`)

    // Refresh storm: N connections expiring at once, M concurrent callers each, spread over
    // two broker replicas sharing the database.
    const port2 = await freePort()
    const databaseUrl = runningEmbeddedUrl(env.DATA_DIR)!
    const replica = spawnBroker({
      env: { ...env, DATABASE_URL: databaseUrl, PUBLIC_URL: `http://127.0.0.1:${port2}` },
      port: port2,
      stdio: log,
    })
    brokers.push(replica)
    await replica.waitReady(30_000)
    const token2 = await tokenFor(`http://127.0.0.1:${port2}`)
    const ids: string[] = []
    for (let i = 0; i < STORM_CONNECTIONS; i++)
      ids.push(await connectUser(api, as, { provider: 'bench', ownerId: `storm-${i}`, confirm: false }))
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    // Every token is an hour old and expires in 10 s: every caller (default
    // minValiditySeconds 60) needs a refresh. Replicas learn of the change by notification.
    await db.query(
      `UPDATE connections SET token_obtained_at = now() - interval '3590 ` +
        `seconds', expires_at = now() + interval '10 seconds' WHERE id = ANY($1)`,
      [ids],
    )
    for (const id of ids)
      await db.query(`SELECT pg_notify('oauth_broker_changes', $1)`, [JSON.stringify({ topic: 'connection', id })])
    const before = as.tokenRequests.length
    const started = Date.now()
    const calls = ids.flatMap((id) =>
      Array.from({ length: STORM_CALLERS }, (_, i) =>
        fetch(`${i % 2 ? `http://127.0.0.1:${port2}` : publicUrl}/v1/connections/${id}/access-token`, {
          method: 'POST',
          headers: { authorization: `Bearer ${i % 2 ? token2 : token}`, 'content-type': 'application/json' },
          body: '{}',
        }).then(async (r) => ({
          id,
          status: r.status,
          token: ((await r.json()) as { accessToken?: string }).accessToken,
        })),
      ),
    )
    const results = await Promise.all(calls)
    const ms = Date.now() - started
    const refreshes = as.tokenRequests.slice(before).filter((r) => r.grantType === 'refresh_token').length
    const { rows: events } = await db.query<{ connection_id: string; n: string }>(
      'SELECT connection_id, count(*) AS n FROM audit_events WHERE type = ' +
        `'connection.refresh_succeeded' AND connection_id = ANY($1) GROUP BY 1`,
      [ids],
    )
    await db.end()
    const perConnection = ids.map((id) => Number(events.find((e) => e.connection_id === id)?.n ?? 0))
    const distinctTokens = ids.map((id) => new Set(results.filter((r) => r.id === id).map((r) => r.token)).size)
    console.log(
      `\nrefresh storm: ${STORM_CONNECTIONS} connections expiring at once ` +
        `× ${STORM_CALLERS} concurrent callers each, 2 replicas, ${ms} ms`,
    )
    console.log(
      `  provider refresh calls: ${refreshes} for ${STORM_CONNECTIONS} connections = ` +
        `${(refreshes / STORM_CONNECTIONS).toFixed(2)} per connection (target exactly 1)`,
    )
    console.log(
      `  refreshes per connection (audit): min ${Math.min(...perConnection)}, max ${Math.max(...perConnection)}`,
    )
    console.log(
      `  distinct tokens handed out per connection: max ${Math.max(...distinctTokens)}; ` +
        `non-200 answers: ${results.filter((r) => r.status !== 200).length}`,
    )
  } finally {
    await Promise.all(brokers.map((b) => b.stop()))
    await as.close()
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

/** HTTP Basic credentials (RFC 6749 §2.3.1). */
function basic(id: string | undefined, secret: string | undefined): string {
  return Buffer.from(`${id}:${secret}`).toString('base64')
}
