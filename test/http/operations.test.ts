// Operations endpoints, and the HTTP error contract: problem+json with a stable code for
// every refused request, never a stack trace.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type TestBroker } from '../support/broker.js'
import { createDatabase } from '../support/db.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

let broker: TestBroker
let proxy: TcpProxy
let dropDb: () => Promise<void>
let databaseUrl: string

beforeAll(async () => {
  const db = await createDatabase()
  dropDb = db.drop
  databaseUrl = db.url
  const u = new URL(db.url)
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) })
  broker = await startBroker({ databaseUrl: proxy.url(db.url) })
})
afterAll(async () => {
  await broker?.close()
  await proxy?.close()
  await dropDb?.()
})

describe('operations', () => {
  it('/healthz is up', async () => {
    const res = await fetch(`${broker.url}/healthz`)
    expect([res.status, await res.json()]).toEqual([200, { status: 'ok' }])
  })

  it('/readyz flips to 503 while the database is unreachable and recovers without a restart', async () => {
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200)
    proxy.down()
    const down = await fetch(`${broker.url}/readyz`)
    expect(down.status).toBe(503)
    expect(await down.json()).toEqual({
      status: 'unavailable',
      checks: { database: 'unreachable', migrations: 'unknown' },
    })
    // An API call during the outage is a 503 problem, not a crash or a 500.
    const token = await fetch(`${broker.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=a&client_secret=b',
    })
    expect([token.status, ((await token.json()) as { error: string }).error]).toEqual([503, 'temporarily_unavailable'])
    proxy.up()
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${broker.url}/readyz`)).status
      if (status !== 200) await new Promise((r) => setTimeout(r, 100))
    }
    expect(status).toBe(200)
  })

  it(
    '/readyz is 503 while a migration is pending (a ' + 'newer schema than the database has), 200 once applied',
    async () => {
      const c = new pg.Client({ connectionString: databaseUrl })
      await c.connect()
      try {
        expect((await fetch(`${broker.url}/readyz`)).status).toBe(200)
        // As if this broker were one release ahead of the database: its newest migration unrecorded.
        const { rows } = await c.query(
          'DELETE FROM "_prisma_migrations" WHERE migration_name = (SELECT ' +
            'max(migration_name) FROM "_prisma_migrations") RETURNING *',
        )
        expect(rows).toHaveLength(1)
        const pending = await fetch(`${broker.url}/readyz`)
        expect(pending.status).toBe(503)
        expect(await pending.json()).toEqual({
          status: 'unavailable',
          checks: { database: 'ok', migrations: 'pending' },
        })

        const row = rows[0]
        await c.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, ' +
            'rolled_back_at, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [
            row.id,
            row.checksum,
            row.finished_at,
            row.migration_name,
            row.logs,
            row.rolled_back_at,
            row.started_at,
            row.applied_steps_count,
          ],
        )
        const ready = await fetch(`${broker.url}/readyz`)
        expect(ready.status).toBe(200)
        expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } })
      } finally {
        await c.end()
      }
    },
  )

  it('/metrics exposes Prometheus counters of what happened', async () => {
    await broker.token()
    const res = await fetch(`${broker.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text).toMatch(/broker_tokens_total\{outcome="issued"\} \d+/)
    expect(text).toMatch(/broker_http_requests_total\{method="GET",route="\/healthz",status_code="200"\} \d+/)
    expect(text).toMatch(/^process_cpu_seconds_total \d/m)
  })
})

describe('graceful shutdown', () => {
  /** One request on its own connection, with the raw headers (fetch hides `connection`). */
  function send(url: string, method: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { method, agent: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      })
      req.on('error', reject)
      req.end()
    })
  }

  it("refuses every route while draining: 503 shutting_down in the route's own format, Connection: close", async () => {
    // A preClose hook that holds the drain open: the server still accepts connections, as it
    // does for requests racing the shutdown on keep-alive connections.
    let draining!: () => void
    const drainStarted = new Promise<void>((r) => (draining = r))
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const b = await startBroker({
      prepare: (app) =>
        app.addHook('preClose', async () => {
          draining()
          await released
        }),
    })
    const token = await b.token()
    expect((await fetch(`${b.url}/v1/providers`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const closed = b.close()
    try {
      await drainStarted
      const routes = b.app.routeTable.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'))
      expect(routes.length).toBeGreaterThan(20)
      for (const route of routes) {
        const res = await send(b.url + route.url.replace(/:[A-Za-z]+/g, 'x'), route.method)
        const what = `${route.method} ${route.url}`
        expect(res.status, what).toBe(503)
        expect(res.headers.connection, what).toBe('close')
        expect(res.headers['retry-after'], what).toBe('2')
        expect(res.headers['x-request-id'], what).toMatch(/^[0-9a-f-]{36}$/)
        if (route.url === '/oauth/token') {
          // RFC 6749 §5.2, which OAuth client libraries parse.
          expect(JSON.parse(res.body), what).toEqual({
            error: 'temporarily_unavailable',
            error_description: 'shutting_down',
          })
          expect(res.headers['cache-control']).toBe('no-store')
        } else if (route.url.startsWith('/connect/') || route.url.startsWith('/oauth/callback/')) {
          expect(res.headers['content-type'], what).toMatch(/^text\/html/)
          expect(res.body, what).toContain('shutting_down')
        } else {
          expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/)
          expect(JSON.parse(res.body), what).toMatchObject({ status: 503, code: 'shutting_down', type: 'about:blank' })
        }
      }
    } finally {
      release()
      await closed
    }
    // A refusal while draining is not an error in the log.
    expect(b.logs.filter((l) => l.includes('shutting_down') && l.includes('"level":50'))).toEqual([])
  })
})

describe('error contract', () => {
  async function expectProblem(res: Response, status: number, code: string) {
    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({ status, code, type: 'about:blank' })
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+|stack/i)
  }
  const auth = async () => ({ authorization: `Bearer ${await broker.token()}` })

  it('404 for an unknown route', async () => {
    await expectProblem(await fetch(`${broker.url}/nope/../../etc/passwd`), 404, 'not_found')
  })
  it('415 for a body that is not JSON', async () => {
    const res = await fetch(`${broker.url}/v1/service-clients`, {
      method: 'POST',
      headers: { ...(await auth()), 'content-type': 'text/plain' },
      body: 'name=x',
    })
    await expectProblem(res, 415, 'unsupported_media_type')
  })
  it('400 for malformed JSON and for a prototype-poisoning body', async () => {
    const headers = { ...(await auth()), 'content-type': 'application/json' }
    await expectProblem(
      await fetch(`${broker.url}/v1/service-clients`, { method: 'POST', headers, body: '{"name": ' }),
      400,
      'invalid_request',
    )
    await expectProblem(
      await fetch(`${broker.url}/v1/service-clients`, {
        method: 'POST',
        headers,
        body: '{"name":"x","scopes":["tokens:read"],"__proto__":{"admin":true}}',
      }),
      400,
      'invalid_request',
    )
  })
  it(
    '500 on every route when something breaks: in the ' + "route's own format, no internals, logged as an error",
    async () => {
      // A fault injected in front of every route (an onRequest hook of the test, thrown like
      // any unexpected exception), so each route's error path is exercised.
      const b = await startBroker({
        prepare: (app) =>
          app.addHook('onRequest', async (request) => {
            if (request.headers['x-test-fault'] === 'throw')
              throw new TypeError('injected fault at /srv/broker/dist/x.js:1:1')
          }),
      })
      try {
        // Past authentication, so that the fault is what answers.
        const authorization = `Bearer ${await b.token()}`
        const routes = b.app.routeTable.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'))
        expect(routes.length).toBeGreaterThan(20)
        for (const route of routes) {
          const res = await fetch(b.url + route.url.replace(/:[A-Za-z]+/g, 'x'), {
            method: route.method,
            headers: { 'x-test-fault': 'throw', authorization },
          })
          const what = `${route.method} ${route.url}`
          const text = await res.text()
          expect(res.status, what).toBe(500)
          expect(text, what).not.toMatch(/injected|TypeError|\/srv\/broker/)
          if (route.url === '/oauth/token') {
            expect(JSON.parse(text), what).toEqual({ error: 'server_error' })
          } else if (route.url.startsWith('/connect/') || route.url.startsWith('/oauth/callback/')) {
            expect(res.headers.get('content-type'), what).toMatch(/^text\/html/)
            expect(text, what).toContain('internal_error')
          } else {
            expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/)
            expect(JSON.parse(text), what).toEqual({
              type: 'about:blank',
              title: 'Internal error',
              status: 500,
              code: 'internal_error',
            })
          }
        }
        const errors = b.logs
          .map((l) => JSON.parse(l) as { level: number; err?: { type: string } })
          .filter((l) => l.level === 50 && l.err?.type === 'TypeError')
        expect(errors).toHaveLength(routes.length)
      } finally {
        await b.close()
      }
    },
  )

  it('413 for an oversize body', async () => {
    const res = await fetch(`${broker.url}/v1/service-clients`, {
      method: 'POST',
      headers: { ...(await auth()), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(200_000), scopes: [] }),
    })
    await expectProblem(res, 413, 'payload_too_large')
  })
})
