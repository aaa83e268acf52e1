// A tiny framework for local replicas of third-party providers (test support only).
//
// Each replica is a node:http (or node:https) server on 127.0.0.1 that answers the way
// the real provider answers, records every request it sees in `requests`, and records
// in `rejections` every request it refused (or tolerated, but the real provider would
// have treated differently), so a test can assert `rejections` is empty after a run.
//
// Two kinds of rejection:
// - hard: the real provider answers with an error; the replica answers the same way;
// - soft: the real provider tolerates the request (ignores a parameter, falls back to a
//   default) but the broker must not rely on that. The replica answers as the provider
//   would and only records the deviation. Both land in `rejections`.
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { registerSecret } from '../support/secrets.js'
import type { AddressInfo, Socket } from 'node:net'

const FIXTURES = new URL('./fixtures/', import.meta.url)

/** Test-only CA and server certificate for 127.0.0.1 / localhost (see fixtures/README.md). */
export const TEST_TLS = {
  caPem: readFileSync(new URL('ca.pem', FIXTURES), 'utf8'),
  certPem: readFileSync(new URL('server.pem', FIXTURES), 'utf8'),
  keyPem: readFileSync(new URL('server-key.pem', FIXTURES), 'utf8'),
}

export type BodyEncoding = 'form' | 'json' | 'none' | 'other'

export interface RecordedRequest {
  /** Which server of the replica saw it (Interact has two). */
  server: string
  method: string
  /** Path only, percent-decoding left to the handler. */
  path: string
  /** Query parameters (last value wins; see `duplicateParams`). */
  query: Record<string, string>
  headers: IncomingHttpHeaders
  /** The raw Content-Type header, if any. */
  contentType: string | undefined
  encoding: BodyEncoding
  /** Form fields (all strings) or the parsed JSON value; undefined when there is no body or it does not parse. */
  body: Record<string, unknown> | undefined
  rawBody: string
  /** Parameter names sent more than once in the query or the form body (RFC 6749 §3.1, §3.2 forbid it). */
  duplicateParams: string[]
  at: number
}

export interface Rejection {
  request: RecordedRequest
  reason: string
}

export interface Reply {
  status: number
  headers?: Record<string, string>
  /** A string is sent as is; anything else as JSON. */
  body?: unknown
}

export interface Exchange {
  req: RecordedRequest
  origin: string
  send(reply: Reply): void
  /** Records `reason` in `rejections`, then answers with `reply` (the provider's own error). */
  reject(reason: string, reply: Reply): void
  /** Records a soft rejection without answering (the handler answers as the provider would). */
  note(reason: string): void
  readonly answered: boolean
}

export interface ReplicaServer {
  name: string
  origin: string
  port: number
  host: string
  requests: RecordedRequest[]
  rejections: Rejection[]
  /** TCP connections accepted so far (proves that nothing reached the server, not even a TLS handshake). */
  connectionCount(): number
  /**
   * The next `count` requests (optionally only those on `path`) get `reply` instead (default 503), unrecorded as
   * rejections.
   */
  failNext(count: number, options?: { path?: string; reply?: Reply }): void
  /** Delays every answer by `ms` (widens race windows for single-flight tests). */
  setLatency(ms: number): void
  close(): Promise<void>
}

export interface ServerOptions {
  name: string
  /** Serve HTTPS with the test certificate. */
  tls?: boolean
  /** The host name used in `origin` (both resolve to 127.0.0.1 in the certificate). */
  hostname?: '127.0.0.1' | 'localhost'
  /** Shared logs, so a replica made of several servers keeps one history. */
  requests?: RecordedRequest[]
  rejections?: Rejection[]
  handle(ex: Exchange): void | Promise<void>
}

// Paths under this prefix are the replica's own machinery (consent page decisions, error
// pages standing in for the provider's); they are served but not logged.
export const INTERNAL_PREFIX = '/__replica/'

export async function startReplicaServer(options: ServerOptions): Promise<ReplicaServer> {
  const requests = options.requests ?? []
  const rejections = options.rejections ?? []
  const sockets = new Set<Socket>()
  const failures: { path?: string; reply: Reply; left: number }[] = []
  let connections = 0
  let latency = 0
  let origin = ''

  const listener = (raw: IncomingMessage, res: ServerResponse) => {
    void handleRequest(raw, res).catch((error: unknown) => {
      // A bug in a replica must fail the test that hit it, never hang it.
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('replica error')
      }
      rejections.push({ request: placeholderRequest(options.name, raw), reason: `replica bug: ${String(error)}` })
    })
  }

  async function handleRequest(raw: IncomingMessage, res: ServerResponse) {
    const rawBody = await readBody(raw)
    const req = recordRequest(options.name, raw, rawBody)
    const internal = req.path.startsWith(INTERNAL_PREFIX)
    if (!internal) requests.push(req)
    if (latency > 0) await new Promise((r) => setTimeout(r, latency))

    let answered = false
    const send = (reply: Reply) => {
      if (answered) throw new Error(`answered twice: ${req.method} ${req.path}`)
      answered = true
      const headers: Record<string, string> = { ...reply.headers }
      let payload = ''
      if (typeof reply.body === 'string') payload = reply.body
      else if (reply.body !== undefined) {
        payload = JSON.stringify(reply.body)
        headers['content-type'] ??= 'application/json; charset=utf-8'
      }
      res.writeHead(reply.status, headers)
      res.end(payload)
    }
    const ex: Exchange = {
      req,
      origin,
      send,
      reject(reason, reply) {
        rejections.push({ request: req, reason })
        send(reply)
      },
      note(reason) {
        rejections.push({ request: req, reason })
      },
      get answered() {
        return answered
      },
    }

    const failure = !internal ? failures.find((f) => f.left > 0 && (!f.path || f.path === req.path)) : undefined
    if (failure) {
      failure.left--
      send(failure.reply)
      return
    }
    await options.handle(ex)
    if (!answered) throw new Error(`no answer for ${req.method} ${req.path}`)
  }

  const server = options.tls
    ? createHttpsServer({ key: TEST_TLS.keyPem, cert: TEST_TLS.certPem }, listener)
    : createHttpServer(listener)
  server.on('connection', (s: Socket) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const host = options.hostname ?? '127.0.0.1'
  origin = `${options.tls ? 'https' : 'http'}://${host}:${port}`

  return {
    name: options.name,
    origin,
    port,
    host,
    requests,
    rejections,
    connectionCount: () => connections,
    failNext(count, opts = {}) {
      failures.push({
        path: opts.path,
        left: count,
        reply: opts.reply ?? { status: 503, headers: { 'content-type': 'text/plain' }, body: 'Service Unavailable' },
      })
    },
    setLatency(ms) {
      latency = ms
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
    },
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function recordRequest(server: string, raw: IncomingMessage, rawBody: string): RecordedRequest {
  const url = new URL(raw.url ?? '/', 'http://replica.invalid')
  const duplicates = new Set<string>()
  const query = paramsToRecord(url.searchParams, duplicates)
  const contentType = raw.headers['content-type']
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase()
  let encoding: BodyEncoding = 'none'
  let body: Record<string, unknown> | undefined
  if (rawBody.length > 0 || mediaType) {
    if (mediaType === 'application/x-www-form-urlencoded') {
      encoding = 'form'
      body = paramsToRecord(new URLSearchParams(rawBody), duplicates)
    } else if (mediaType === 'application/json' || mediaType?.endsWith('+json')) {
      encoding = 'json'
      try {
        const parsed: unknown = JSON.parse(rawBody)
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>
      } catch {
        body = undefined
      }
    } else if (rawBody.length > 0) {
      encoding = 'other'
    }
  }
  return {
    server,
    method: raw.method ?? 'GET',
    path: url.pathname,
    query,
    headers: raw.headers,
    contentType,
    encoding,
    body,
    rawBody,
    duplicateParams: [...duplicates],
    at: Date.now(),
  }
}

function paramsToRecord(params: URLSearchParams, duplicates: Set<string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of params) {
    if (k in out) duplicates.add(k)
    out[k] = v
  }
  return out
}

function placeholderRequest(server: string, raw: IncomingMessage): RecordedRequest {
  return recordRequest(server, raw, '')
}

// ---------------------------------------------------------------------------------------
// Small helpers shared by the replicas.

export const randomToken = (bytes = 24) => randomBytes(bytes).toString('base64url')

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** RFC 7636 S256 challenge of a verifier. */
export const s256 = (verifier: string) => createHash('sha256').update(verifier, 'ascii').digest('base64url')

/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
export const isPkceString = (v: string) => /^[A-Za-z0-9\-._~]{43,128}$/.test(v)

/** A fresh verifier + S256 challenge, for tests driving a replica by hand. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomToken(48)
  return { verifier, challenge: s256(verifier) }
}

/** The form field or JSON member `name` of a request body, as a string. */
export function field(req: RecordedRequest, name: string): string | undefined {
  const v = req.body?.[name]
  return typeof v === 'string' ? v : undefined
}

export type BasicAuth = { id: string; secret: string } | 'malformed' | undefined

/** RFC 6749 §2.3.1 client credentials in `Authorization: Basic` (each part form-urlencoded). */
export function basicAuth(headers: IncomingHttpHeaders): BasicAuth {
  const h = headers.authorization
  if (!h || !/^basic /i.test(h)) return undefined
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 0) return 'malformed'
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '))
    } catch {
      return s
    }
  }
  return { id: unform(decoded.slice(0, i)), secret: unform(decoded.slice(i + 1)) }
}

/** The token of `Authorization: Bearer <token>`, if that is the scheme used. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const h = headers.authorization
  const m = h ? /^bearer\s+(\S+)\s*$/i.exec(h) : null
  return m?.[1]
}

export function appendQuery(base: string, params: Record<string, string | undefined>): string {
  const u = new URL(base)
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v)
  return u.href
}

// ---------------------------------------------------------------------------------------
// Grants, codes and tokens, with the bookkeeping tests need (refresh count, which refresh
// tokens were spent). Each replica decides its own semantics on top.

export interface CodeRecord {
  code: string
  clientId: string
  /** redirect_uri as sent in the authorization request (undefined if it was omitted). */
  redirectUriSent: string | undefined
  /** Where the user was sent back. */
  redirectUri: string
  scopes: string[]
  challenge?: string
  method?: 'S256' | 'plain'
  expiresAt: number
  used: boolean
  /** The grant created when the code was exchanged (so reuse can revoke it). */
  grantId?: string
  extra: Record<string, string>
}

export interface GrantRecord {
  id: string
  clientId: string
  scopes: string[]
  revoked: boolean
  extra: Record<string, string>
}

export interface AccessRecord {
  token: string
  grantId: string
  scopes: string[]
  issuedAt: number
  expiresAt: number
  revoked: boolean
  /** Sequence number, e.g. a provider's token id. */
  id: number
}

export interface RefreshRecord {
  token: string
  grantId: string
  issuedAt: number
  expiresAt: number | undefined
  state: 'active' | 'spent' | 'revoked'
}

export class TokenBook {
  codes = new Map<string, CodeRecord>()
  grants = new Map<string, GrantRecord>()
  access = new Map<string, AccessRecord>()
  refresh = new Map<string, RefreshRecord>()
  /** Refresh tokens presented at a successful refresh, in order. */
  usedRefreshTokens: string[] = []
  refreshCount = 0
  private seq = 0

  constructor(readonly clock: () => number) {}

  issueCode(rec: Omit<CodeRecord, 'code' | 'used'>, prefix = ''): string {
    const code = prefix + randomToken(18)
    registerSecret('replica authorization code', code, { random: prefix.length })
    this.codes.set(code, { ...rec, code, used: false })
    return code
  }

  /** Marks the code used. A second use revokes what the first one produced (RFC 6749 §4.1.2). */
  takeCode(code: string): { record: CodeRecord } | { error: 'unknown' | 'reused' | 'expired' } {
    const record = this.codes.get(code)
    if (!record) return { error: 'unknown' }
    if (record.used) {
      if (record.grantId) this.revokeGrant(record.grantId)
      return { error: 'reused' }
    }
    record.used = true
    if (record.expiresAt <= this.clock()) return { error: 'expired' }
    return { record }
  }

  newGrant(clientId: string, scopes: string[], extra: Record<string, string> = {}): GrantRecord {
    const g: GrantRecord = { id: randomToken(9), clientId, scopes, revoked: false, extra }
    this.grants.set(g.id, g)
    return g
  }

  issueAccess(grant: GrantRecord, ttlSeconds: number, prefix = '', scopes = grant.scopes): AccessRecord {
    const now = this.clock()
    const rec: AccessRecord = {
      token: prefix + randomToken(),
      grantId: grant.id,
      scopes,
      issuedAt: now,
      expiresAt: now + ttlSeconds * 1000,
      revoked: false,
      id: ++this.seq,
    }
    registerSecret('replica access token', rec.token, { random: prefix.length })
    this.access.set(rec.token, rec)
    return rec
  }

  issueRefresh(grant: GrantRecord, ttlSeconds: number | undefined, prefix = ''): RefreshRecord {
    const now = this.clock()
    const rec: RefreshRecord = {
      token: prefix + randomToken(32),
      grantId: grant.id,
      issuedAt: now,
      expiresAt: ttlSeconds === undefined ? undefined : now + ttlSeconds * 1000,
      state: 'active',
    }
    registerSecret('replica refresh token', rec.token, { random: prefix.length })
    this.refresh.set(rec.token, rec)
    return rec
  }

  /** The access token's record if the API would accept it now. */
  liveAccess(token: string | undefined): AccessRecord | undefined {
    if (!token) return undefined
    const rec = this.access.get(token)
    if (!rec || rec.revoked || rec.expiresAt <= this.clock()) return undefined
    if (this.grants.get(rec.grantId)?.revoked) return undefined
    return rec
  }

  /** Classifies a presented refresh token. */
  checkRefresh(token: string, clientId: string): { record: RefreshRecord; grant: GrantRecord } | { error: string } {
    const record = this.refresh.get(token)
    if (!record) return { error: 'unknown refresh token' }
    const grant = this.grants.get(record.grantId)
    if (!grant) return { error: 'unknown grant' }
    if (grant.clientId !== clientId) return { error: 'refresh token issued to another client' }
    if (record.state === 'spent') return { error: 'refresh token already used (rotated away)' }
    if (record.state === 'revoked' || grant.revoked) return { error: 'refresh token revoked' }
    if (record.expiresAt !== undefined && record.expiresAt <= this.clock()) return { error: 'refresh token expired' }
    return { record, grant }
  }

  revokeGrant(grantId: string) {
    const g = this.grants.get(grantId)
    if (g) g.revoked = true
    for (const a of this.access.values()) if (a.grantId === grantId) a.revoked = true
    for (const r of this.refresh.values()) if (r.grantId === grantId && r.state === 'active') r.state = 'revoked'
  }

  /** Makes every access token issued so far expired (tests of the refresh path). */
  expireAccessTokens() {
    const past = this.clock() - 1
    for (const a of this.access.values()) a.expiresAt = Math.min(a.expiresAt, past)
  }

  accessTokensOf(grantId: string): AccessRecord[] {
    return [...this.access.values()].filter((a) => a.grantId === grantId)
  }
}

// ---------------------------------------------------------------------------------------
// Consent pages: the replica shows a page with "Allow" / "Deny" (usable by a real browser);
// `driveConsent` plays the user without one.

export interface PendingConsent<T> {
  id: string
  data: T
}

export class ConsentDesk<T> {
  private pending = new Map<string, T>()

  open(data: T): string {
    const id = randomToken(12)
    this.pending.set(id, data)
    return id
  }

  take(id: string): T | undefined {
    const d = this.pending.get(id)
    this.pending.delete(id)
    return d
  }

  /** The HTML consent page, with the pending id also in a header for `driveConsent`. */
  page(id: string, title: string, lines: string[]): Reply {
    const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>
<h1>${esc(title)}</h1>${lines.map((l) => `<p>${esc(l)}</p>`).join('')}
<p><a id="allow" href="${INTERNAL_PREFIX}consent/${id}?decision=allow">Allow</a>
<a id="deny" href="${INTERNAL_PREFIX}consent/${id}?decision=deny">Deny</a></p></body></html>`
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'x-replica-consent': id }, body: html }
  }
}

/** A stand-in for "the provider shows its own error page" (the user never reaches the callback). */
export function providerErrorPage(error: string, description: string): Reply {
  const q = new URLSearchParams({ error, error_description: description })
  return { status: 302, headers: { location: `${INTERNAL_PREFIX}error?${q}` } }
}

export function serveInternalErrorPage(ex: Exchange): boolean {
  if (ex.req.path !== `${INTERNAL_PREFIX}error`) return false
  ex.send({
    status: 400,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<p>${ex.req.query.error ?? 'error'}</p>`,
  })
  return true
}

/**
 * Plays the user: opens the authorization URL, and on the consent page chooses allow or
 * deny. Returns where the browser is sent next, without following it: the client's
 * redirect URI (code or error) or, for errors the provider keeps on its own pages, a URL
 * on the provider's origin.
 */
export async function driveConsent(authorizationUrl: string, decision: 'allow' | 'deny'): Promise<URL> {
  const first = await fetch(authorizationUrl, { redirect: 'manual' })
  await first.arrayBuffer()
  const location = first.headers.get('location')
  if (first.status >= 300 && first.status < 400 && location) return new URL(location, authorizationUrl)
  const id = first.headers.get('x-replica-consent')
  if (first.status !== 200 || !id) {
    return new URL(`${INTERNAL_PREFIX}error?status=${first.status}`, authorizationUrl)
  }
  const second = await fetch(new URL(`${INTERNAL_PREFIX}consent/${id}?decision=${decision}`, authorizationUrl), {
    redirect: 'manual',
  })
  await second.arrayBuffer()
  const next = second.headers.get('location')
  if (!next) throw new Error(`consent decision answered ${second.status} without a redirect`)
  return new URL(next, authorizationUrl)
}

/** Matches `${INTERNAL_PREFIX}consent/<id>` and returns the id and the decision. */
export function consentDecision(ex: Exchange): { id: string; allow: boolean } | undefined {
  const m = new RegExp(`^${INTERNAL_PREFIX}consent/([A-Za-z0-9_-]+)$`).exec(ex.req.path)
  if (!m?.[1]) return undefined
  return { id: m[1], allow: ex.req.query.decision === 'allow' }
}
