// The deployment files, read statically (fast, in `npm test`): docker-compose.yml has the
// expected shape and gives the broker every variable its configuration requires (checked by
// loading the config the way the container would see it), and the Dockerfile runs the very
// start command the tests use. scripts/compose-test.sh (`npm run test:compose`) runs them.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { ENVIRONMENT_VARIABLES, loadConfig } from '../src/config.js'
import { generateEncryptionKey } from '../src/store/encryption.js'
import { START_COMMAND } from './support/process.js'
import type { Json } from './support/json.js'

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
type Service = Record<string, Json>
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}

/** KEY=VALUE lines of an env file, empty secrets (and placeholders) filled as its comments say. */
function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim())
    if (!m) continue
    let value = m[2]!
    if (value === '' || value.startsWith('REPLACE'))
      value = m[1] === 'ENCRYPTION_KEY' ? generateEncryptionKey() : randomBytes(32).toString('hex')
    out[m[1]!] = value
  }
  return out
}

/** Compose's `${VAR}`, `${VAR:?message}` and `${VAR:-default}` interpolation. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z_][A-Z0-9_]*)(?::\?([^}]*)|:-([^}]*))?\}/g,
    (_match, name: string, required?: string, fallback?: string) => {
      if (env[name] === undefined && required !== undefined) throw new Error(`compose would refuse: ${name} unset`)
      return env[name] || (fallback ?? '')
    },
  )
}

describe('docker-compose.yml', () => {
  const { postgres, broker } = compose.services as { postgres: Service; broker: Service }

  it('runs PostgreSQL with a volume and a healthcheck, and the broker only once it is healthy', () => {
    // The PostgreSQL major of development and tests (embedded) too.
    expect(postgres.image).toBe('postgres:17')
    expect(postgres.volumes[0]).toMatch(/^postgres-data:\/var\/lib\/postgresql\/data$/)
    expect(compose.volumes).toHaveProperty('postgres-data')
    expect(postgres.healthcheck.test.join(' ')).toContain('pg_isready')
    expect(broker.depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
    expect(broker.build).toBe('.')
  })

  it(
    'hardens the broker container: env file for secrets, read-only, ' +
      'no new privileges, no capabilities, restart, healthcheck',
    () => {
      expect(broker.env_file).toBe('.env')
      expect(broker.read_only).toBe(true)
      expect(broker.security_opt).toContain('no-new-privileges:true')
      expect(broker.cap_drop).toEqual(['ALL'])
      expect(broker.restart).toBe('unless-stopped')
      expect(postgres.restart).toBe('unless-stopped')
      // CMD-SHELL: podman-compose 1.0.3 breaks the quoting of a CMD list (the compose test saw it).
      expect(broker.healthcheck.test[0]).toBe('CMD-SHELL')
      expect(broker.healthcheck.test[1]).toContain('http://127.0.0.1:3000/readyz')
      // Published on the host's loopback only (unauthenticated /metrics); PostgreSQL not at all.
      expect(broker.ports.map((p: string) => interpolate(p, {}))).toEqual(['127.0.0.1:3000:3000'])
      expect(broker.ports.map((p: string) => interpolate(p, { BROKER_PORT: '4000' }))).toEqual(['127.0.0.1:4000:3000'])
      expect(postgres.ports).toBeUndefined()
      // No secret value written in the compose file itself.
      for (const value of Object.values(broker.environment as Record<string, string>)) {
        expect(value).not.toMatch(/secret|password=/i)
      }
    },
  )

  it('gives the broker every variable its configuration requires (the config loads as the container sees it)', () => {
    const dotenv = envFile(read('.env.example'))
    const environment = { ...dotenv }
    for (const [k, v] of Object.entries(broker.environment as Record<string, string>))
      environment[k] = interpolate(String(v), dotenv)
    const providersPath = environment.PROVIDERS_FILE!
    expect(broker.volumes).toContain(`./providers.yaml:${providersPath}:ro`)
    const config = loadConfig(environment, (path) => {
      if (path !== providersPath) throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
      return read('providers.example.yaml')
    })
    expect(config.databaseUrl).toMatch(/^postgresql:\/\/broker:.+@postgres:5432\/broker$/)
    expect(config.encryptionKeys).toHaveLength(1)
    expect(config.bootstrap?.clientId).toBe('platform-admin')
    expect(config.port).toBe(3000)
    expect(config.host).toBe('0.0.0.0')
    expect([...config.providers.keys()]).toEqual([
      'chatwork',
      'livechat',
      'zendesk-chat',
      'respondio',
      'interact',
      'acme',
    ])
  })

  it('runs PostgreSQL read-only too, writing only to its volume and tmpfs folders', () => {
    expect(postgres.read_only).toBe(true)
    expect(postgres.tmpfs).toEqual(['/var/run/postgresql', '/tmp'])
    expect(postgres.security_opt).toContain('no-new-privileges:true')
    expect(postgres.cap_drop).toEqual(['ALL'])
  })

  it('only sets variables the broker knows (no typos), besides the database password and provider secrets', () => {
    const known = new Set<string>(ENVIRONMENT_VARIABLES)
    const providerVars = [...read('providers.example.yaml').matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1])
    const names = [...Object.keys(envFile(read('.env.example'))), ...Object.keys(broker.environment)]
    const unknown = names.filter((n) => !known.has(n) && n !== 'POSTGRES_PASSWORD' && !providerVars.includes(n))
    expect(unknown).toEqual([])
  })
})

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile')
  const stages = dockerfile.split(/^FROM /m).slice(1)

  it('is multi-stage on a Node LTS image, given as a build argument, and runs as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=(2[2468])$/m)
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=docker\.io\/library\/node:\$\{NODE_VERSION\}-trixie-slim$/m)
    for (const stage of stages) expect(stage).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/m)
    const runtime = stages.at(-1)!
    // Numeric, so that a platform enforcing "non-root" can check it without /etc/passwd.
    expect(runtime).toMatch(/^USER 1000:1000$/m)
    expect(runtime).toContain('--omit=dev')
  })

  it('starts with the same command as `npm start` and the tests', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)![1]!
    expect(JSON.parse(cmd)).toEqual(['node', ...START_COMMAND])
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
    expect(pkg.scripts.start).toBe(`node ${START_COMMAND.join(' ')}`)
  })

  it('puts the ops command line on the PATH, the same file as the package bin', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> }
    expect(pkg.bin).toEqual({ 'oauth-broker': 'dist/cli.js' })
    expect(read('src/cli.ts').split('\n')[0]).toBe('#!/usr/bin/env node')
    expect(stages.at(-1)!).toContain('ln -s /app/dist/cli.js /usr/local/bin/oauth-broker')
  })

  it('bakes no secret into a layer', () => {
    for (const line of dockerfile.split('\n').filter((l) => /^(ENV|ARG)\b/.test(l))) {
      expect(line).not.toMatch(/SECRET|PASSWORD|ENCRYPTION_KEY|DATABASE_URL|TOKEN/i)
    }
    const ignored = read('.dockerignore')
    for (const entry of ['.env', '.env.*', '.data', 'providers.yaml']) expect(ignored.split('\n')).toContain(entry)
  })
})
