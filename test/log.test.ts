// Log redaction, through the very pino options the broker uses, writing to memory: every
// secret-named field is censored at any depth (not only one level down), errors keep only
// safe members (an HTTP client error's request headers and config never reach the log),
// and what is not secret stays readable.
import { hostname } from 'node:os'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { CENSOR, CODE_PARENTS, ERROR_MEMBERS, loggerOptions, SECRET_KEYS, SECRET_SUFFIXES } from '../src/log.js'
import type { Json } from './support/json.js'

function capture(level = 'trace') {
  const lines: string[] = []
  const log = pino(loggerOptions(level), { write: (line: string) => void lines.push(line) })
  return { log, lines, last: () => JSON.parse(lines.at(-1)!) as Record<string, Json> }
}

/** The field names the code base and providers use for secrets. */
const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'brokerToken',
  'code_verifier',
  'codeVerifier',
  'state',
  'apiKey',
  'x-api-key',
  'apiSecret',
  'privateKey',
  'encryptionKey',
  'databaseUrl',
  'DATABASE_URL',
  'credentials',
  'client_assertion',
  // Every configured name, so a new entry is tested too.
  ...SECRET_SUFFIXES,
  ...SECRET_KEYS,
]

/** `{ a: { b: { [key]: value } } }` with `depth` levels in all (1: `{ [key]: value }`). */
function nested(depth: number, key: string, value: unknown): Record<string, unknown> {
  let object: Record<string, unknown> = { [key]: value }
  for (let i = depth - 1; i > 0; i--) object = { [`level${i}`]: object }
  return object
}

function at(object: Record<string, Json>, depth: number, key: string): unknown {
  let node = object
  for (let i = 1; i < depth; i++) node = node[`level${i}`]
  return node[key]
}

describe('log lines', () => {
  it('carry pid and hostname, so replicas and restarts can be told apart', () => {
    const { log, last } = capture()
    log.info({ connectionId: 'conn_1' }, 'hello')
    expect(last()).toMatchObject({ service: 'oauth-broker', pid: process.pid, hostname: hostname(), msg: 'hello' })
  })
})

describe('log redaction', () => {
  it.each([1, 2, 3, 4])('censors every secret field at depth %i, as a string and as an object', (depth) => {
    const { log, lines, last } = capture()
    for (const key of SECRET_FIELDS) {
      const secret = `s3cret-${key}-${depth}`
      log.info(nested(depth, key, secret), 'event')
      expect(at(last(), depth, key), `${key} at depth ${depth}`).toBe(CENSOR)
      log.info(nested(depth, key, { value: secret, list: [secret] }), 'event')
      expect(at(last(), depth, key), `${key} (object) at depth ${depth}`).toBe(CENSOR)
      expect(lines.join('')).not.toContain(secret)
    }
  })

  it('censors `code` under request parts (the authorization code) but keeps error codes', () => {
    const { log, last } = capture()
    for (const parent of [...CODE_PARENTS, 'query']) {
      log.info({ request: { [parent]: { code: 'the-authorization-code' } } }, 'callback')
      expect(last().request[parent].code).toBe(CENSOR)
    }
    log.warn({ code: 'invalid_grant', failure: 'permanent', detail: { code: 'provider_rejected' } }, 'refresh failed')
    expect(last()).toMatchObject({ code: 'invalid_grant', failure: 'permanent', detail: { code: 'provider_rejected' } })
  })

  it('keeps what is not secret: ids, routes, statuses, scopes, token lifetimes', () => {
    const { log, last } = capture()
    const fields = {
      connectionId: 'conn_1',
      clientId: 'svc_1',
      route: '/v1/connections/:id/access-token',
      status: 200,
      ms: 1.5,
      scope: 'tokens:read',
      tokenType: 'Bearer',
      rotated: true,
      jti: 'j',
      expiresAt: '2030-01-01T00:00:00.000Z',
    }
    log.info({ ...fields, nested: { deeper: fields } }, 'request completed')
    expect(last()).toMatchObject({ ...fields, nested: { deeper: fields }, msg: 'request completed' })
  })

  it('reduces errors to safe members, down their cause chain', () => {
    const { log, lines, last } = capture()
    // The shape of HTTP client errors (axios, got, undici): request, headers and config on the error or its cause.
    const inner = Object.assign(new Error('connect ECONNRESET'), {
      code: 'ECONNRESET',
      config: { headers: { Authorization: 'Bearer inner-secret' }, data: 'client_secret=inner-form-secret' },
    })
    const err = Object.assign(new Error('request failed', { cause: inner }), {
      statusCode: 502,
      request: { headers: { authorization: 'Bearer outer-secret' } },
      response: { body: '{"access_token":"body-secret"}' },
      headers: { cookie: 'sid=cookie-secret' },
    })
    log.error({ err }, 'provider call failed')
    const out = last()
    expect(out.err).toEqual({
      type: 'Error',
      message: 'request failed',
      stack: expect.stringContaining('request failed'),
      statusCode: 502,
      cause: expect.any(Object),
    })
    expect(out.err.cause).toEqual({
      type: 'Error',
      message: 'connect ECONNRESET',
      stack: expect.any(String),
      code: 'ECONNRESET',
    })

    // An object cause is redacted like any value: err.cause.headers.authorization.
    log.error(
      { err: new Error('wrapped', { cause: { headers: { authorization: 'Bearer cause-secret' }, status: 401 } }) },
      'failed',
    )
    expect(last().err.cause).toEqual({ headers: { authorization: CENSOR }, status: 401 })

    // An error passed as the first argument, and errors nested anywhere (AggregateError).
    log.error(err)
    expect(last().err.statusCode).toBe(502)
    log.error({ detail: { failures: new AggregateError([err], 'all failed') } }, 'batch failed')
    expect(last().detail.failures.errors[0].cause.code).toBe('ECONNRESET')

    expect(lines.join('')).not.toMatch(
      /inner-secret|inner-form-secret|outer-secret|body-secret|cookie-secret|cause-secret/,
    )
    for (const line of lines)
      for (const key of Object.keys(JSON.parse(line).err ?? {}))
        expect(['type', 'message', 'stack', 'cause', ...ERROR_MEMBERS]).toContain(key)
  })

  it('survives cycles, class instances and very deep values without leaking them', () => {
    const { log, lines, last } = capture()
    const cyclic: Record<string, unknown> = { name: 'a' }
    cyclic.self = cyclic
    class Client {
      password = 'instance-secret'
    }
    let deep: Record<string, unknown> = { apiKeyValue: 'deep-secret' }
    for (let i = 0; i < 20; i++) deep = { next: deep }
    log.info(
      { cyclic, client: new Client(), deep, when: new Date('2030-01-01T00:00:00Z'), bytes: Buffer.from('raw-secret') },
      'odd values',
    )
    const out = last()
    expect(out.cyclic).toEqual({ name: 'a', self: '[circular]' })
    expect(out.client).toBe('[Client]')
    expect(out.when).toBe('2030-01-01T00:00:00.000Z')
    expect(out.bytes).toBe('[10 bytes]')
    expect(lines.join('')).not.toMatch(/instance-secret|deep-secret|raw-secret/)
  })
})
