// The client's broker token: obtained with client_credentials (a secret, or a private-key
// JWT), cached until shortly before it expires, one request shared by concurrent callers.
import { clientAssertion, signerFor, type PrivateKey } from './client-assertion.js'
import { exchange, readJson, type Transport } from './transport.js'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface ClientCredentials {
  clientId: string
  clientSecret?: string | undefined
  privateKey?: PrivateKey | undefined
  keyId?: string | undefined
  /** The broker's issuer identifier (aud of client assertions); default: from its RFC 8414 metadata. */
  issuer?: string | undefined
  scope?: string | undefined
}

export class BrokerTokens {
  #cached: { token: string; renewAt: number } | undefined
  #pending: Promise<string> | undefined
  #issuer: string | undefined

  constructor(
    private readonly url: string,
    private readonly credentials: ClientCredentials,
    private readonly transport: Transport,
  ) {
    this.#issuer = credentials.issuer
  }

  /** A broker token valid for a while yet. */
  async get(): Promise<string> {
    if (this.#cached && Date.now() < this.#cached.renewAt) return this.#cached.token
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  /** Forgets the cached token (the broker refused it: the client's record changed). */
  invalidate(): void {
    this.#cached = undefined
  }

  async #request(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (this.credentials.scope) form.set('scope', this.credentials.scope)
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
    const { clientId, clientSecret, privateKey } = this.credentials
    if (privateKey) {
      const signer = await signerFor(privateKey, this.credentials.keyId)
      form.set('client_id', clientId)
      form.set('client_assertion_type', JWT_BEARER)
      form.set('client_assertion', await clientAssertion(signer, clientId, await this.#issuerId()))
    } else {
      // RFC 6749 §2.3.1: id and secret are form-encoded before the Basic encoding.
      const basic = `${formEncode(clientId)}:${formEncode(clientSecret ?? '')}`
      headers.authorization = `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(basic)))}`
    }
    const body = form.toString()
    const response = await exchange(
      this.transport,
      () => new Request(`${this.url}/oauth/token`, { method: 'POST', headers, body }),
    )
    const answer = await readJson<{ access_token: string; expires_in: number }>(response)
    const lifetimeMs = answer.expires_in * 1000
    // Renewed when a fifth of its life (at most a minute) is left.
    this.#cached = { token: answer.access_token, renewAt: Date.now() + lifetimeMs - Math.min(lifetimeMs / 5, 60_000) }
    return answer.access_token
  }

  async #issuerId(): Promise<string> {
    if (this.#issuer) return this.#issuer
    const response = await exchange(
      this.transport,
      () => new Request(`${this.url}/.well-known/oauth-authorization-server`),
    )
    this.#issuer = (await readJson<{ issuer: string }>(response)).issuer
    return this.#issuer
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}
