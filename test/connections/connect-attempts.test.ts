// A connect URL opened in several browsers (a second device, a mail scanner, a retry):
// each opening is an attempt of its own, bound to its browser; none spoils another; the
// first to complete wins and every later completion ends on the broker's error page
// without a code exchange. HEAD starts nothing. Over https the binding cookies are
// `__Host-` cookies. Against a real OAuth 2.0 authorization server and the respond.io replica.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_ATTEMPTS_PER_SESSION } from '../../src/connections/connect-sessions.js'
import { startRespondIoReplica, type RespondIoReplica } from '../replicas/respondio.js'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { Browser } from '../support/browser.js'
import { apiClient, type Api } from '../support/connect.js'

const RETURN = 'https://app.example.com/connected'
const HTTPS_URL = 'https://broker.example.com'
let as: AuthorizationServer
let respondio: RespondIoReplica
let broker: TestBroker
let api: Api
/** The same broker configuration, served (behind a TLS proxy, say) as https. */
let secure: TestBroker
let secureApi: Api

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({
    redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`, `${HTTPS_URL}/oauth/callback/idp`],
  })
  respondio = await startRespondIoReplica()
  const providers = {
    idp: providerEntryFor(as, { pkce: true }),
    respondio: { validationUrl: respondio.urls.validationUrl },
  }
  const env = { ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true' }
  broker = await startBroker({ port, providers, env })
  api = apiClient(broker, await broker.token())
  secure = await startBroker({ providers, env: { ...env, PUBLIC_URL: HTTPS_URL } })
  secureApi = apiClient(secure, await secure.token())
})
afterAll(async () => {
  await Promise.all([broker?.close(), secure?.close()])
  await Promise.all([as?.close(), respondio?.close()])
})

async function session(through: Api = api, extra: Record<string, unknown> = {}) {
  const res = await through('POST', '/v1/connect-sessions', {
    provider: 'idp',
    ownerId: 'several-browsers',
    returnUrl: RETURN,
    ...extra,
  })
  expect(res.status).toBe(201)
  return res.body as { id: string; connectUrl: string }
}

/** Opens the connect URL in `browser` and plays the user at the provider; returns the callback URL. */
async function throughProvider(browser: Browser, connectUrl: string, options?: { deny?: boolean }) {
  const start = await browser.get(connectUrl)
  expect(start.status).toBe(302)
  return as.authorize(start.headers.get('location')!, options)
}

const attempts = (sessionId: string) => broker.db.prisma.connectAttempt.count({ where: { sessionId } })
const connections = () => broker.db.prisma.connection.count()

async function expectSessionUsedPage(res: Response) {
  expect(res.status).toBe(400)
  expect(res.headers.get('location')).toBeNull()
  expect(await res.text()).toContain('<code>session_used</code>')
}

describe('a connect URL opened in several browsers', () => {
  it(
    'a later opening (another browser, a scanner) spoils nothing: the first to ' +
      'complete wins, the later one gets the error page without a code exchange',
    async () => {
      const { id, connectUrl } = await session()
      const user = new Browser()
      const callback = await throughProvider(user, connectUrl)
      // A mail scanner fetches the link; then the user opens it on a second device too.
      expect((await fetch(connectUrl, { redirect: 'manual' })).status).toBe(302)
      const laptop = new Browser()
      const laterCallback = await throughProvider(laptop, connectUrl)
      expect(await attempts(id)).toBe(3)

      const done = await user.get(callback)
      expect(done.status).toBe(302)
      expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')

      const exchanges = as.tokenRequests.length
      const count = await connections()
      await expectSessionUsedPage(await laptop.get(laterCallback))
      expect(as.tokenRequests.length).toBe(exchanges)
      expect(await connections()).toBe(count)
      // Opening the link after the completion: the same page, no new attempt.
      await expectSessionUsedPage(await new Browser().get(connectUrl))
      expect(await attempts(id)).toBe(3)
    },
  )

  it(
    "an attempt's failure (denied at the provider, another " + "browser's callback) leaves the other attempts usable",
    async () => {
      const { connectUrl } = await session()
      const first = new Browser()
      const firstCallback = await throughProvider(first, connectUrl)
      const second = new Browser()
      const denied = await second.get(await throughProvider(second, connectUrl, { deny: true }))
      expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied')
      // The first attempt's callback in a third browser: refused, and it consumed that attempt ...
      const third = new Browser()
      const thirdCallback = await throughProvider(third, connectUrl)
      const stolen = await new Browser().get(thirdCallback)
      expect(new URL(stolen.headers.get('location')!).searchParams.get('error')).toBe('browser_mismatch')
      // ... but not the session: the first browser still completes.
      const done = await first.get(firstCallback)
      expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
    },
  )

  it('two browsers completing at once: one connection, one code exchange, the other on the error page', async () => {
    const { connectUrl } = await session()
    const a = new Browser()
    const b = new Browser()
    const [callbackA, callbackB] = [await throughProvider(a, connectUrl), await throughProvider(b, connectUrl)]
    const exchanges = as.tokenRequests.length
    const count = await connections()
    const outcomes = await Promise.all([a.get(callbackA), b.get(callbackB)])
    const won = outcomes.filter((res) => res.status === 302)
    expect(won).toHaveLength(1)
    expect(new URL(won[0]!.headers.get('location')!).searchParams.get('status')).toBe('connected')
    await expectSessionUsedPage(outcomes.find((res) => res.status !== 302)!)
    expect(as.tokenRequests.length - exchanges).toBe(1)
    expect(await connections()).toBe(count + 1)
  })

  it(
    `at most ${MAX_ATTEMPTS_PER_SESSION} attempts per link, ` +
      'even opened all at once; the earlier ones still complete',
    async () => {
      const { id, connectUrl } = await session()
      const browsers = Array.from({ length: MAX_ATTEMPTS_PER_SESSION + 3 }, () => new Browser())
      const opened = await Promise.all(browsers.map((b) => b.get(connectUrl)))
      expect(opened.filter((res) => res.status === 302)).toHaveLength(MAX_ATTEMPTS_PER_SESSION)
      const refused = opened.filter((res) => res.status !== 302)
      expect(refused.map((res) => res.status)).toEqual([400, 400, 400])
      for (const res of refused) {
        expect(res.headers.get('set-cookie')).toBeNull()
        expect(await res.text()).toContain('<code>too_many_attempts</code>')
      }
      expect(await attempts(id)).toBe(MAX_ATTEMPTS_PER_SESSION)
      const winner = browsers[opened.findIndex((res) => res.status === 302)]!
      const start = opened.find((res) => res.status === 302)!
      const done = await winner.get(await as.authorize(start.headers.get('location')!))
      expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
    },
  )

  it('HEAD starts no attempt: no row, no cookie; it answers the status of the link', async () => {
    const { id, connectUrl } = await session()
    const head = await fetch(connectUrl, { method: 'HEAD', redirect: 'manual' })
    expect(head.status).toBe(200)
    expect(head.headers.get('set-cookie')).toBeNull()
    expect(head.headers.get('cache-control')).toBe('no-store')
    expect(await attempts(id)).toBe(0)
    expect((await broker.db.prisma.connectSession.findUniqueOrThrow({ where: { id } })).attemptCount).toBe(0)
    expect((await fetch(`${broker.url}/connect/${'x'.repeat(43)}`, { method: 'HEAD' })).status).toBe(404)

    const user = new Browser()
    const done = await user.get(await throughProvider(user, connectUrl))
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
    expect((await fetch(connectUrl, { method: 'HEAD' })).status).toBe(400)
    expect(await attempts(id)).toBe(1)
  })

  it('HEAD of the callback URL spends neither the attempt nor the code', async () => {
    const user = new Browser()
    const callback = await throughProvider(user, (await session()).connectUrl)
    const exchanges = as.tokenRequests.length
    const head = await fetch(callback, { method: 'HEAD', redirect: 'manual' })
    expect(head.status).toBe(400)
    expect(head.headers.get('set-cookie')).toBeNull()
    expect(as.tokenRequests.length).toBe(exchanges)
    const done = await user.get(callback)
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
  })

  it('connect forms in two browsers: the first submission wins, the other ends on the error page', async () => {
    const created = await api('POST', '/v1/connect-sessions', {
      provider: 'respondio',
      ownerId: 'form-user',
      returnUrl: RETURN,
    })
    const openForm = async (browser: Browser) =>
      /name="attempt" value="([^"]+)"/.exec(await (await browser.get(created.body.connectUrl)).text())![1]!
    const [a, b] = [new Browser(), new Browser()]
    const [attemptA, attemptB] = [await openForm(a), await openForm(b)]
    const done = await b.post(created.body.connectUrl, { attempt: attemptB, apiKey: respondio.apiKey })
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
    const count = await connections()
    await expectSessionUsedPage(await a.post(created.body.connectUrl, { attempt: attemptA, apiKey: respondio.apiKey }))
    expect(await connections()).toBe(count)
  })
})

describe('binding cookies when the broker is served over https', () => {
  const local = (url: string) => url.replace(HTTPS_URL, secure.url)

  it('are __Host- cookies: Secure, Path=/, no Domain, and the flow completes with them', async () => {
    const { connectUrl } = await session(secureApi)
    const browser = new Browser()
    const start = await browser.get(local(connectUrl))
    expect(start.status).toBe(302)
    const [cookie] = start.headers.getSetCookie()
    expect(cookie).toMatch(/^__Host-broker_attempt_[0-9a-f]{16}=/)
    const attrs = cookie!.split(';').map((a) => a.trim().toLowerCase())
    expect(attrs).toEqual(expect.arrayContaining(['path=/', 'secure', 'httponly', 'samesite=lax']))
    expect(attrs.some((a) => a.startsWith('domain='))).toBe(false)

    const callback = await as.authorize(start.headers.get('location')!)
    expect(callback.origin).toBe(HTTPS_URL)
    const done = await browser.get(local(callback.href))
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
    // Cleared under the same name and attributes, else the browser keeps it.
    const cleared = done.headers
      .getSetCookie()[0]!
      .split(';')
      .map((a) => a.trim().toLowerCase())
    expect(cleared).toEqual(expect.arrayContaining(['path=/', 'secure']))
    expect(cleared[0]).toBe(`${cookie!.split('=')[0]!.toLowerCase()}=`)
  })

  it('the form attempt too; an unprefixed cookie of the same value is not accepted', async () => {
    const created = await secureApi('POST', '/v1/connect-sessions', {
      provider: 'respondio',
      ownerId: 'form-https',
      returnUrl: RETURN,
    })
    const url = local(created.body.connectUrl)
    const browser = new Browser()
    const page = await browser.get(url)
    const [cookie] = page.headers.getSetCookie()
    expect(cookie).toMatch(/^__Host-broker_attempt_[0-9a-f]{16}=.*; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
    const attempt = /name="attempt" value="([^"]+)"/.exec(await page.text())![1]!
    // A cookie planted without the prefix (as a sibling subdomain could) does not bind.
    const planted = new Browser()
    for (const [name, c] of browser.cookies) planted.cookies.set(name.replace('__Host-', ''), { ...c })
    const refused = await planted.post(url, { attempt, apiKey: respondio.apiKey })
    expect(new URL(refused.headers.get('location')!).searchParams.get('error')).toBe('browser_mismatch')
    const done = await browser.post(url, { attempt, apiKey: respondio.apiKey })
    expect(new URL(done.headers.get('location')!).searchParams.get('status')).toBe('connected')
  })

  it('over http (loopback development) the names and paths stay as they were', async () => {
    const start = await new Browser().get((await session()).connectUrl)
    expect(start.headers.getSetCookie()[0]).toMatch(
      /^broker_attempt_[0-9a-f]{16}=.*; Path=\/oauth\/callback; HttpOnly; SameSite=Lax$/,
    )
  })
})
