// Probes of the scale benchmark (scripts/bench-scale.ts): the broker process's CPU time and
// memory, the database's size, and the proactive refresher's progress.
import { readFileSync } from 'node:fs'
import type pg from 'pg'
import { makeDue } from './bench-scale-seed.js'

/**
 * CPU time a process has used so far, in ms (/proc/<pid>/stat, 100 ticks a second);
 * `system`: the kernel's part only.
 */
export function cpuMs(pid: number, only?: 'system'): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  const system = Number(fields[12])
  return (only === 'system' ? system : Number(fields[11]) + system) * 10
}

export /** Peak resident set size of a process, sampled every 250 ms while `during` runs (MB). */
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

/** The broker's own memory figures (prom-client default metrics), MB. */
export async function memory(origin: string): Promise<string> {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const mb = (name: string) => {
    const m = new RegExp(`^(?:broker_)?${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
    return m ? (Number(m[1]) / 2 ** 20).toFixed(0) : '?'
  }
  return (
    `rss ${mb('process_resident_memory_bytes')}, heap used ${mb('nodejs_heap_size_used_bytes')} ` +
    `of ${mb('nodejs_heap_size_total_bytes')}, external ${mb('nodejs_external_memory_bytes')} MB`
  )
}

export async function databaseSize(db: pg.Client): Promise<void> {
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

export async function refresherRun(
  db: pg.Client,
  ids: string[],
  calls: () => number,
  { windowSeconds: WINDOW_S, providerDelayMs }: { windowSeconds: number; providerDelayMs: number },
): Promise<void> {
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
    `\nproactive refresher, 2 replicas, provider answering in ${providerDelayMs} ms: ${ids.length} connections ` +
      `due within a ${WINDOW_S} s window; ${state.done} refreshed in ${seconds.toFixed(0)} s ` +
      `(${(state.done / seconds).toFixed(1)}/s), ${state.early} before their token expired, ` +
      `${calls() - before} provider calls (target: all ${ids.length} within the window)`,
  )
}

/** EXPLAIN ANALYZE of the reads that scale with the table: the plan's first line and its time. */
export async function explainReads(db: pg.Client, id: string, owner: string): Promise<void> {
  const cols = 'id, provider, owner_id, namespace, status, scopes, expires_at, metadata, params'
  const reads: Array<[string, string, unknown[]]> = [
    ['row by id', 'SELECT * FROM connections WHERE id = $1', [id]],
    ['first page', `SELECT ${cols} FROM connections WHERE status <> 'revoked' ORDER BY id LIMIT 51`, []],
    [
      'owner page',
      `SELECT ${cols} FROM connections WHERE owner_id = $1 AND status <> 'revoked' ORDER BY id LIMIT 51`,
      [owner],
    ],
    [
      'two namespaces',
      `SELECT page.* FROM (SELECT DISTINCT unnest($1::text[])) AS held(namespace), LATERAL (SELECT ${cols}
         FROM connections WHERE namespace = held.namespace AND status <> 'revoked' ORDER BY id LIMIT 51) AS page
       ORDER BY page.id LIMIT 51`,
      [['crm', 'hr']],
    ],
  ]
  console.log('')
  for (const [name, sql, params] of reads) {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)
    const plan = rows.map((r) => r['QUERY PLAN'])
    const scans = plan.filter((l) => /Scan|Sort /.test(l)).map((l) => l.trim().replace(/\s+\(cost.*$/, ''))
    console.log(`EXPLAIN ${name}: ${plan.find((l) => l.startsWith('Execution Time'))}; ${scans.join('; ')}`)
  }
}
