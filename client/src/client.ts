// BrokerClient: what an internal service needs from the broker, typed from openapi.yaml.
// It never logs: no token, secret or confirmation code leaves it except in requests.
import { BrokerTokens } from './broker-token.js'
import { AuthenticationError } from './errors.js'
import type { components } from './generated/api.js'
import { type BrokerClientOptions, checkOptions } from './options.js'
import { exchange, readJson, sleep, type Transport } from './transport.js'

type Schemas = components['schemas']
export type Connection = Schemas['Connection']
export type ConnectionPage = Schemas['ConnectionPage']
export type NewConnectSession = Schemas['NewConnectSession']
export type ConnectSession = Schemas['ConnectSession']
export type NewConnection = Schemas['NewConnection']
export type Provider = Schemas['Provider']

/** GET /v1/connect-sessions/:id: how the session stands (never its connect URL). */
export type ConnectSessionState = Schemas['ConnectSessionStatus']
export type ConfirmRequest = Schemas['ConfirmRequest']

export interface ConnectionFilter {
  provider?: string
  ownerId?: string
  status?: Connection['status']
  namespace?: string
  /** Page size (the broker's limit: 1 to 200). */
  limit?: number
}

export interface VendedToken {
  accessToken: string
  tokenType: string
  /** True expiry; null when the provider gave none. */
  expiresAt: Date | null
  scopes: string[]
  provider: string
  connectionId: string
  /** Every header a provider API call needs: Authorization plus the provider's own (Interact: X-Tenant). */
  headers: Record<string, string>
}

export class BrokerClient {
  readonly #url: string
  readonly #transport: Transport
  readonly #tokens: BrokerTokens

  constructor(options: BrokerClientOptions) {
    const checked = checkOptions(options)
    this.#url = checked.url
    this.#transport = { fetch: checked.fetch, retry: checked.retry, sleep }
    this.#tokens = new BrokerTokens(checked.url, checked, this.#transport)
  }

  /** The connection's provider access token, valid for at least `minValiditySeconds` (default 60). */
  async accessToken(
    connectionId: string,
    options: { minValiditySeconds?: number; forceRefresh?: boolean } = {},
  ): Promise<VendedToken> {
    const answer = await this.#call<Schemas['AccessToken']>(
      'POST',
      `/v1/connections/${id(connectionId)}/access-token`,
      {
        ...(options.minValiditySeconds !== undefined ? { minValiditySeconds: options.minValiditySeconds } : {}),
        ...(options.forceRefresh !== undefined ? { forceRefresh: options.forceRefresh } : {}),
      },
    )
    return {
      accessToken: answer.accessToken,
      tokenType: answer.tokenType,
      expiresAt: answer.expiresAt === null ? null : new Date(answer.expiresAt),
      scopes: answer.scopes,
      provider: answer.provider,
      connectionId: answer.connectionId,
      headers: { ...answer.headers, Authorization: `${answer.tokenType} ${answer.accessToken}` },
    }
  }

  readonly connectSessions = {
    /** A connect URL to send the end user's browser to. */
    create: (session: NewConnectSession): Promise<ConnectSession> =>
      this.#call('POST', '/v1/connect-sessions', session),
    get: async (sessionId: string): Promise<ConnectSessionState> =>
      this.#call('GET', `/v1/connect-sessions/${id(sessionId)}`),
  }

  readonly connections = {
    /** Every connection matching the filter, page after page as the iteration goes. */
    list: (filter: ConnectionFilter = {}): AsyncIterable<Connection> => this.#pages(filter),
    /** One page; pass its nextCursor as `cursor` for the next. */
    page: (filter: ConnectionFilter & { cursor?: string } = {}): Promise<ConnectionPage> =>
      this.#call('GET', `/v1/connections${query(filter)}`),
    get: async (connectionId: string): Promise<Connection> => this.#call('GET', `/v1/connections/${id(connectionId)}`),
    /** Revokes at the provider where it can and deletes the connection. */
    delete: async (connectionId: string): Promise<void> => {
      await this.#call('DELETE', `/v1/connections/${id(connectionId)}`)
    },
    /** Creates a connection from credentials (API key, credential exchange, imported tokens). */
    create: (connection: NewConnection): Promise<Connection> => this.#call('POST', '/v1/connections', connection),
    /**
     * Confirms (or with `accept: false` discards) a grant waiting for confirmation, with the
     * `confirmation_code` the browser brought back to the return URL. Resolves to the active
     * connection, or to undefined after `accept: false`.
     */
    confirm: async (
      connectionId: string,
      confirmation: { confirmationCode: string; accept?: boolean },
    ): Promise<Connection | undefined> =>
      // 200 with the usable connection; accept: false is a 204 (the grant is gone): undefined.
      this.#call('POST', `/v1/connections/${id(connectionId)}/confirm`, confirmation),
  }

  /** The configured providers. */
  async providers(): Promise<Provider[]> {
    return (await this.#call<{ items: Provider[] }>('GET', '/v1/providers')).items
  }

  async *#pages(filter: ConnectionFilter): AsyncGenerator<Connection> {
    let cursor: string | undefined
    do {
      const page = await this.connections.page({ ...filter, ...(cursor ? { cursor } : {}) })
      yield* page.items
      cursor = page.nextCursor ?? undefined
    } while (cursor)
  }

  /** A call with the broker token; a refused token is renewed once (the client's record may have changed). */
  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.#tokens.get()
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' }
      if (body !== undefined) headers['content-type'] = 'application/json'
      const init = { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }
      try {
        const response = await exchange(this.#transport, () => new Request(this.#url + path, init))
        return (response.status === 204 ? undefined : await readJson<T>(response)) as T
      } catch (error) {
        if (!(error instanceof AuthenticationError) || error.status !== 401 || attempt > 0) throw error
        this.#tokens.invalidate()
      }
    }
  }
}

/** The broker's ids (connections, connect sessions): a bad one is refused before any request. */
const ID = /^[A-Za-z0-9_-]{1,64}$/

/** A path segment: an id of the broker's form, so it can never change the path. */
function id(value: string): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new TypeError(`not a broker id: ${JSON.stringify(String(value)).slice(0, 80)}`)
  }
  return value
}

function query(filter: object): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(filter) as Array<[string, unknown]>) {
    if (value !== undefined) params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}
