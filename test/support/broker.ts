// An in-process broker on a real PostgreSQL database, listening on 127.0.0.1, with its
// log lines captured for assertions (and, on close, handed to the run-wide secrets check
// with the secrets it was configured with or issued: test/support/secrets.ts).
import { createServer } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { inject } from 'vitest'
import { buildApp } from '../../src/app.js'
import type { Clock } from '../../src/clock.js'
import { loadConfig, type Config } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import type { ResolveHost } from '../../src/oauth/network.js'
import type { Timings } from '../../src/services.js'
import { ChangeFeed } from '../../src/store/changes.js'
import { openDatabase, type Database } from '../../src/store/db.js'
import { Keyring, parseEncryptionKeys } from '../../src/store/encryption.js'
import { createDatabase } from './db.js'
import {
  appendLogLines,
  registerEncryptionKeys,
  registerEnvSecrets,
  registerIssuedSecrets,
  registerProviderSecrets,
} from './secrets.js'
import { recorder } from './documented-responses.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Writes a providers file (JSON is valid YAML) and returns its path. */
export function writeProvidersFile(providers: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'broker-providers-')), 'providers.json')
  writeFileSync(file, JSON.stringify({ providers }))
  return file
}

export const BOOTSTRAP_ID = 'bootstrap-admin'
export const BOOTSTRAP_SECRET = 'test-bootstrap-secret-0123456789-abcdefghij'
export const ENCRYPTION_KEY = 'nV1QZq3u0m6yq0x8m8y0b2rY1gkq4c8a0Jg2W3sX4yE='

export class TestClock implements Clock {
  offsetMs = 0
  now(): Date {
    return new Date(Date.now() + this.offsetMs)
  }
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000
  }
  /** Moves the clock so that now is `at` (it keeps running from there). */
  set(at: Date | string): void {
    this.offsetMs = new Date(at).getTime() - Date.now()
  }
}

export interface TestBroker {
  app: FastifyInstance
  url: string
  config: Config
  db: Database
  databaseUrl: string
  logs: string[]
  clock: TestClock
  /** A broker token for the bootstrap client (every scope unless narrowed). */
  token(scope?: string): Promise<string>
  close(): Promise<void>
}

/**
 * Records every response whose status the route's schema (hence openapi.yaml) does not
 * declare; closing the test broker fails when there was one. Every test run thus checks
 * that the service answers only what it documents. Every response served is also written
 * down for the other half of the check: after a complete run, global-setup fails when a
 * documented response was never served (test/support/documented-responses.ts).
 */
function watchResponses(app: FastifyInstance): Set<string> {
  const seen = new Set<string>()
  const record = recorder(inject('servedResponsesDir'))
  app.addHook('onResponse', async (request, reply) => {
    const schema = request.routeOptions.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined
    if (!request.routeOptions.url || schema?.hide || request.routeOptions.url.startsWith('/docs')) return
    // HEAD routes are Fastify's automatic copies of GET routes, not documented on their own.
    if (request.method !== 'HEAD') record(request.method, request.routeOptions.url, reply.statusCode)
    const documented = Object.keys(schema?.response ?? {})
    if (!documented.includes(String(reply.statusCode)))
      seen.add(`${request.method} ${request.routeOptions.url} → ${reply.statusCode}`)
  })
  return seen
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** How much of each captured log array was already handed over (brokers may share one). */
const flushed = new WeakMap<string[], number>()
function flushLogs(logs: string[]): void {
  appendLogLines(logs.slice(flushed.get(logs) ?? 0))
  flushed.set(logs, logs.length)
}

export async function startBroker(
  options: {
    env?: Record<string, string>
    databaseUrl?: string
    logs?: string[]
    port?: number
    providers?: Record<string, unknown>
    /** DNS for user-supplied provider hosts (e.g. a test name resolving to an internal address). */
    resolveHost?: ResolveHost
    /** Shorter waits than production's (persist-retry window, lock margin, cache age). */
    timings?: Partial<Timings>
    /** Called with the built app before it listens (to add hooks). */
    prepare?: (app: FastifyInstance) => void
    /**
     * Keep the bootstrap client's requireConfirmation (true, as in production). Off by
     * default: tests not about confirmation expect a connect flow to end `connected`.
     */
    requireConfirmation?: boolean
  } = {},
): Promise<TestBroker> {
  const database = options.databaseUrl ? undefined : await createDatabase()
  const databaseUrl = options.databaseUrl ?? database!.url
  const port = options.port ?? (await freePort())
  const providersFile = options.providers ? writeProvidersFile(options.providers) : undefined
  const env = {
    ...(providersFile ? { PROVIDERS_FILE: providersFile } : {}),
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    ENCRYPTION_KEY,
    BOOTSTRAP_CLIENT_ID: BOOTSTRAP_ID,
    BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP_SECRET,
    BOOTSTRAP_RETURN_URLS: 'https://app.example.com/connected,http://127.0.0.1/return',
    LOG_LEVEL: 'info',
    // The production default (2 s) would let the background refresher race a test's own
    // calls on connections it made expired; tests of the refresher set their own.
    REFRESH_INTERVAL_SECONDS: '30',
    ...options.env,
  }
  registerEnvSecrets(env)
  registerProviderSecrets(options.providers)
  const config = loadConfig(env)
  registerEncryptionKeys(config.encryptionKeys)
  const logs = options.logs ?? []
  const log = createLogger(config.logLevel, { write: (line: string) => void logs.push(line) })
  const db = openDatabase(databaseUrl, {
    poolSize: config.databasePoolSize,
    log,
    timeouts: config.databaseTimeouts,
  })
  const keyring = new Keyring(config.encryptionKeys ?? parseEncryptionKeys(ENCRYPTION_KEY))
  const changes = new ChangeFeed(databaseUrl, log)
  await changes.start()
  const clock = new TestClock()
  const app = await buildApp(config, {
    db,
    keyring,
    log,
    changes,
    clock,
    resolveHost: options.resolveHost,
    timings: options.timings,
  })
  const undocumented = watchResponses(app)
  app.addHook('onSend', async (_request, _reply, payload) => {
    registerIssuedSecrets(payload)
    return payload
  })
  options.prepare?.(app)
  await app.services.start()
  if (!options.requireConfirmation && app.services.clients.cached(BOOTSTRAP_ID)?.requireConfirmation)
    await app.services.clients.update(
      BOOTSTRAP_ID,
      { requireConfirmation: false },
      { actor: 'test', namespaces: ['*'] },
    )
  await app.listen({ port, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${port}`
  return {
    app,
    url,
    config,
    db,
    databaseUrl,
    logs,
    clock,
    async token(scope?: string) {
      const res = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${BOOTSTRAP_ID}:${BOOTSTRAP_SECRET}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
      })
      if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { access_token: string }).access_token
    },
    async close() {
      await app.close()
      flushLogs(logs)
      if (undocumented.size)
        throw new Error(`responses not documented in the route schemas (openapi.yaml): ${[...undocumented].join(', ')}`)
      await changes.close()
      await db.close()
      await database?.drop()
    },
  }
}
