// Configuration: every variable of the contract parsed into a typed config, each problem
// reported with the variable or providers-file path it concerns, secrets never echoed.
import { describe, expect, it } from 'vitest'
import { ConfigError, ENVIRONMENT_VARIABLES, loadConfig } from '../src/config.js'
import { readFileSync } from 'node:fs'

const KEY = 'nV1QZq3u0m6yq0x8m8y0b2rY1gkq4c8a0Jg2W3sX4yE='
// `openssl rand -hex 32`
const SECRET = '3f9a61c0b27e4d58a1c6e09b7f32d4a85e1b0c7d9f26a3e4b8c105d7e2f9a6b3'
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: 'ENOENT' })
}
const files = (map: Record<string, string>) => (path: string) => {
  if (path in map) return map[path]!
  return noFiles(path)
}

function problemsOf(env: Record<string, string>, readFile = noFiles): string[] {
  try {
    loadConfig(env, readFile)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

describe('environment', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({}, noFiles)
    expect(c.port).toBe(3000)
    expect(c.host).toBe('0.0.0.0')
    expect(c.publicUrl).toBe('http://localhost:3000')
    expect(c.databaseUrl).toBeUndefined()
    expect(c.dataDir).toMatch(/\/\.data$/)
    expect(c.encryptionKeys).toBeUndefined()
    expect(c.providerTimeoutMs).toBe(10_000)
    expect(c.brokerTokenTtlSeconds).toBe(300)
    expect(c.logLevel).toBe('info')
    expect(c.bootstrap).toBeUndefined()
    expect(c.trustProxy).toBe(false)
    expect(c.providerConcurrency).toBe(8)
    expect(c.forceRefreshMinIntervalSeconds).toBe(10)
    expect(c.databaseTimeouts).toEqual({ statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 })
    expect(c.auditRetentionDays).toBe(90)
    expect(c.webhookRetentionDays).toBe(30)
  })

  it('reads every variable', () => {
    const env = {
      PORT: '8080',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://broker.example.com/',
      DATABASE_URL: 'postgresql://u:p@db:5432/broker',
      DATABASE_POOL_SIZE: '7',
      DATA_DIR: '/tmp/x',
      ENCRYPTION_KEY: `new:${KEY},${KEY.replace('n', 'm')}`,
      PROVIDERS_FILE: '/etc/broker/providers.json',
      BOOTSTRAP_CLIENT_ID: 'admin',
      BOOTSTRAP_CLIENT_SECRET: SECRET,
      BOOTSTRAP_RETURN_URLS: 'https://app.example.com/done, http://localhost:5173/cb',
      PROVIDER_TIMEOUT_MS: '2500',
      PROVIDER_CA_FILE: '/etc/broker/ca.pem',
      ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true',
      BROKER_TOKEN_TTL_SECONDS: '600',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      SHUTDOWN_TIMEOUT_MS: '4000',
      CONNECT_SESSION_TTL_SECONDS: '600',
      REFRESH_WINDOW_SECONDS: '120',
      REFRESH_INTERVAL_SECONDS: '15',
      REFRESH_CONCURRENCY: '2',
      REFRESH_BATCH_SIZE: '50',
      RATE_LIMIT_TOKEN: '100',
      RATE_LIMIT_BROWSER: '0',
      RATE_LIMIT_ADMIN: '30',
      PROVIDER_CONCURRENCY: '3',
      FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
      DATABASE_STATEMENT_TIMEOUT_MS: '15000',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '0',
      AUDIT_RETENTION_DAYS: '30',
      WEBHOOK_RETENTION_DAYS: '0',
      BOOTSTRAP_WEBHOOK_URLS: 'http://hooks.internal:8080/broker, http://10.0.0.5/hooks',
      WEBHOOK_RETRY_SCHEDULE_SECONDS: '1, 2.5,60',
      WEBHOOK_TIMEOUT_MS: '3000',
    }
    // Every variable of the contract is set here (the *_FILE forms have their own test).
    expect(Object.keys(env).sort()).toEqual(
      ENVIRONMENT_VARIABLES.filter(
        (name) => !/_FILE$/.test(name) || name === 'PROVIDERS_FILE' || name === 'PROVIDER_CA_FILE',
      ).sort(),
    )
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    const c = loadConfig(
      env,
      files({
        '/etc/broker/providers.json': JSON.stringify({ providers: { respondio: {} } }),
        '/etc/broker/ca.pem': pem,
      }),
    )
    expect(c.port).toBe(8080)
    expect(c.host).toBe('127.0.0.1')
    expect(c.publicUrl).toBe('https://broker.example.com')
    expect(c.databaseUrl).toBe('postgresql://u:p@db:5432/broker')
    expect(c.databasePoolSize).toBe(7)
    expect(c.dataDir).toBe('/tmp/x')
    expect(c.encryptionKeys!.map((k) => k.id)[0]).toBe('new')
    expect(c.encryptionKeys).toHaveLength(2)
    expect(c.providersFile).toBe('/etc/broker/providers.json')
    expect([...c.providers.keys()]).toEqual(['respondio'])
    expect(c.bootstrap).toEqual({
      clientId: 'admin',
      clientSecret: SECRET,
      returnUrls: ['https://app.example.com/done', 'http://localhost:5173/cb'],
      webhookUrls: ['http://hooks.internal:8080/broker', 'http://10.0.0.5/hooks'],
    })
    expect(c.providerTimeoutMs).toBe(2500)
    expect(c.providerCaPem).toBe(pem)
    expect(c.allowPrivateProviderAddresses).toBe(true)
    expect(c.brokerTokenTtlSeconds).toBe(600)
    expect(c.logLevel).toBe('warn')
    expect(c.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1'])
    expect(c.shutdownTimeoutMs).toBe(4000)
    expect(c.connectSessionTtlSeconds).toBe(600)
    expect(c.refresh).toEqual({ windowSeconds: 120, intervalSeconds: 15, concurrencyPerProvider: 2, batchSize: 50 })
    expect(c.databaseTimeouts).toEqual({ statementTimeoutMs: 15_000, idleInTransactionTimeoutMs: 0 })
    expect(c.auditRetentionDays).toBe(30)
    expect(c.webhookRetentionDays).toBe(0)
    expect(c.rateLimits).toEqual({ token: 100, browser: 0, admin: 30 })
    expect(c.providerConcurrency).toBe(3)
    expect(c.forceRefreshMinIntervalSeconds).toBe(0)
    expect(c.webhooks).toEqual({ retryScheduleSeconds: [1, 2.5, 60], timeoutMs: 3000 })
  })

  it('refuses bad webhook settings, naming the variable', () => {
    const base = { BOOTSTRAP_CLIENT_ID: 'admin', BOOTSTRAP_CLIENT_SECRET: SECRET }
    expect(problemsOf({ ...base, BOOTSTRAP_WEBHOOK_URLS: 'http://169.254.169.254/latest' })).toEqual([
      expect.stringMatching(/^BOOTSTRAP_WEBHOOK_URLS: .* link-local/),
    ])
    for (const schedule of ['5,-1', '5,soon', ' , '])
      expect(problemsOf({ WEBHOOK_RETRY_SCHEDULE_SECONDS: schedule })).toEqual([
        expect.stringMatching(/^WEBHOOK_RETRY_SCHEDULE_SECONDS: /),
      ])
    expect(loadConfig({}).webhooks).toEqual({
      retryScheduleSeconds: [5, 300, 1800, 7200, 18000, 36000, 36000],
      timeoutMs: 10_000,
    })
  })

  it('reads secrets from *_FILE variables', () => {
    const c = loadConfig(
      { DATABASE_URL_FILE: '/run/secrets/db', ENCRYPTION_KEY_FILE: '/run/secrets/key' },
      files({ '/run/secrets/db': 'postgresql://u:p@db/broker\n', '/run/secrets/key': `${KEY}\n` }),
    )
    expect(c.databaseUrl).toBe('postgresql://u:p@db/broker')
    expect(c.encryptionKeys).toHaveLength(1)
  })

  it('refuses an external database without ENCRYPTION_KEY, naming the variable', () => {
    expect(problemsOf({ DATABASE_URL: 'postgresql://db/broker' })).toEqual([
      expect.stringMatching(/^ENCRYPTION_KEY: required with an external database/),
    ])
  })

  it('names each bad variable and never echoes a secret value', () => {
    const secretish = 'not-base64-secret!!'
    const problems = problemsOf({
      PORT: 'eighty',
      PUBLIC_URL: 'ftp://x',
      ENCRYPTION_KEY: secretish,
      BOOTSTRAP_CLIENT_ID: 'admin',
      BOOTSTRAP_CLIENT_SECRET: 'short-secret-value',
      BOOTSTRAP_RETURN_URLS: 'javascript:alert(1)',
      PROVIDER_TIMEOUT_MS: '-1',
      BROKER_TOKEN_TTL_SECONDS: '1e9',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'everyone',
    })
    const vars = problems.map((p) => p.split(':')[0])
    expect(vars).toEqual(
      expect.arrayContaining([
        'PORT',
        'PUBLIC_URL',
        'ENCRYPTION_KEY',
        'BOOTSTRAP_CLIENT_SECRET',
        'BOOTSTRAP_RETURN_URLS',
        'PROVIDER_TIMEOUT_MS',
        'BROKER_TOKEN_TTL_SECONDS',
        'LOG_LEVEL',
        'TRUST_PROXY',
      ]),
    )
    expect(problems.join('\n')).not.toContain(secretish)
    expect(problems.join('\n')).not.toContain('short-secret-value')
  })

  it('takes PUBLIC_URL over http only for loopback hosts, naming the variable otherwise', () => {
    for (const ok of [
      'http://localhost:3000',
      'http://127.0.0.1:8080',
      'http://127.12.0.1',
      'http://[::1]:3000',
      'https://broker.example.com',
      'https://10.0.0.5',
    ]) {
      expect(problemsOf({ PUBLIC_URL: ok }), ok).toEqual([])
    }
    for (const bad of [
      'http://broker.example.com',
      'http://10.0.0.5:3000',
      'http://0.0.0.0:3000',
      'http://localhost.example.com',
      'http://127.0.0.1.nip.io',
      'http://[::2]',
    ]) {
      expect(problemsOf({ PUBLIC_URL: bad }), bad).toEqual([
        expect.stringMatching(/^PUBLIC_URL: http is allowed only for loopback hosts/),
      ])
    }
  })

  it('requires PUBLIC_URL with an external database when serving (not for the ops tool)', () => {
    const env = { DATABASE_URL: 'postgresql://db/broker', ENCRYPTION_KEY: KEY }
    const problemsServing = (e: Record<string, string>) => {
      try {
        loadConfig(e, noFiles, { server: true })
        return []
      } catch (err) {
        return (err as ConfigError).problems
      }
    }
    expect(problemsServing(env)).toEqual([
      expect.stringMatching(/^PUBLIC_URL: required with an external database \(DATABASE_URL is set\)/),
    ])
    expect(problemsServing({ ...env, PUBLIC_URL: 'https://broker.example.com' })).toEqual([])
    expect(problemsOf(env)).toEqual([])
    // The embedded development database keeps the http://localhost default.
    expect(problemsServing({})).toEqual([])
  })

  describe('the bootstrap secret works the first time', () => {
    const withSecret = (secret: string) => problemsOf({ BOOTSTRAP_CLIENT_ID: 'admin', BOOTSTRAP_CLIENT_SECRET: secret })
    it("accepts hex, base64url, and base64 without + (today's secrets)", () => {
      expect(withSecret(SECRET)).toEqual([])
      expect(withSecret('Xq3_bR9-kLm2VnT8wYz4Ac6Df1Gh5Jk7Mp0Qs9Uv2Wx')).toEqual([])
      expect(withSecret('kP3rT8vX1zB5nM9qW2eR6tY0uI4oA7sD/fG1hJ3kL5c=')).toEqual([])
      // Three x in a row happen in random base64url (about 1 in 1000 secrets).
      expect(withSecret('Xq3_bR9-kLm2xXxT8wYz4Ac6Df1Gh5Jk7Mp0Qs9Uv2W')).toEqual([])
    })
    it.each([
      ['a "+" (form-decoded to a space)', 'kP3rT8vX1zB5nM9qW2eR6tY0uI4oA7sD+fG1hJ3kL5c='],
      ['a "%" (form-decoded as an escape)', 'kP3rT8vX1zB5nM9qW2eR6tY0uI4oA7sD%41fG1hJ3kL5c'],
    ])('refuses a secret with %s, saying how to make a good one', (_, secret) => {
      const problems = withSecret(secret)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatch(
        /^BOOTSTRAP_CLIENT_SECRET: contains "\+" or "%".*form-decoding.*`openssl rand -hex 32`$/,
      )
      expect(problems[0]).not.toContain(secret)
    })
    it.each([
      'REPLACE-with-openssl-rand-base64-32-output',
      'changeme-changeme-changeme-changeme-1234',
      'my-example-secret-for-the-bootstrap-client',
      'placeholder-0123456789-0123456789-abcdef',
      'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'abababababababababababababababababababab',
      '<generate with openssl rand -hex 32 here>',
    ])('refuses the placeholder %s', (secret) => {
      expect(withSecret(secret)).toEqual([
        'BOOTSTRAP_CLIENT_SECRET: looks like a placeholder, not ' +
          'a random secret; generate one with `openssl rand -hex 32`',
      ])
    })
  })

  it('refuses .env.example as shipped: its secrets are empty until generated', () => {
    const env: Record<string, string> = {}
    for (const line of readFileSync(new URL('../.env.example', import.meta.url), 'utf8').split('\n')) {
      const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line)
      if (m) env[m[1]!] = m[2]!
    }
    const problems = problemsOf({ ...env, DATABASE_URL: 'postgresql://broker:pw@postgres:5432/broker' })
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['BOOTSTRAP_CLIENT_SECRET', 'ENCRYPTION_KEY'])
  })

  it('refuses half a bootstrap client', () => {
    expect(problemsOf({ BOOTSTRAP_CLIENT_ID: 'admin' })).toEqual([
      'BOOTSTRAP_CLIENT_SECRET: required when BOOTSTRAP_CLIENT_ID is set',
    ])
  })

  it('is documented: the configuration table (docs/configuration.md) lists every variable', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8')
    for (const name of ENVIRONMENT_VARIABLES) expect(doc, name).toContain(`\`${name}\``)
  })
})

describe('providers file', () => {
  const env = {
    PROVIDERS_FILE: '/etc/broker/providers.yaml',
    ACME_ID: 'acme-client',
    ACME_SECRET: 's3cr3t: with # yaml {chars}',
  }
  const yaml = `
providers:
  acme:
    displayName: Acme
    issuer: https://id.acme.example
    authorizationUrl: https://id.acme.example/auth
    tokenUrl: https://id.acme.example/token
    revocationUrl: https://id.acme.example/token/revocation
    clientId: \${ACME_ID}
    clientSecret: \${ACME_SECRET}
    scopes: [openid, offline_access]
    scopeSeparator: " "
    pkce: true
    tokenEndpointAuthMethod: client_secret_basic
    tokenRequestEncoding: form
    authorizationParams: { prompt: consent }
`

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the providers-file syntax under test
  it('loads YAML with ${NAME} interpolation after parsing (secrets cannot change the structure)', () => {
    const c = loadConfig(env, files({ '/etc/broker/providers.yaml': yaml }))
    const acme = c.providers.get('acme')!
    expect(acme).toMatchObject({
      key: 'acme',
      mode: 'oauth2',
      displayName: 'Acme',
      clientId: 'acme-client',
      clientSecret: 's3cr3t: with # yaml {chars}',
      scopes: ['openid', 'offline_access'],
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      tokenRequestEncoding: 'form',
      authorizationParams: { prompt: 'consent' },
      issuer: 'https://id.acme.example',
    })
  })

  it('loads the same file as JSON', () => {
    const json = JSON.stringify({
      providers: {
        acme: {
          authorizationUrl: 'https://a.example/auth',
          tokenUrl: 'https://a.example/token',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a providers-file reference
          clientId: '${ACME_ID}',
          clientSecret: 'x',
        },
      },
    })
    const c = loadConfig({ ...env, PROVIDERS_FILE: '/p.json' }, files({ '/p.json': json }))
    expect(c.providers.get('acme')).toMatchObject({
      clientId: 'acme-client',
      pkce: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      scopeSeparator: ' ',
    })
  })

  it('stops on a missing variable, naming it and where it is used', () => {
    const problems = problemsOf({ PROVIDERS_FILE: '/p.yaml' }, files({ '/p.yaml': yaml }))
    expect(problems).toContain(
      'PROVIDERS_FILE /p.yaml: providers.acme.clientId: environment variable ACME_ID is not set',
    )
  })

  it('stops on unknown keys and bad fields, naming the path', () => {
    const bad = `
providers:
  acme:
    authorizationUrl: http://id.acme.example/auth
    tokenURL: https://id.acme.example/token
    clientId: a
    clientSecret: b
    tokenEndpointAuthMethod: private_key_jwt
  Bad_Key:
    clientId: a
unexpected: true
`
    const problems = problemsOf({ PROVIDERS_FILE: '/p.yaml' }, files({ '/p.yaml': bad }))
    const text = problems.join('\n')
    expect(text).toContain('providers.acme: unknown key "tokenURL"')
    expect(text).toContain(
      'providers.acme.tokenEndpointAuthMethod: must be one of client_secret_basic, client_secret_post',
    )
    expect(text).toContain('providers: unknown key "Bad_Key"')
    expect(text).toContain('(root): unknown key "unexpected"')
  })

  it('requires https provider URLs (http only on loopback) and the required fields', () => {
    const doc = `
providers:
  acme:
    authorizationUrl: http://id.acme.example/auth
    clientId: a
`
    const problems = problemsOf({ PROVIDERS_FILE: '/p.yaml' }, files({ '/p.yaml': doc }))
    expect(problems).toEqual(
      expect.arrayContaining([
        'PROVIDERS_FILE /p.yaml: providers.acme.tokenUrl: required',
        'PROVIDERS_FILE /p.yaml: providers.acme.clientSecret: required',
        'PROVIDERS_FILE /p.yaml: providers.acme.authorizationUrl: must ' +
          'use https (plain http is accepted for loopback hosts only)',
      ]),
    )
  })

  it('reports an unreadable file and invalid YAML', () => {
    expect(problemsOf({ PROVIDERS_FILE: '/missing.yaml' })).toEqual([
      'PROVIDERS_FILE: cannot read /missing.yaml (ENOENT)',
    ])
    expect(problemsOf({ PROVIDERS_FILE: '/p.yaml' }, files({ '/p.yaml': 'providers: [unclosed' }))[0]).toMatch(
      /^PROVIDERS_FILE: \/p.yaml is not valid YAML or JSON/,
    )
  })
})
