// The HTTP checks of scripts/compose-test.sh against the broker the compose file runs.
//   node checks.mjs first <baseUrl> <stateFile>   readiness, a broker token, a connection
//                                                  imported and its token vended
//   node checks.mjs again <baseUrl> <stateFile>   after a restart: the same connection vends
//                                                  the same token, signed with the same key
// Credentials come from the environment (BOOTSTRAP_CLIENT_ID/SECRET, IMPORTED_*); state
// (connection id, key id) goes to the state file between the two runs.
import { readFileSync, writeFileSync } from 'node:fs'

const [phase, baseUrl, stateFile] = process.argv.slice(2)
const env = process.env
const TIMEOUT = AbortSignal.timeout.bind(AbortSignal)

function fail(message) {
  console.error(`compose-test: FAILED: ${message}`)
  process.exit(1)
}

async function call(method, path, { token, form, json, basic } = {}) {
  const headers = {}
  let body
  if (token) headers.authorization = `Bearer ${token}`
  if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(form).toString()
  }
  if (json) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(json)
  }
  const res = await fetch(baseUrl + path, { method, headers, body, signal: TIMEOUT(10_000) })
  const text = await res.text()
  let data
  try {
    data = JSON.parse(text)
  } catch {
    data = text
  }
  return { status: res.status, data }
}

function expectStatus(res, status, what) {
  if (res.status !== status)
    fail(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.data).slice(0, 400)}`)
  return res.data
}

async function brokerToken() {
  const basic = `${encodeURIComponent(env.BOOTSTRAP_CLIENT_ID)}:${encodeURIComponent(env.BOOTSTRAP_CLIENT_SECRET)}`
  const data = expectStatus(
    await call('POST', '/oauth/token', { basic, form: { grant_type: 'client_credentials' } }),
    200,
    'POST /oauth/token',
  )
  const header = JSON.parse(Buffer.from(data.access_token.split('.')[0], 'base64url').toString())
  const jwks = expectStatus(await call('GET', '/.well-known/jwks.json'), 200, 'GET /.well-known/jwks.json')
  if (!jwks.keys.some((k) => k.kid === header.kid)) fail(`the token's key ${header.kid} is not in the JWKS`)
  return { token: data.access_token, kid: header.kid }
}

async function vend(token, connectionId) {
  const path = `/v1/connections/${connectionId}/access-token`
  const data = expectStatus(await call('POST', path, { token, json: { minValiditySeconds: 60 } }), 200, `POST ${path}`)
  if (data.accessToken !== env.IMPORTED_ACCESS_TOKEN) fail('the vended token is not the imported one')
  return data
}

async function first() {
  expectStatus(await call('GET', '/readyz'), 200, 'GET /readyz')
  const { token, kid } = await brokerToken()
  const providers = expectStatus(await call('GET', '/v1/providers', { token }), 200, 'GET /v1/providers')
  const provider = providers.items.find((p) => p.mode === 'oauth2')
  if (!provider) fail('no OAuth 2.0 provider configured in providers.yaml')
  const credentials = {
    accessToken: env.IMPORTED_ACCESS_TOKEN,
    refreshToken: env.IMPORTED_REFRESH_TOKEN,
    expiresAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
    scopes: provider.scopes,
  }
  const created = await call('POST', '/v1/connections', {
    token,
    json: { provider: provider.key, ownerId: 'compose-test', credentials },
  })
  const connection = expectStatus(created, 201, 'POST /v1/connections (import)')
  await vend(token, connection.id)
  writeFileSync(stateFile, JSON.stringify({ connectionId: connection.id, kid, provider: provider.key }))
  console.log(`  ready; broker token signed by ${kid}; ${provider.key} connection ${connection.id} imported and vended`)
}

async function again() {
  const state = JSON.parse(readFileSync(stateFile, 'utf8'))
  expectStatus(await call('GET', '/readyz'), 200, 'GET /readyz after the restart')
  const { token, kid } = await brokerToken()
  if (kid !== state.kid) fail(`the signing key changed across the restart: ${state.kid} -> ${kid}`)
  const connection = expectStatus(
    await call('GET', `/v1/connections/${state.connectionId}`, { token }),
    200,
    'GET the connection',
  )
  if (connection.status !== 'active') fail(`connection status ${connection.status} after the restart`)
  await vend(token, state.connectionId)
  console.log(`  after the restart: same key ${kid}, connection ${state.connectionId} still vends its token`)
}

try {
  if (phase === 'first') await first()
  else if (phase === 'again') await again()
  else fail(`unknown phase ${phase}`)
} catch (err) {
  fail(err.message)
}
