// Connects a user through the whole browser flow (HTTP level) and returns the connection id.
import { expect } from 'vitest'
import type { TestBroker } from './broker.js'
import { Browser } from './browser.js'
import type { Json } from './json.js'

export type Api = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Json; headers: Headers }>

export function apiClient(broker: TestBroker, token: string): Api {
  return async (method, path, body) => {
    const res = await fetch(`${broker.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
}

/**
 * Registers a service client through the admin API (`admin`), gets it a broker token with
 * client_credentials, and returns an Api acting as that client.
 */
export async function registeredClient(
  broker: TestBroker,
  admin: Api,
  client: { name: string; scopes: string[]; allowedReturnUrls: string[]; [field: string]: unknown },
): Promise<Api> {
  // Tests not about confirmation expect connect flows to end `connected`.
  const created = await admin('POST', '/v1/service-clients', { requireConfirmation: false, ...client })
  expect(created.status).toBe(201)
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: created.body.clientId,
    client_secret: created.body.clientSecret,
  })
  const res = await fetch(`${broker.url}/oauth/token`, { method: 'POST', body: form })
  expect(res.status).toBe(200)
  return apiClient(broker, ((await res.json()) as { access_token: string }).access_token)
}

export async function connectUser(
  api: Api,
  provider: { authorize(url: string): Promise<URL> },
  session: { provider: string; ownerId: string; params?: Record<string, string>; confirm?: boolean },
): Promise<string> {
  const created = await api('POST', '/v1/connect-sessions', {
    ...session,
    returnUrl: 'https://app.example.com/connected',
  })
  expect(created.status).toBe(201)
  const browser = new Browser()
  const start = await browser.get(created.body.connectUrl)
  expect(start.status).toBe(302)
  const done = await browser.get(await provider.authorize(start.headers.get('location')!))
  const back = new URL(done.headers.get('location')!)
  expect(back.searchParams.get('status')).toBe('connected')
  return back.searchParams.get('connection_id')!
}
