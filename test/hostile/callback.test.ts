// Hostile callbacks and connect links (docs/security.md, checklist items 1-8, and "Adversarial
// cases", group callback),
// against a broker whose provider is a real authorization server (oidc-provider, RFC 9207
// iss, PKCE). Every refused callback must: answer 4xx, or 302 to the session's return URL
// carrying only `status=error&error=<fixed code>`; send no token request to the provider
// (unless the attack itself is a code, which only the provider can judge); store no
// connection; reflect nothing; inject no header. Figures are printed at the end.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONNECT_ERRORS } from '../../src/errors.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { BOOTSTRAP_SECRET, freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, type Api } from '../support/connect.js'
import {
  CRLF_ENCODED,
  Figures,
  headerProblems,
  internalsIn,
  NO_RATE_LIMITS,
  raw,
  reflectionProblems,
  Secrets,
  type RawResponse,
} from './support.js'

const RETURN = 'https://app.example.com/connected'
const CALLBACK = 'callback'
const LINK = 'connect link'

let as: AuthorizationServer
let broker: TestBroker
let api: Api
const figures = new Figures('callback and connect-link attacks')
const secrets = new Secrets()
const started = Date.now()

beforeAll(async () => {
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  as = await startAuthorizationServer({
    redirectUris: [`${publicUrl}/oauth/callback/idp`, `${publicUrl}/oauth/callback/other`],
  })
  broker = await startBroker({
    port,
    env: NO_RATE_LIMITS,
    providers: { idp: providerEntryFor(as), other: providerEntryFor(as, { displayName: 'Other' }) },
  })
  const token = await broker.token()
  api = apiClient(broker, token)
  secrets.rememberJwt('broker token', token)
  secrets.remember('bootstrap secret', BOOTSTRAP_SECRET)
  secrets.remember('provider client secret', as.clientSecret)
})

afterAll(async () => {
  figures.print([
    `secrets searched in the logs: ${secrets.values.size}`,
    `runtime: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  ])
  await broker?.close()
  await as?.close()
})

// --- an attempt in progress, as a victim's browser holds it ---------------------------

interface Attempt {
  browser: Browser
  state: string
  authorizeUrl: URL
  connectUrl: string
}

async function attempt(returnUrl: string | null = RETURN): Promise<Attempt> {
  const created = await api('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'victim',
    ...(returnUrl ? { returnUrl } : {}),
  })
  expect(created.status).toBe(201)
  const connectUrl = created.body.connectUrl as string
  secrets.remember('connect link token', connectUrl.split('/').pop())
  const browser = new Browser()
  const start = await browser.get(connectUrl)
  expect(start.status).toBe(302)
  const authorizeUrl = new URL(start.headers.get('location')!)
  const state = authorizeUrl.searchParams.get('state')!
  secrets.remember('state', state)
  for (const c of browser.cookies.values()) secrets.remember('binding cookie', c.value)
  return { browser, state, authorizeUrl, connectUrl }
}

/** Plays the user at the provider: the callback URL (code, state, iss) the provider sends the browser to. */
async function authorized(a: Attempt): Promise<URL> {
  const callback = await as.authorize(a.authorizeUrl.href)
  secrets.remember('authorization code', callback.searchParams.get('code')!)
  return callback
}

/** The Cookie header a browser sends to /oauth/callback/... */
function cookieHeader(browser: Browser): string {
  return [...browser.cookies]
    .filter(([, c]) => !c.expired && '/oauth/callback/'.startsWith(c.path))
    .map(([name, c]) => `${name}=${c.value}`)
    .join('; ')
}

const fakeCode = () => {
  const code = randomBytes(24).toString('base64url')
  secrets.remember('forged code', code)
  return code
}
const enc = encodeURIComponent

function get(path: string, cookie?: string, headers: Array<[string, string]> = []): Promise<RawResponse> {
  return raw(broker.url, { path, headers: cookie ? [['cookie', cookie], ...headers] : headers })
}

// --- the checks every refused callback must pass --------------------------------------

interface Expected {
  /** The fixed error code the answer must carry (in the redirect or on the page). */
  error?: string
  /** The case is a code only the provider can judge: a token request is expected (and must fail). */
  tokenRequest?: boolean
}

const FIXED_CODES = new Set([...Object.keys(CONNECT_ERRORS), 'invalid_request', 'not_found', 'session_not_found'])

function errorCodeOf(res: RawResponse): string | undefined {
  const location = res.header('location')
  if (location) return new URL(location).searchParams.get('error') ?? undefined
  const page = /Error code: <code>([a-z_]+)<\/code>/.exec(res.text)?.[1]
  if (page) return page
  try {
    return (JSON.parse(res.text) as { code?: string }).code
  } catch {
    return undefined
  }
}

async function attack(
  category: string,
  label: string,
  send: () => Promise<RawResponse>,
  expected: Expected = {},
): Promise<void> {
  const tokenRequests = as.tokenRequests.length
  const connections = await broker.db.prisma.connection.count()
  const res = await send()
  const stored = (await broker.db.prisma.connection.count()) - connections
  const calledProvider = as.tokenRequests.length > tokenRequests
  const problems = headerProblems(res)
  let accepted = stored > 0 || (calledProvider && !expected.tokenRequest) || (res.status >= 200 && res.status < 300)

  if (res.status === 302) {
    const back = new URL(res.header('location')!)
    if (`${back.origin}${back.pathname}` !== RETURN)
      problems.push(`redirect to ${back.origin}${back.pathname}, not the return URL`)
    const keys = [...back.searchParams.keys()].sort()
    if (back.searchParams.get('status') === 'connected') accepted = true
    else if (JSON.stringify(keys) !== '["error","status"]' || back.searchParams.get('status') !== 'error')
      problems.push(`redirect carries more than a fixed error: ${back.search.slice(0, 200)}`)
    if (!FIXED_CODES.has(back.searchParams.get('error') ?? ''))
      problems.push(`error code is not a fixed code: ${back.searchParams.get('error')?.slice(0, 100)}`)
  } else if (res.status < 400 || res.status >= 500) {
    problems.push(`status ${res.status}`)
  }
  if (res.status === 302 || (res.header('content-type') ?? '').includes('html')) {
    // The route's own answers (pages and redirects) are never cached and leak no referrer.
    if (res.header('cache-control') !== 'no-store') problems.push(`cache-control: ${res.header('cache-control')}`)
    if (res.header('referrer-policy') !== 'no-referrer') problems.push('no referrer-policy')
  }
  problems.push(...reflectionProblems(res))
  const internals = internalsIn(res.text)
  if (internals) problems.push(`internal detail in the body (${internals})`)
  const code = errorCodeOf(res)
  if (expected.error !== undefined && code !== expected.error)
    problems.push(`error code ${code}, expected ${expected.error}`)
  if (calledProvider && expected.tokenRequest && stored === 0 && !code)
    problems.push('no error code after a failed exchange')

  figures.record(category, label, { status: res.status, accepted })
  expect
    .soft({ label, status: res.status, stored, calledProvider: calledProvider && !expected.tokenRequest, problems })
    .toEqual({
      label,
      status: res.status,
      stored: 0,
      calledProvider: false,
      problems: [],
    })
}

/** A callback path with the given raw query for a fresh attempt in progress. */
async function freshCallback(query: (a: Attempt, code: string) => string, provider = 'idp') {
  const a = await attempt()
  return { a, path: `/oauth/callback/${provider}?${query(a, fakeCode())}`, cookie: cookieHeader(a.browser) }
}

describe('callback: state', () => {
  it('missing, empty, forged, malformed or oversize state is refused without burning the real attempt', async () => {
    const a = await attempt()
    const iss = enc(as.issuer)
    const cookie = cookieHeader(a.browser)
    const forged = randomBytes(32).toString('base64url')
    secrets.remember('forged state', forged)
    const cases: Array<[string, string, string]> = [
      ['no state', `code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      ['empty query', '', 'invalid_state'],
      ['empty state', `state=&code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      ['forged state', `state=${forged}&code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      [
        'the connect link token as state',
        `state=${a.connectUrl.split('/').pop()}&code=${fakeCode()}&iss=${iss}`,
        'invalid_state',
      ],
      ['state in upper case', `state=${enc(a.state.toUpperCase())}&code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      // Not storable text: refused as malformed input, before the attempt is looked up.
      ['state with a NUL', `state=${a.state}%00&code=${fakeCode()}&iss=${iss}`, 'invalid_request'],
      [
        'state with CRLF and a header',
        `state=${a.state}${CRLF_ENCODED}&code=${fakeCode()}&iss=${iss}`,
        'invalid_state',
      ],
      ['SQL-ish state', `state=${enc("' OR 1=1--")}&code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      ['state of 10k characters', `state=${'s'.repeat(10_000)}&code=${fakeCode()}&iss=${iss}`, 'invalid_request'],
      ['state[] instead of state', `state[]=${a.state}&code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      ['STATE instead of state', `STATE=${a.state}&code=${fakeCode()}&iss=${iss}`, 'invalid_state'],
      [
        'error=access_denied without state',
        `error=access_denied&error_description=${enc('<script>alert(1)</script>')}`,
        'invalid_state',
      ],
    ]
    for (const [label, query, error] of cases)
      await attack(CALLBACK, label, () => get(`/oauth/callback/idp?${query}`, cookie), { error })

    // None of that consumed the victim's attempt: it still completes (control).
    const callback = await authorized(a)
    const done = await a.browser.get(callback)
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
  })

  it('replayed state: single use, with or without the cookie, on any provider path', async () => {
    const a = await attempt()
    const callback = await authorized(a)
    const cookie = cookieHeader(a.browser)
    const done = await a.browser.get(callback)
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
    const path = `${callback.pathname}${callback.search}`
    await attack(CALLBACK, 'replay with the binding cookie', () => get(path, cookie), { error: 'invalid_state' })
    await attack(CALLBACK, 'replay without a cookie', () => get(path), { error: 'invalid_state' })
    await attack(CALLBACK, 'replay on another provider path', () => get(path.replace('/idp?', '/other?'), cookie), {
      error: 'invalid_state',
    })
  })

  it('expired state', async () => {
    const a = await attempt()
    const callback = await authorized(a)
    const ttl = broker.config.connectSessionTtlSeconds + 1
    broker.clock.advance(ttl)
    try {
      await attack(
        CALLBACK,
        'expired state',
        () => get(`${callback.pathname}${callback.search}`, cookieHeader(a.browser)),
        { error: 'session_expired' },
      )
    } finally {
      broker.clock.advance(-ttl)
    }
  })

  it('a valid state from another browser', async () => {
    const victim = await attempt()
    const victimCallback = await authorized(victim)
    await attack(CALLBACK, 'victim state, no cookie', () => get(`${victimCallback.pathname}${victimCallback.search}`), {
      error: 'browser_mismatch',
    })

    // The attacker renames their own binding cookie to the victim's cookie name.
    const attacker = await attempt()
    const v2 = await attempt()
    const [victimCookieName] = [...v2.browser.cookies.keys()]
    const [, attackerCookie] = [...attacker.browser.cookies][0]!
    await attack(
      CALLBACK,
      "attacker's cookie under the victim's cookie name",
      () =>
        get(
          `/oauth/callback/idp?state=${v2.state}&code=${fakeCode()}&iss=${enc(as.issuer)}`,
          `${victimCookieName}=${attackerCookie.value}`,
        ),
      { error: 'browser_mismatch' },
    )

    const cookieCases: Array<[string, (name: string, value: string) => string]> = [
      ['forged cookie value', (name) => `${name}=${randomBytes(32).toString('base64url')}`],
      ['cookie value with bad percent-encoding', (name) => `${name}=%zz%`],
      ['cookie value with a suffix', (name, value) => `${name}=${value}x`],
      ['cookie value truncated', (name, value) => `${name}=${value.slice(0, -1)}`],
      ['empty cookie value', (name) => `${name}=`],
      [
        '8 KB of cookies, none the binding',
        () => Array.from({ length: 200 }, (_, i) => `c${i}=${'v'.repeat(30)}`).join('; '),
      ],
      [
        'binding cookie twice, forged first',
        (name, value) => `${name}=${randomBytes(32).toString('base64url')}; ${name}=${value}`,
      ],
    ]
    for (const [label, cookie] of cookieCases) {
      const a = await attempt()
      const [name, c] = [...a.browser.cookies][0]!
      await attack(
        CALLBACK,
        label,
        () =>
          get(`/oauth/callback/idp?state=${a.state}&code=${fakeCode()}&iss=${enc(as.issuer)}`, cookie(name, c.value)),
        { error: 'browser_mismatch' },
      )
    }
  })
})

describe('callback: parameters', () => {
  it('duplicate state, code, iss, error parameters are refused before anything else', async () => {
    const iss = enc(as.issuer)
    const cases: Array<[string, (a: Attempt, code: string) => string]> = [
      ['state twice (same value)', (a, code) => `state=${a.state}&state=${a.state}&code=${code}&iss=${iss}`],
      ['state twice (forged first)', (a, code) => `state=forged&state=${a.state}&code=${code}&iss=${iss}`],
      ['state twice (forged last)', (a, code) => `state=${a.state}&state=forged&code=${code}&iss=${iss}`],
      ['code twice', (a, code) => `state=${a.state}&code=${code}&code=${fakeCode()}&iss=${iss}`],
      ['iss twice (same value)', (a, code) => `state=${a.state}&code=${code}&iss=${iss}&iss=${iss}`],
      [
        'iss twice (evil last)',
        (a, code) => `state=${a.state}&code=${code}&iss=${iss}&iss=${enc('https://evil.example')}`,
      ],
      ['error twice', (a) => `state=${a.state}&error=access_denied&error=server_error&iss=${iss}`],
      [
        'error_description twice',
        (a) => `state=${a.state}&error=access_denied&error_description=a&error_description=b&iss=${iss}`,
      ],
    ]
    for (const [label, query] of cases) {
      const { path, cookie } = await freshCallback(query)
      await attack(CALLBACK, label, () => get(path, cookie), { error: 'invalid_request' })
    }
  })

  it('a wrong, altered or missing iss (RFC 9207)', async () => {
    const issuer = new URL(as.issuer)
    const cases: Array<[string, string | undefined]> = [
      ['iss missing', undefined],
      ['iss empty', ''],
      ['iss of another server', 'https://evil.example'],
      ['iss with a trailing slash', `${as.issuer}/`],
      ['iss in upper case', as.issuer.toUpperCase()],
      ['iss with CRLF and a header', `${as.issuer}\r\nx-injected: 1`],
      ['iss as a suffix host', `http://127.0.0.1:${issuer.port}.evil.example`],
      ['iss with userinfo', `http://evil@127.0.0.1:${issuer.port}`],
    ]
    for (const [label, iss] of cases) {
      const { path, cookie } = await freshCallback(
        (a, code) => `state=${a.state}&code=${code}${iss === undefined ? '' : `&iss=${enc(iss)}`}`,
      )
      await attack(CALLBACK, label, () => get(path, cookie), { error: 'issuer_mismatch' })
    }
    // Not storable text: refused as malformed input before the iss comparison.
    const { path, cookie } = await freshCallback(
      (a, code) => `state=${a.state}&code=${code}&iss=${enc(`${as.issuer}\0`)}`,
    )
    await attack(CALLBACK, 'iss with a NUL', () => get(path, cookie), { error: 'invalid_request' })
  })

  it('error=access_denied with HTML and CRLF in error_description has no effect and reflects nothing', async () => {
    const iss = enc(as.issuer)
    const description = enc(`<script>alert(1)</script>${'\r\n'}x-injected: 1`)
    const cases: Array<[string, string | null, (a: Attempt) => string, string]> = [
      [
        'access_denied with markup and CRLF (return URL)',
        RETURN,
        (a) => `state=${a.state}&error=access_denied&error_description=${description}&iss=${iss}`,
        'access_denied',
      ],
      [
        'access_denied with markup and CRLF (HTML page)',
        null,
        (a) => `state=${a.state}&error=access_denied&error_description=${description}&iss=${iss}`,
        'access_denied',
      ],
      [
        'access_denied with a javascript: error_uri',
        RETURN,
        (a) => `state=${a.state}&error=access_denied&error_uri=${enc('javascript:alert(1)')}&iss=${iss}`,
        'access_denied',
      ],
      [
        'error that is markup',
        RETURN,
        (a) => `state=${a.state}&error=${enc('<script>alert(1)</script>')}&iss=${iss}`,
        'authorization_failed',
      ],
      [
        'error with CRLF and a header',
        null,
        (a) => `state=${a.state}&error=x${CRLF_ENCODED}&iss=${iss}`,
        'authorization_failed',
      ],
      [
        'error together with a code',
        RETURN,
        (a) => `state=${a.state}&error=access_denied&code=${fakeCode()}&iss=${iss}`,
        'access_denied',
      ],
      [
        'error_description over 4 KB',
        RETURN,
        (a) => `state=${a.state}&error=access_denied&error_description=${'d'.repeat(5000)}&iss=${iss}`,
        'invalid_request',
      ],
    ]
    for (const [label, returnUrl, query, error] of cases) {
      const a = await attempt(returnUrl)
      await attack(CALLBACK, label, () => get(`/oauth/callback/idp?${query(a)}`, cookieHeader(a.browser)), { error })
    }
    // A real refusal at the provider, carried back with markup added.
    const a = await attempt()
    const callback = await as.authorize(a.authorizeUrl.href, { deny: true })
    callback.searchParams.set('error_description', '<script>alert(1)</script>\r\nx-injected: 1')
    await attack(
      CALLBACK,
      'real access_denied from the provider, markup added',
      () => get(`${callback.pathname}${callback.search}`, cookieHeader(a.browser)),
      { error: 'access_denied' },
    )
  })

  it("an attacker's code with the victim's state fails PKCE at the provider and stores nothing", async () => {
    const attacker = await attempt()
    const attackerCode = (await authorized(attacker)).searchParams.get('code')!
    const victim = await attempt()
    const victimCallback = await authorized(victim)
    victimCallback.searchParams.set('code', attackerCode)
    await attack(
      CALLBACK,
      "attacker's code, victim's state",
      () => get(`${victimCallback.pathname}${victimCallback.search}`, cookieHeader(victim.browser)),
      {
        error: 'authorization_failed',
        tokenRequest: true,
      },
    )
    expect(as.tokenRequests.at(-1)!.params.code).toBe(attackerCode)
  })

  it('a code used once is refused the second time (new attempt, same code)', async () => {
    const first = await attempt()
    const callback = await authorized(first)
    const code = callback.searchParams.get('code')!
    expect(new URL((await first.browser.get(callback)).headers.get('location')!).searchParams.get('status')).toBe(
      'connected',
    )
    const second = await attempt()
    await attack(
      CALLBACK,
      'code reused in a new attempt',
      () =>
        get(
          `/oauth/callback/idp?state=${second.state}&code=${enc(code)}&iss=${enc(as.issuer)}`,
          cookieHeader(second.browser),
        ),
      {
        error: 'authorization_failed',
        tokenRequest: true,
      },
    )
    // A garbage code with markup and CRLF: only the provider can refuse it, nothing is reflected.
    const third = await attempt()
    await attack(
      CALLBACK,
      'code with markup and CRLF',
      () =>
        get(
          `/oauth/callback/idp?state=${third.state}&code=${enc('<script>alert(1)</script>')}${CRLF_ENCODED}` +
            `&iss=${enc(as.issuer)}`,
          cookieHeader(third.browser),
        ),
      {
        error: 'authorization_failed',
        tokenRequest: true,
      },
    )
  })
})

describe('callback: provider path', () => {
  it('a wrong provider in the path, and hostile path segments', async () => {
    const segments: Array<[string, string]> = [
      ['another configured provider', 'other'],
      ['an unknown provider', 'nope'],
      ['..', '..'],
      ['%2e%2e', '%2e%2e'],
      ['%2E%2E', '%2E%2E'],
      ['.', '.'],
      ['idp%2F..%2Fidp', 'idp%2F..%2Fidp'],
      ['..%2Fidp', '..%2Fidp'],
      ['idp%2F', 'idp%2F'],
      ['NUL', '%00'],
      ['idp + NUL', 'idp%00'],
      ['idp + CRLF header', `idp${CRLF_ENCODED}`],
      ['10k characters', 'p'.repeat(10_000)],
      ['64 characters', 'p'.repeat(64)],
      ['unicode (encoded)', 'idp%C3%A9'],
      ['unicode (raw UTF-8)', 'idpé'],
      ['emoji (encoded)', '%F0%9F%98%80'],
      ['emoji (raw UTF-8)', '😀'],
      ['invalid UTF-8', 'idp%ff%fe'],
      ['bad percent-encoding', 'idp%zz'],
      ['lone percent', '%'],
      ['upper case', 'IDP'],
      ['trailing space', 'idp%20'],
      ['matrix parameter', 'idp;x=1'],
      ['encoded semicolon', 'idp%3Bx'],
      ['markup (encoded)', '%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
      ['markup (raw)', '<script>alert(1)</script>'],
      ['markup (raw) and a bad percent-encoding', '<script>alert(1)</script>%zz'],
      ['markup (raw), over the router limit', '<b>'.repeat(200)],
      ['SQL-ish', enc("idp' OR 1=1--")],
    ]
    for (const [label, segment] of segments) {
      const { path, cookie } = await freshCallback(
        (a, code) => `state=${a.state}&code=${code}&iss=${enc(as.issuer)}`,
        segment,
      )
      await attack(CALLBACK, `provider segment: ${label}`, () => get(path, cookie))
    }
    const paths: Array<[string, (q: string) => string]> = [
      ['trailing slash', (q) => `/oauth/callback/idp/?${q}`],
      ['double slash before the provider', (q) => `/oauth/callback//idp?${q}`],
      ['double slash in the prefix', (q) => `/oauth//callback/idp?${q}`],
      ['dot-dot after the provider', (q) => `/oauth/callback/idp/..?${q}`],
      ['dot-dot back to the provider', (q) => `/oauth/callback/other/../idp?${q}`],
      ['encoded dot-dot after the provider', (q) => `/oauth/callback/idp/%2e%2e?${q}`],
      ['upper-case prefix', (q) => `/OAUTH/callback/idp?${q}`],
      ['markup after the provider', (q) => `/oauth/callback/idp/<script>alert(1)</script>?${q}`],
    ]
    for (const [label, path] of paths) {
      const { a, cookie } = await freshCallback(() => '')
      await attack(CALLBACK, `callback path: ${label}`, () =>
        get(path(`state=${a.state}&code=${fakeCode()}&iss=${enc(as.issuer)}`), cookie),
      )
    }
  })

  it('Host and forwarded headers never change the redirect URI (built from PUBLIC_URL)', async () => {
    const created = await api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'victim', returnUrl: RETURN })
    const token = (created.body.connectUrl as string).split('/').pop()!
    const evil: Array<[string, string]> = [
      ['x-forwarded-host', 'evil.example'],
      ['x-forwarded-proto', 'https'],
      ['forwarded', 'host=evil.example;proto=https'],
    ]
    // An absolute-form request target names another host too (it overrides Host, RFC 9112 §3.2.2).
    const start = await raw(broker.url, { path: `http://evil.example/connect/${token}`, headers: evil })
    expect(start.status).toBe(302)
    const authorize = new URL(start.header('location')!)
    const redirectUri = authorize.searchParams.get('redirect_uri')
    figures.record(CALLBACK, 'forwarded headers at the connect link', {
      status: start.status,
      accepted: redirectUri !== `${broker.url}/oauth/callback/idp`,
    })
    expect(redirectUri).toBe(`${broker.url}/oauth/callback/idp`)
    const cookie = start.headers
      .filter(([k]) => k === 'set-cookie')
      .map(([, v]) => v.split(';')[0])
      .join('; ')
    const callback = await as.authorize(authorize.href)
    secrets.remember('authorization code', callback.searchParams.get('code')!)
    const done = await get(`${callback.pathname}${callback.search}`, cookie, evil)
    const exchange = as.tokenRequests.at(-1)!
    figures.record(CALLBACK, 'forwarded headers at the callback', {
      status: done.status,
      accepted: exchange.params.redirect_uri !== `${broker.url}/oauth/callback/idp`,
    })
    expect(exchange.params.redirect_uri).toBe(`${broker.url}/oauth/callback/idp`)
    expect(new URL(done.header('location')!).searchParams.get('status')).toBe('connected')
  })
})

describe('connect links', () => {
  it('hostile, unknown, used and expired connect links', async () => {
    const tokens: Array<[string, string, number[]]> = [
      ['..', '..', [404]],
      ['%2e%2e', '%2e%2e', [404]],
      ['..%2F..%2Fetc%2Fpasswd', '..%2F..%2Fetc%2Fpasswd', [404]],
      ['SQL-ish', enc("' OR 1=1--"), [404]],
      ['10k characters', 't'.repeat(10_000), [400, 404, 414, 431]],
      ['NUL', `${'t'.repeat(42)}%00`, [400]],
      ['unicode', `${'t'.repeat(41)}%C3%A9`, [404]],
      ['emoji (raw)', `${'t'.repeat(41)}😀`, [400, 404]],
      ['CRLF and a header', `t${CRLF_ENCODED}`, [404]],
      ['well-formed but unknown', randomBytes(32).toString('base64url'), [404]],
      ['42 characters', 't'.repeat(42), [404]],
      ['44 characters', 't'.repeat(44), [404]],
    ]
    for (const [label, token, statuses] of tokens) {
      await attack(LINK, `link: ${label}`, async () => {
        const res = await get(`/connect/${token}`)
        expect.soft(statuses, label).toContain(res.status)
        return res
      })
    }

    // A used link, and an expired one: fixed pages, no new attempt.
    const used = await attempt()
    const callback = await authorized(used)
    await used.browser.get(callback)
    const usedToken = used.connectUrl.split('/').pop()!
    await attack(LINK, 'used link', () => get(`/connect/${usedToken}`), { error: 'session_used' })
    const expired = await api('POST', '/v1/connect-sessions', { provider: 'idp', ownerId: 'victim' })
    const ttl = broker.config.connectSessionTtlSeconds + 1
    broker.clock.advance(ttl)
    try {
      await attack(
        LINK,
        'expired link',
        () => get(`/connect/${(expired.body.connectUrl as string).split('/').pop()}`),
        { error: 'session_expired' },
      )
    } finally {
      broker.clock.advance(-ttl)
    }
  })

  it('POSTing the connect form of an OAuth 2.0 session, and hostile form bodies', async () => {
    const a = await attempt()
    const token = a.connectUrl.split('/').pop()!
    const form =
      (body: string, contentType = 'application/x-www-form-urlencoded') =>
      () =>
        raw(broker.url, { method: 'POST', path: `/connect/${token}`, headers: [['content-type', contentType]], body })
    await attack(
      LINK,
      'form post for an OAuth 2.0 provider',
      form(`attempt=${a.state}&apiKey=${enc('<script>alert(1)</script>')}`),
      { error: 'invalid_request' },
    )
    await attack(LINK, 'form post as JSON', form(JSON.stringify({ attempt: a.state }), 'application/json'))
    await attack(LINK, 'form post, repeated field', form(`attempt=${a.state}&attempt=${a.state}`))
    await attack(LINK, 'form post, hostile field name', form(`${enc('<script>')}=1&attempt=${a.state}`))
    await attack(LINK, 'form post, 20 KB', form(`attempt=${a.state}&apiKey=${'k'.repeat(20_000)}`))
    await attack(LINK, 'form post, CRLF in a value', form(`attempt=${a.state}&apiKey=x${CRLF_ENCODED}`))
  })
})

describe('afterwards', () => {
  it('left no secret in the logs', async () => {
    for (const r of as.tokenRequests) {
      secrets.remember('authorization code (sent)', r.params.code)
      secrets.remember('PKCE verifier', r.params.code_verifier)
      secrets.remember('refresh token (sent)', r.params.refresh_token)
    }
    const { body } = await api('GET', '/v1/connections?ownerId=victim&limit=200')
    for (const c of body.items as Array<{ id: string }>) {
      const row = await broker.db.prisma.connection.findUniqueOrThrow({ where: { id: c.id } })
      secrets.remember('provider access token', broker.app.services.connections.open(row, 'access_token') ?? undefined)
      secrets.remember(
        'provider refresh token',
        broker.app.services.connections.open(row, 'refresh_token') ?? undefined,
      )
    }
    await secrets.expectNoneLogged(broker, 50)
  })

  it('nothing accepted, no 5xx', () => {
    figures.expectZeros()
  })
})
