// The sandbox's demo "internal service": a page with a button that asks the broker for a
// connect session (as the bootstrap service client) and sends the browser to it, and the
// return page the broker sends the browser back to. There the service confirms its end
// user (the connection is pending_confirmation until then): the browser that comes back
// must be its signed-in user's (here a cookie set by the button), then it redirects to a
// clean URL showing the connection id and the two curl lines that fetch its access token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

export interface DemoServiceOptions {
  port: number
  brokerUrl: string
  clientId: string
  clientSecret: string
  /** The providers-file key of the demo authorization server. */
  provider: string
}

export interface DemoService {
  url: string
  close(): Promise<void>
}

export const RETURN_PATH = '/return'
/** The demo's whole sign-in: the user who pressed the button, remembered in a cookie. */
const DEMO_USER = 'demo-user'
const USER_COOKIE = 'demo_user'

export async function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const url = `http://127.0.0.1:${options.port}`
  const server = createServer((req, res) => {
    handle(req, res, options, url).catch((err: unknown) => {
      send(res, 502, page('The broker did not answer as expected', `<p>${escapeHtml((err as Error).message)}</p>`))
    })
  })
  await listen(server, options.port)
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: DemoServiceOptions,
  url: string,
): Promise<void> {
  const { pathname, searchParams } = new URL(req.url ?? '/', url)
  if (req.method === 'GET' && pathname === '/') return send(res, 200, homePage())
  if (req.method === 'POST' && pathname === '/connect') {
    req.resume()
    const connectUrl = await createConnectSession(options, `${url}${RETURN_PATH}`)
    // 303: the browser follows with a GET, as after any form submission.
    const cookie = `${USER_COOKIE}=${DEMO_USER}; HttpOnly; SameSite=Lax; Path=/`
    res.writeHead(303, { location: connectUrl, 'set-cookie': cookie }).end()
    return
  }
  if (req.method === 'GET' && pathname === RETURN_PATH && searchParams.get('status') === 'pending_confirmation') {
    // A forwarded connect link comes back in someone else's browser: not our signed-in user.
    const signedIn = req.headers.cookie?.split(/;\s*/).includes(`${USER_COOKIE}=${DEMO_USER}`) === true
    const clean = await confirmConnection(options, searchParams, signedIn)
    // The code is used up either way; a clean URL keeps it out of history and referrers.
    res.writeHead(303, { location: `${RETURN_PATH}?${clean}` }).end()
    return
  }
  if (req.method === 'GET' && pathname === RETURN_PATH) return send(res, 200, returnPage(searchParams, options))
  send(res, 404, page('Not found', '<p><a href="/">Back to the demo service</a></p>'))
}

/** What an internal service does: a broker token, then a connect session for its user. */
async function createConnectSession(options: DemoServiceOptions, returnUrl: string): Promise<string> {
  const token = await brokerToken(options, 'connect:write')
  const res = await fetch(`${options.brokerUrl}/v1/connect-sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: options.provider, ownerId: 'demo-user', returnUrl }),
  })
  const body = (await res.json()) as { connectUrl?: string; detail?: string }
  if (res.status !== 201 || !body.connectUrl)
    throw new Error(`POST /v1/connect-sessions answered ${res.status}: ${body.detail ?? ''}`)
  return body.connectUrl
}

/** POST /v1/connections/:id/confirm: accept when the signed-in user is the session's owner. */
async function confirmConnection(options: DemoServiceOptions, query: URLSearchParams, accept: boolean) {
  const connectionId = query.get('connection_id') ?? ''
  const token = await brokerToken(options, 'connect:write')
  const res = await fetch(`${options.brokerUrl}/v1/connections/${encodeURIComponent(connectionId)}/confirm`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ confirmationCode: query.get('confirmation_code') ?? '', accept }),
  })
  await res.body?.cancel()
  if (accept && res.status === 200) return new URLSearchParams({ status: 'connected', connection_id: connectionId })
  return new URLSearchParams({ status: 'error', error: accept ? 'confirmation_failed' : 'confirmation_rejected' })
}

async function brokerToken(options: DemoServiceOptions, scope: string): Promise<string> {
  const res = await fetch(`${options.brokerUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  })
  const body = (await res.json()) as { access_token?: string; error?: string }
  if (res.status !== 200 || !body.access_token)
    throw new Error(`POST /oauth/token answered ${res.status}: ${body.error ?? ''}`)
  return body.access_token
}

/**
 * The two commands that fetch a connection's access token, as a newcomer types them:
 * a broker token (client credentials, HTTP Basic), then the connection's access token.
 */
export function curlLines(brokerUrl: string, clientId: string, clientSecret: string, connectionId: string): string[] {
  return [
    `TOKEN=$(curl -s -u ${clientId}:${clientSecret} -d grant_type=client_credentials -d ` +
      `scope=tokens:read ${brokerUrl}/oauth/token | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    `curl -s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' ` +
      `-d '{}' ${brokerUrl}/v1/connections/${connectionId}/access-token`,
  ]
}

function homePage(): string {
  return page(
    'Demo internal service',
    `<p>This page plays one of your company's services. Its button asks the broker for a
connect session and sends you to it; you sign in at the demo provider (any user name)
and come back here with a connection id.</p>
<form method="post" action="/connect"><button type="submit" id="connect">Connect demo account</button></form>`,
  )
}

function returnPage(query: URLSearchParams, options: DemoServiceOptions): string {
  const status = query.get('status') ?? ''
  const connectionId = query.get('connection_id') ?? ''
  if (status !== 'connected' || !/^conn_[A-Za-z0-9_-]+$/.test(connectionId)) {
    return page(
      'Not connected',
      `<p>Status: <code id="status">${escapeHtml(status)}</code>, error: <code ` +
        `id="error">${escapeHtml(query.get('error') ?? '')}</code></p><p><a href="/">Try again</a></p>`,
    )
  }
  const lines = curlLines(options.brokerUrl, options.clientId, options.clientSecret, connectionId)
  return page(
    'Connected',
    `<p>Status: <code id="status">connected</code></p>
<p>Connection id: <code id="connection-id">${connectionId}</code></p>
<p>Fetch its access token from the broker, as a service would:</p>
<pre id="curl">${escapeHtml(lines.join('\n'))}</pre>
<p><a href="/">Connect another account</a></p>`,
  )
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}
pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html)
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
