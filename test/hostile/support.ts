// Shared tools of the hostile-input suite: a raw HTTP/1.1 client (fetch normalizes URLs,
// refuses odd headers and hides the raw response head, which is exactly what these tests
// must control and inspect), the checks every hostile answer must pass, per-category
// figures, and the search for secrets in the broker's logs.
import { connect } from 'node:net'
import { expect } from 'vitest'
import type { TestBroker } from '../support/broker.js'
import { registerSecret } from '../support/secrets.js'

/** Fixed seed: the same inputs on every run; set HOSTILE_SEED to explore others. */
export const SEED = Number(process.env.HOSTILE_SEED ?? 20261123)

/** Rate limits off, so that hundreds of hostile requests from 127.0.0.1 are not cut short by 429s. */
export const NO_RATE_LIMITS = { RATE_LIMIT_TOKEN: '0', RATE_LIMIT_BROWSER: '0', RATE_LIMIT_ADMIN: '0' }

export interface RawResponse {
  status: number
  /** The response head as sent, status line included. */
  head: string
  headers: Array<[string, string]>
  body: Buffer
  text: string
  header(name: string): string | undefined
}

export interface RawRequest {
  method?: string
  /** Sent byte for byte (UTF-8) as the request target: no normalization, no encoding. */
  path: string
  headers?: Array<[string, string]> | Record<string, string>
  body?: string | Buffer
  /** Leave out the Content-Length that `body` would otherwise get. */
  noContentLength?: boolean
}

/** One request on a fresh connection (Connection: close); the whole response. */
export function raw(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl)
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8')
  const headers = Array.isArray(req.headers) ? req.headers : Object.entries(req.headers ?? {})
  const lines = [`${req.method ?? 'GET'} ${req.path} HTTP/1.1`, `host: ${hostname}:${port}`, 'connection: close']
  for (const [k, v] of headers) lines.push(`${k}: ${v}`)
  if (body && !req.noContentLength && !headers.some(([k]) => k.toLowerCase() === 'content-length'))
    lines.push(`content-length: ${body.length}`)
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8')
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: hostname, port: Number(port) })
    socket.setTimeout(15_000, () =>
      socket.destroy(new Error(`no answer within 15 s: ${req.method ?? 'GET'} ${req.path.slice(0, 200)}`)),
    )
    socket.on('data', (c: Buffer) => chunks.push(c))
    let settled = false
    const finish = (err?: Error) => {
      if (settled) return
      settled = true
      const all = Buffer.concat(chunks)
      // The server may answer and close before reading a whole oversize body (EPIPE/ECONNRESET).
      if (all.includes('\r\n\r\n')) return resolve(parseResponse(all, req.method === 'HEAD'))
      reject(err ?? new Error(`connection closed without an answer: ${req.method ?? 'GET'} ${req.path.slice(0, 200)}`))
    }
    socket.on('error', finish)
    socket.on('close', () => finish())
    socket.write(body ? Buffer.concat([head, body]) : head)
  })
}

function parseResponse(all: Buffer, isHead: boolean): RawResponse {
  const end = all.indexOf('\r\n\r\n')
  const head = all.subarray(0, end).toString('latin1')
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers = headerLines.map((line): [string, string] => {
    const colon = line.indexOf(':')
    return colon < 0 ? [line, ''] : [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
  })
  const get = (name: string) => headers.find(([k]) => k === name)?.[1]
  let body = all.subarray(end + 4)
  if (isHead || status === 204 || status === 304) body = Buffer.alloc(0)
  else if (/chunked/i.test(get('transfer-encoding') ?? '')) body = dechunk(body)
  else if (get('content-length') !== undefined) body = body.subarray(0, Number(get('content-length')))
  return { status, head, headers, body, text: body.toString('utf8'), header: get }
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    if (eol < 0) break
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16)
    if (!size) break
    out.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return Buffer.concat(out)
}

// --- what every answer to hostile input must satisfy -----------------------------------

/** Header names only an injection could have produced (the suite sends them in CRLF payloads). */
export const INJECTED_HEADER = 'x-injected'
export const CRLF_PAYLOAD = `\r\n${INJECTED_HEADER}: 1\r\nset-cookie: injected=1`
export const CRLF_ENCODED = encodeURIComponent(CRLF_PAYLOAD)

const TOKEN_CHARS = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

/** Problems with a response head: malformed lines, bare CR/LF, injected headers, a Location that is not a clean URL. */
export function headerProblems(res: RawResponse): string[] {
  const problems: string[] = []
  if (!res.status) problems.push('no status line')
  for (const [name, value] of res.headers) {
    if (!TOKEN_CHARS.test(name)) problems.push(`malformed header line: ${JSON.stringify(name).slice(0, 120)}`)
    if (/[\r\n\0]/.test(value)) problems.push(`CR/LF/NUL in header ${name}`)
    if (name === INJECTED_HEADER) problems.push('injected header present')
    if (name === 'set-cookie' && /injected/i.test(value)) problems.push('injected cookie present')
  }
  const location = res.header('location')
  if (location !== undefined) {
    if (/[\s<>"'\\]/.test(location))
      problems.push(`Location carries whitespace, quotes, angle brackets or backslashes: ${location.slice(0, 200)}`)
    try {
      new URL(location)
    } catch {
      problems.push(`Location is not an absolute URL: ${location.slice(0, 200)}`)
    }
  }
  return problems
}

/** Stack traces, file paths, SQL or ORM internals in a body. */
const INTERNALS = [
  /\bat [^\n]{0,200}\.(?:ts|js|mjs|cjs):\d+/,
  /PrismaClient|prisma\.|Invalid `/,
  /\bSELECT\b|\bINSERT INTO\b|\bUPDATE\s+"|\bWHERE\b/,
  /node_modules|\/work\/|\/src\/|file:\/\//,
  /"stack"\s*:/,
  /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|DecryptionError)\b/,
  /ECONNREFUSED|ETIMEDOUT|postgres(?:ql)?:\/\//i,
]

export function internalsIn(text: string): string | undefined {
  return INTERNALS.find((re) => re.test(text))?.source
}

/**
 * Hostile markup or payload echoed back where it can matter: in an HTML body, or in any
 * body a browser might sniff (no `nosniff`) or that is not JSON.
 */
/**
 * What is wrong with an answer of POST /oauth/token that should be the RFC 6749 §5.2 error
 * `expected`: status and error, `WWW-Authenticate` on a 401, `no-store`, no internals.
 * Returns the problems and whether a token was handed out.
 */
export function tokenEndpointProblems(
  res: RawResponse,
  expected: { status: number; error: string },
): { problems: string[]; accepted: boolean } {
  const problems = headerProblems(res)
  let body: { error?: string; access_token?: string } = {}
  try {
    body = JSON.parse(res.text) as typeof body
  } catch {
    problems.push('body is not JSON')
  }
  if (res.status !== expected.status || body.error !== expected.error)
    problems.push(`${res.status} ${body.error}, expected ${expected.status} ${expected.error}`)
  if (res.status === 401 && !/^Basic realm=/.test(res.header('www-authenticate') ?? ''))
    problems.push(`WWW-Authenticate: ${res.header('www-authenticate')}`)
  if (res.header('cache-control') !== 'no-store') problems.push(`cache-control: ${res.header('cache-control')}`)
  const internals = internalsIn(res.text)
  if (internals) problems.push(`internal detail (${internals})`)
  return { problems, accepted: res.status === 200 || body.access_token !== undefined }
}

export function reflectionProblems(res: RawResponse): string[] {
  const type = res.header('content-type') ?? ''
  const sniffable = type.includes('html') || res.header('x-content-type-options') !== 'nosniff' || !/json/.test(type)
  const problems: string[] = []
  if (sniffable && /<script|<b>|<img|<svg|onerror=/i.test(res.text))
    problems.push(
      `markup reflected in a ${type || 'typeless'} ` +
        `body${res.header('x-content-type-options') ? '' : ' without nosniff'}`,
    )
  if (/injected/i.test(res.header('location') ?? '')) problems.push('payload reflected in Location')
  if (type.includes('html') && /injected|javascript:/i.test(res.text)) problems.push('payload reflected in a page')
  return problems
}

// --- hostile values ------------------------------------------------------------------

/** Hostile strings, each meant to break a parser, a query, a path or a header. */
export const HOSTILE_VALUES: Array<[string, string]> = [
  ['path traversal', '../../../../etc/passwd'],
  ['SQL-ish', "' OR 1=1--"],
  ['SQL-ish (quoted)', '" OR ""="'],
  ['SQL-ish (stacked)', "x'; DROP TABLE connections;--"],
  ['NoSQL-ish', '{"$ne":null}'],
  ['10k characters', 'v'.repeat(10_000)],
  ['NUL', 'a\0b'],
  ['CRLF and a header', `a${CRLF_PAYLOAD}`],
  ['unicode', 'été'],
  ['emoji', '😀'],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', '\udfff'],
  ['right-to-left override', 'a\u202eb'],
  ['markup', '<script>alert(1)</script>'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile input, sent as is
  ['template', '${jndi:ldap://127.0.0.1:1/x}'],
  ['percent sign', '100%'],
  ['empty', ''],
  ['whitespace', ' \t '],
]

/**
 * Raw path segments: sent as they are, so the router and the schema see them undecoded or decoded as a client sends
 * them.
 */
export const HOSTILE_SEGMENTS: Array<[string, string]> = [
  ['..', '..'],
  ['../ (encoded)', '..%2F..%2Fetc%2Fpasswd'],
  ['%2e%2e', '%2e%2e'],
  ['%2e%2e%2f chain', '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
  ['SQL-ish', encodeURIComponent("' OR 1=1--")],
  ['SQL-ish (raw quote)', "x'--"],
  ['SQL-ish (stacked)', encodeURIComponent("x'; DROP TABLE connections;--")],
  ['10k characters', 'i'.repeat(10_000)],
  ['65 characters', 'i'.repeat(65)],
  ['NUL', 'conn_x%00'],
  ['NUL only', '%00'],
  ['CRLF and a header', `conn_x${CRLF_ENCODED}`],
  ['unicode (encoded)', 'conn_%C3%A9t%C3%A9'],
  ['emoji (encoded)', 'conn_%F0%9F%98%80'],
  ['invalid UTF-8', 'conn_%ff%fe'],
  ['bad percent-encoding', 'conn_%zz'],
  ['lone percent', '%'],
  ['asterisk', '*'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a hostile input, sent as is
  ['template', encodeURIComponent('${jndi:ldap://127.0.0.1:1/x}')],
  ['markup', encodeURIComponent('<script>alert(1)</script>')],
  ['space', 'conn%20x'],
  ['dot', '.'],
]

/**
 * encodeURIComponent that also encodes lone surrogates (as their WTF-8 bytes, which is what a hostile client sends).
 */
export function pct(value: string): string {
  let out = ''
  for (const ch of value) {
    const cp = ch.codePointAt(0)!
    if (cp >= 0xd800 && cp <= 0xdfff)
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join('')
    else out += encodeURIComponent(ch)
  }
  return out
}

/**
 * Who answered, when the application did not: `router` (Fastify's router refused the URL:
 * FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH; no hook or error handler of the application
 * ran) or `parser` (Node's HTTP parser: 431, malformed requests). The application's own
 * answers all carry `x-content-type-options: nosniff` (set in its first onRequest hook).
 */
export function answeredBy(res: RawResponse): 'app' | 'router' | 'parser' {
  if (res.header('x-content-type-options') === 'nosniff') return 'app'
  return /"code":"FST_ERR_/.test(res.text) ? 'router' : 'parser'
}

// --- figures ---------------------------------------------------------------------------

export interface Outcome {
  status: number
  /** The hostile input had an effect it must not have (a 2xx, a stored row, a provider call, a bypass). */
  accepted: boolean
}

export class Figures {
  private rows = new Map<string, { tried: number; accepted: number; fiveXx: number; failures: string[] }>()

  constructor(private title: string) {}

  category(name: string) {
    if (!this.rows.has(name)) this.rows.set(name, { tried: 0, accepted: 0, fiveXx: 0, failures: [] })
    return this.rows.get(name)!
  }

  record(category: string, label: string, outcome: Outcome): void {
    const row = this.category(category)
    row.tried++
    if (outcome.accepted) {
      row.accepted++
      row.failures.push(`accepted: ${label} → ${outcome.status}`)
    }
    if (outcome.status >= 500) {
      row.fiveXx++
      row.failures.push(`5xx: ${label} → ${outcome.status}`)
    }
  }

  print(extra: string[] = []): void {
    const lines = [`\n=== hostile input: ${this.title} (seed ${SEED}) ===`, 'category | tried | accepted | 5xx']
    for (const [name, r] of this.rows) lines.push(`${name} | ${r.tried} | ${r.accepted} | ${r.fiveXx}`)
    for (const [name, r] of this.rows) for (const f of r.failures.slice(0, 20)) lines.push(`  ! ${name}: ${f}`)
    lines.push(...extra)
    console.log(lines.join('\n'))
  }

  /** Every category was exercised, nothing was accepted, nothing answered 5xx. */
  expectZeros(): void {
    const summary = Object.fromEntries(
      [...this.rows].map(([name, r]) => [
        name,
        { accepted: r.accepted, fiveXx: r.fiveXx, failures: r.failures.slice(0, 10) },
      ]),
    )
    const zeros = Object.fromEntries([...this.rows].map(([name]) => [name, { accepted: 0, fiveXx: 0, failures: [] }]))
    expect(summary).toEqual(zeros)
    for (const [name, r] of this.rows) expect(r.tried, name).toBeGreaterThan(0)
  }
}

// --- secrets ---------------------------------------------------------------------------

/**
 * Secrets the suite used; 8-character prefixes too where the value is random. Also registered for the run-wide check.
 */
export class Secrets {
  readonly values = new Map<string, string>()

  remember(name: string, value: string | undefined, options: { prefix?: boolean } = {}): void {
    if (!value) return
    // Token-shaped values only go to the run-wide check: the hostile suites also "remember"
    // their own attack strings (markup, CRLF), which other files may store as plain data.
    if (/^[A-Za-z0-9._~+/=-]+$/.test(value)) registerSecret(name, value, { random: options.prefix ?? true })
    this.values.set(`${name}: ${value.slice(0, 4)}…`, value)
    if ((options.prefix ?? true) && value.length >= 16)
      this.values.set(`${name} (8-char prefix): ${value.slice(0, 4)}…`, value.slice(0, 8))
  }

  /**
   * A JWT: in full, its signature segment, and that segment's 8-character prefix (the header and payload prefixes are
   * not random).
   */
  rememberJwt(name: string, jwt: string): void {
    this.remember(name, jwt, { prefix: false })
    this.remember(`${name} signature`, jwt.split('.')[2])
  }

  foundIn(logs: string[]): string[] {
    const text = logs.join('')
    return [...this.values].filter(([, v]) => text.includes(v)).map(([name]) => name)
  }

  /** The broker logged at least `minLines` lines (so the search means something), none holding a remembered secret. */
  async expectNoneLogged(broker: TestBroker, minLines: number): Promise<void> {
    await broker.app.services.audit.flush()
    expect(broker.logs.length).toBeGreaterThan(minLines)
    expect(this.foundIn(broker.logs)).toEqual([])
  }
}
