// The whole connect flow in a real browser: headless Chromium (the npm package
// @sparticuz/chromium, driven by playwright-core: test/support/chromium.ts) goes from the
// connect URL through the provider's real login and consent pages, back through the
// broker's callback, to the service's return page.
import { createServer, type Server } from 'node:http'
import type { Browser as Chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  providerEntryFor,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../support/authorization-server.js'
import { freePort, startBroker, type TestBroker } from '../support/broker.js'
import { launchBrowser } from '../support/browser.js'
import { apiClient, registeredClient } from '../support/connect.js'

let as: AuthorizationServer
let broker: TestBroker
let app: Server
let appUrl: string
let browser: Chromium

beforeAll(async () => {
  const port = await freePort()
  as = await startAuthorizationServer({ redirectUris: [`http://127.0.0.1:${port}/oauth/callback/idp`] })
  broker = await startBroker({
    port,
    providers: {
      idp: providerEntryFor(as),
    },
  })
  // The internal service's page the user comes back to.
  app = createServer((req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(`<h1 id="result">${new URL(req.url!, 'http://x').searchParams.get('status')}</h1>`)
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  if (app) await new Promise((r) => app.close(r))
  await broker?.close()
  await as?.close()
})

describe('connect flow in headless Chromium', () => {
  it("goes through the provider's real login and consent pages and back to the service", async () => {
    const admin = apiClient(broker, await broker.token())
    const api = await registeredClient(broker, admin, {
      name: 'web-app',
      scopes: ['connect:write', 'tokens:read'],
      allowedReturnUrls: [`${appUrl}/integrations`],
    })
    const session = await api('POST', '/v1/connect-sessions', {
      provider: 'idp',
      ownerId: 'browser-user',
      returnUrl: `${appUrl}/integrations/done`,
    })
    expect(session.status).toBe(201)

    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(session.body.connectUrl)
    // The provider's login page.
    expect(page.url().startsWith(as.issuer)).toBe(true)
    const bindingCookies = (await context.cookies(`${broker.url}/oauth/callback/idp`)).filter((c) =>
      c.name.startsWith('broker_attempt_'),
    )
    expect(bindingCookies).toHaveLength(1)
    expect(bindingCookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/oauth/callback' })
    await page.fill('#login', 'alice')
    await page.click('#sign-in')
    await page.waitForSelector('#allow')
    await page.click('#allow')
    await page.waitForURL(`${appUrl}/integrations/done?**`)
    expect(await page.textContent('#result')).toBe('connected')
    const back = new URL(page.url())
    const connectionId = back.searchParams.get('connection_id')!
    expect(connectionId).toMatch(/^conn_/)
    // The binding cookie is gone once used.
    expect(
      (await context.cookies(`${broker.url}/oauth/callback/idp`)).filter((c) => c.name.startsWith('broker_attempt_')),
    ).toHaveLength(0)
    await context.close()

    const vended = await api('POST', `/v1/connections/${connectionId}/access-token`, {})
    expect(vended.status).toBe(200)
    expect((await as.userinfo(vended.body.accessToken)).status).toBe(200)
  })
})
