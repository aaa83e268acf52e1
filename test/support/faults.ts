// Small helpers shared by the fault-injection tests (test/faults/): timed calls with their
// outcome, polling, direct SQL, reading sealed columns with the test key, and the figures
// each file prints at the end.
import pg from 'pg'
import { fieldContext, Keyring, parseEncryptionKeys } from '../../src/store/encryption.js'
import { ENCRYPTION_KEY } from './broker.js'
import type { Json } from './json.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 10,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** One HTTP call as seen by a client: when it started and ended, the status and problem code. */
export interface Outcome {
  kind: string
  id?: string
  start: number
  end: number
  /** 0 when no HTTP answer came at all (connection refused or reset, or the client timeout). */
  status: number
  code?: string
  body?: Json
  /** The Retry-After header, when the answer had one. */
  retryAfter?: string
}

export async function timedFetch(
  kind: string,
  url: string,
  init: RequestInit & { id?: string } = {},
): Promise<Outcome> {
  const start = Date.now()
  try {
    // Bounded: a call that hangs must show up as a failure, not stall the test.
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(25_000) })
    const text = await res.text()
    let body: Json
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      body = undefined
    }
    const retryAfter = res.headers.get('retry-after') ?? undefined
    return { kind, id: init.id, start, end: Date.now(), status: res.status, code: body?.code, body, retryAfter }
  } catch {
    return { kind, id: init.id, start, end: Date.now(), status: 0 }
  }
}

/** POST /v1/connections/:id/access-token with a broker token. */
export function vend(
  brokerUrl: string,
  token: string,
  id: string,
  body: Record<string, unknown> = {},
  kind = 'vend',
): Promise<Outcome> {
  return timedFetch(kind, `${brokerUrl}/v1/connections/${id}/access-token`, {
    id,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** One statement on its own connection (not the broker's pool). */
export async function sql<T extends pg.QueryResultRow = Json>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}

/** Broker sessions (not the LISTEN one) with a transaction idle or open for more than `ms`. */
export async function openBrokerTransactions(url: string, ms: number): Promise<number> {
  const rows = await sql<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'oauth-broker'
        AND (state = 'idle in transaction' OR xact_start < now() - make_interval(secs => $1))`,
    [ms / 1000],
  )
  return rows[0]!.n
}

export const testKeyring = (keys = ENCRYPTION_KEY) => new Keyring(parseEncryptionKeys(keys))

/** The plaintext of a sealed connection column, opened with the test's own keyring. */
export function openColumn(
  keyring: Keyring,
  id: string,
  column: 'access_token' | 'refresh_token',
  sealed: string | null,
): string | undefined {
  return sealed == null ? undefined : keyring.openString(sealed, fieldContext('connections', id, column))
}

/** A value of a Prometheus counter or gauge from /metrics (0 when absent). */
export async function metric(brokerUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${brokerUrl}/metrics`)).text()
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop())
  }
  return total
}

/** Prints the figures of a test file, one per line, so a run's log shows them together. */
export function printFigures(title: string, figures: Record<string, number | string>): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length))
  console.log(
    `\n[fault figures] ${title}\n${Object.entries(figures)
      .map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
      .join('\n')}\n`,
  )
}

/** Statuses by count, e.g. "200×512 503×40". */
export function histogram(outcomes: Outcome[]): string {
  const counts = new Map<string, number>()
  for (const o of outcomes) {
    const key = o.code && o.status >= 400 ? `${o.status}(${o.code})` : String(o.status)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return (
    [...counts]
      .sort()
      .map(([k, n]) => `${k}×${n}`)
      .join(' ') || '-'
  )
}
