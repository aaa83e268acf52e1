// What /metrics tells ops: standard process metrics without a prefix, the build, connections
// by provider and status, provider call durations by operation and outcome, one family for
// broker-token outcomes; and every metric the example dashboard and alert rules in docs/
// name is one the broker serves.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { CONNECTION_COUNT_MAX_AGE_MS } from '../../src/connections/connection-gauge.js'
import { startBroker, type TestBroker } from '../support/broker.js'
import { apiClient, type Api } from '../support/connect.js'
import { metric } from '../support/faults.js'

let broker: TestBroker
let api: Api

beforeAll(async () => {
  // Nobody listens on port 1: every refresh is a provider outage (network_error).
  broker = await startBroker({
    providers: {
      idp: {
        authorizationUrl: 'http://127.0.0.1:1/auth',
        tokenUrl: 'http://127.0.0.1:1/token',
        clientId: 'c',
        clientSecret: 's',
        scopes: ['openid'],
      },
    },
  })
  api = apiClient(broker, await broker.token())
})
afterAll(async () => broker?.close())

const scrape = async () => (await fetch(`${broker.url}/metrics`)).text()

describe('/metrics', () => {
  it('serves the standard process and Node.js metrics under their own names, and the build', async () => {
    const text = await scrape()
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds'])
      expect(text).toMatch(new RegExp(`^${name} `, 'm'))
    expect(text).not.toMatch(/^broker_process_/m)
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
    expect(text).toContain(`broker_build_info{version="${pkg.version}",node_version="${process.version}"} 1`)
  })

  it('counts connections by provider and status, and times provider calls by operation and outcome', async () => {
    const expired = new Date(Date.now() - 60_000).toISOString()
    const ids: string[] = []
    for (const n of [1, 2, 3]) {
      const credentials = { accessToken: `at-metrics-${n}`, refreshToken: `rt-metrics-${n}`, expiresAt: expired }
      const res = await api('POST', '/v1/connections', { provider: 'idp', ownerId: `u${n}`, credentials })
      expect(res.status).toBe(201)
      ids.push(res.body.id)
    }
    await broker.db.prisma.connection.update({ where: { id: ids[0]! }, data: { status: 'reauthorization_required' } })
    const refresh = await api('POST', `/v1/connections/${ids[1]}/access-token`, {})
    expect([refresh.status, refresh.body.code]).toEqual([503, 'provider_unavailable'])
    // The count is at most a minute old: move past it.
    broker.clock.advance(CONNECTION_COUNT_MAX_AGE_MS / 1000 + 1)
    expect(await metric(broker.url, 'broker_connections', { provider: 'idp', status: 'active' })).toBe(2)
    expect(
      await metric(broker.url, 'broker_connections', { provider: 'idp', status: 'reauthorization_required' }),
    ).toBe(1)
    const calls = { provider: 'idp', operation: 'refresh', outcome: 'network_error' }
    expect(await metric(broker.url, 'broker_provider_request_duration_seconds_count', calls)).toBeGreaterThanOrEqual(1)
  })

  it('counts broker tokens issued and refused in one family', async () => {
    await broker.token()
    const refused = await fetch(`${broker.url}/v1/connections`, { headers: { authorization: 'Bearer not.a.token' } })
    expect(refused.status).toBe(401)
    expect(await metric(broker.url, 'broker_tokens_total', { outcome: 'issued' })).toBeGreaterThanOrEqual(2)
    expect(await metric(broker.url, 'broker_tokens_total', { outcome: 'invalid_token' })).toBeGreaterThanOrEqual(1)
  })
})

/** Metric names in PromQL expressions (histogram series reduced to their family). */
function metricNames(exprs: string[]): Set<string> {
  const names = new Set<string>()
  for (const expr of exprs) {
    for (const m of expr.matchAll(/\b(?:broker|process|nodejs)_[a-z0-9_]+/g))
      names.add(m[0].replace(/_(bucket|count|sum)$/, ''))
  }
  return names
}

/** The label names a served metric family has (histogram series by their family). */
function labelsOf(family: string): string[] {
  const found = broker.app.services.metrics.registry.getSingleMetric(family)
  return (found as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? []
}

/** Labels an expression selects or groups by that none of its metrics has: a panel that shows nothing. */
function unknownLabels(expr: string): string[] {
  const unknown: string[] = []
  for (const [, name, selector] of expr.matchAll(/\b((?:broker|process|nodejs)_[a-z0-9_]+)\{([^}]*)\}/g)) {
    const family = name!.replace(/_(bucket|count|sum)$/, '')
    for (const [, label] of selector!.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g))
      if (!labelsOf(family).includes(label!)) unknown.push(`${name}{${label}}`)
  }
  const families = [...metricNames([expr])]
  // Target labels Prometheus adds, and `le` of histogram buckets.
  const given = ['instance', 'job', ...(expr.includes('_bucket') ? ['le'] : [])]
  for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of list!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean))
      if (!given.includes(label) && !families.some((f) => labelsOf(f).includes(label))) unknown.push(`by ${label}`)
  }
  return unknown
}

describe('the dashboard and alert rules in docs/', () => {
  it('name only metrics the broker serves', async () => {
    const dashboard = JSON.parse(readFileSync('docs/grafana-dashboard.json', 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>
    }
    const alerts = parse(readFileSync('docs/prometheus-alerts.yml', 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>
    }
    const rules = alerts.groups.flatMap((g) => g.rules)
    // The alerts the operations guide promises.
    for (const topic of ['Reauthorization', 'ProviderErrorRate', 'RefreshLag', 'WebhookBacklog'])
      expect(rules.some((r) => r.alert.includes(topic))).toBe(true)
    const named = metricNames([
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...rules.map((r) => r.expr),
    ])
    expect(named.size).toBeGreaterThan(10)
    const text = await scrape()
    const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
    const missing = [...named].filter((n) => !served.has(n))
    expect(missing).toEqual([])
    const exprs = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...rules.map((r) => r.expr)]
    expect(exprs.flatMap((e) => unknownLabels(e).map((l) => `${l} in ${e}`))).toEqual([])
    // The check can fail: a label no metric has is found.
    expect(unknownLabels('sum by (tenant) (broker_connections{state="x"})')).toEqual([
      'broker_connections{state}',
      'by tenant',
    ])
  })
})
