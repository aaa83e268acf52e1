// The broker's own connect forms (API-key and credential-exchange providers) in a real
// browser: headless Chromium (test/support/chromium.ts) fills the form and must land on
// the service's return page on another origin. Chromium checks the page's CSP
// `form-action` against the redirect that answers the submission, so the page must allow
// the return URL's origin, and only that one. Against the respond.io and Interact replicas.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Browser as Chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startInteractReplica, type InteractReplica } from '../replicas/interact.js'
import { startRespondIoReplica, type RespondIoReplica } from '../replicas/respondio.js'
import { startBroker, type TestBroker } from '../support/broker.js'
import { launchBrowser } from '../support/browser.js'
import { apiClient, registeredClient, type Api } from '../support/connect.js'

let respondio: RespondIoReplica
let interact: InteractReplica
let broker: TestBroker
let api: Api
/** The internal service's return page: a second server, another origin than the broker's. */
let app: Server
let appUrl: string
let browser: Chromium
/**
 * One context for the file: the packaged Chromium runs as a single process, which closing
 * a context can bring down. Each test gets a page and starts without cookies.
 */
let context: BrowserContext

beforeAll(async () => {
  const launched = launchBrowser() // unpacking Chromium overlaps the servers' start
  respondio = await startRespondIoReplica()
  interact = await startInteractReplica()
  const caFile = join(mkdtempSync(join(tmpdir(), 'broker-ca-')), 'ca.pem')
  writeFileSync(caFile, interact.caPem)
  broker = await startBroker({
    providers: { respondio: { validationUrl: respondio.urls.validationUrl }, interact: {} },
    // The test intranet runs on 127.0.0.1.
    env: { PROVIDER_CA_FILE: caFile, ALLOW_PRIVATE_PROVIDER_ADDRESSES: 'true' },
  })
  app = createServer((req, res) => {
    const query = new URL(req.url!, 'http://x').searchParams
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<h1 id="result">${query.get('status')}</h1>`)
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`
  const admin = apiClient(broker, await broker.token())
  api = await registeredClient(broker, admin, {
    name: 'web-app',
    scopes: ['connect:write', 'tokens:read'],
    allowedReturnUrls: [`${appUrl}/integrations`],
  })
  browser = await launched
  context = await browser.newContext()
})
afterAll(async () => {
  await browser?.close()
  if (app) await new Promise((r) => app.close(r))
  await broker?.close()
  await Promise.all([respondio?.close(), interact?.close()])
})

async function newPage() {
  await context.clearCookies()
  return context.newPage()
}

/** Opens the connect URL in a new page, fills the form, submits it; returns where the browser landed. */
async function connectInBrowser(provider: string, fields: Record<string, string>) {
  const session = await api('POST', '/v1/connect-sessions', {
    provider,
    ownerId: `${provider}-browser-user`,
    returnUrl: `${appUrl}/integrations/done`,
  })
  expect(session.status).toBe(201)
  const page = await newPage()
  const blocked: string[] = []
  page.on('console', (m) => m.type() === 'error' && blocked.push(m.text()))
  const opened = await page.goto(session.body.connectUrl)
  const csp = opened!.headers()['content-security-policy']!
  // The form may post to the broker and end on the return URL's origin, nowhere else.
  expect(csp).toContain(`form-action 'self' ${appUrl};`)
  for (const [name, value] of Object.entries(fields)) await page.fill(`#${name}`, value)
  await Promise.all([
    page.waitForURL(`${appUrl}/integrations/done?**`, { timeout: 10_000 }).catch(() => undefined),
    page.click('#connect'),
  ])
  return {
    url: new URL(page.url()),
    result: await page.textContent('h1', { timeout: 1000 }).catch(() => null),
    blocked,
  }
}

describe('connect forms in headless Chromium end on a cross-origin returnUrl', () => {
  it('respond.io (API key)', async () => {
    const landed = await connectInBrowser('respondio', { apiKey: respondio.apiKey })
    expect(landed.blocked).toEqual([])
    expect(landed.url.origin + landed.url.pathname).toBe(`${appUrl}/integrations/done`)
    expect(landed.url.searchParams.get('status')).toBe('connected')
    const connectionId = landed.url.searchParams.get('connection_id')!
    expect(connectionId).toMatch(/^conn_/)
    expect(landed.result).toBe('connected')
    const vended = await api('POST', `/v1/connections/${connectionId}/access-token`, {})
    expect(vended.body.accessToken).toBe(respondio.apiKey)
  })

  it('Interact (credential exchange)', async () => {
    const landed = await connectInBrowser('interact', interact.credentials)
    expect(landed.blocked).toEqual([])
    expect(landed.url.origin + landed.url.pathname).toBe(`${appUrl}/integrations/done`)
    expect(landed.url.searchParams.get('status')).toBe('connected')
    const connectionId = landed.url.searchParams.get('connection_id')!
    expect(connectionId).toMatch(/^conn_/)
    const vended = await api('POST', `/v1/connections/${connectionId}/access-token`, {})
    expect(interact.isValid(vended.body.accessToken)).toBe(true)
    expect(vended.body.headers).toEqual({ 'X-Tenant': interact.tenantGuid })
  })

  it(
    'a refused key shows the form again with the same ' + 'CSP, and the corrected one still lands on returnUrl',
    async () => {
      const session = await api('POST', '/v1/connect-sessions', {
        provider: 'respondio',
        ownerId: 'retry-user',
        returnUrl: `${appUrl}/integrations/done`,
      })
      const page = await newPage()
      await page.goto(session.body.connectUrl)
      await page.fill('#apiKey', 'not-a-valid-respondio-token')
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.click('#connect'),
      ])
      expect(refused.status()).toBe(400)
      expect(refused.headers()['content-security-policy']).toContain(`form-action 'self' ${appUrl};`)
      respondio.rejections.length = 0 // refused as respond.io would: expected here
      await page.fill('#apiKey', respondio.apiKey)
      await Promise.all([
        page.waitForURL(`${appUrl}/integrations/done?**`, { timeout: 10_000 }),
        page.click('#connect'),
      ])
      expect(new URL(page.url()).searchParams.get('status')).toBe('connected')
    },
  )
})
