// Broker tokens: JWT access tokens in the RFC 9068 profile that the broker signs for its
// service clients and verifies on every /v1 call. The verifier pins the algorithm,
// requires `typ: at+jwt`, exact `iss` and `aud`, `exp`, and never follows key-carrying
// headers (`jku`, `x5u`, `jwk`, `x5c`). (docs/security.md, checklist items 18, 19 and 21)
import { randomUUID } from 'node:crypto'
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import type { Clock } from '../clock.js'
import { SIGNING_ALG, type SigningKeys } from './signing-keys.js'
import { BrokerError } from '../errors.js'

export interface BrokerTokenClaims {
  iss: string
  aud: string
  sub: string
  client_id: string
  scope: string
  iat: number
  exp: number
  jti: string
}

/** Refused by the verifier; `reason` is for the log (the caller sees `unauthorized`). */
export class InvalidBrokerToken extends BrokerError<'unauthorized'> {
  constructor(readonly reason: string) {
    super('unauthorized', reason)
  }
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256'] as const
const CLOCK_TOLERANCE_SECONDS = 5
const CACHE_LIMIT = 10_000

export class BrokerTokens {
  /**
   * Verified tokens by their exact text, until they expire. Verification is the most
   * expensive step of an API call (~0.2 ms); services reuse a token for its lifetime.
   */
  private verified = new Map<string, BrokerTokenClaims>()

  constructor(
    private keys: SigningKeys,
    private issuer: string,
    private ttlSeconds: number,
    private clock: Clock,
  ) {
    keys.onChange = () => this.verified.clear()
  }

  async issue(clientId: string, scopes: string[]): Promise<{ token: string; claims: BrokerTokenClaims }> {
    const key = this.keys.current()
    const iat = Math.floor(this.clock.now().getTime() / 1000)
    const claims: BrokerTokenClaims = {
      iss: this.issuer,
      aud: this.issuer,
      sub: clientId,
      client_id: clientId,
      scope: scopes.join(' '),
      iat,
      exp: iat + this.ttlSeconds,
      jti: randomUUID(),
    }
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .sign(key.privateKey!)
    return { token, claims }
  }

  async verify(token: string): Promise<BrokerTokenClaims> {
    const nowSeconds = this.clock.now().getTime() / 1000
    const cached = this.verified.get(token)
    if (cached) {
      if (cached.exp + CLOCK_TOLERANCE_SECONDS > nowSeconds) return cached
      this.verified.delete(token)
    }
    const claims = await this.verifyUncached(token)
    if (this.verified.size >= CACHE_LIMIT) this.evict(nowSeconds)
    this.verified.set(token, claims)
    return claims
  }

  private evict(nowSeconds: number): void {
    for (const [token, claims] of this.verified) {
      if (claims.exp + CLOCK_TOLERANCE_SECONDS <= nowSeconds) this.verified.delete(token)
    }
    // Still full: drop the oldest half (Map iterates in insertion order).
    if (this.verified.size >= CACHE_LIMIT) {
      let n = this.verified.size / 2
      for (const token of this.verified.keys()) {
        if (n-- <= 0) break
        this.verified.delete(token)
      }
    }
  }

  private async verifyUncached(token: string): Promise<BrokerTokenClaims> {
    let header: ReturnType<typeof decodeProtectedHeader>
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw new InvalidBrokerToken('malformed token')
    }
    for (const name of FORBIDDEN_HEADERS) {
      if (name in header) throw new InvalidBrokerToken(`header "${name}" is not accepted`)
    }
    if (header.alg !== SIGNING_ALG) throw new InvalidBrokerToken('algorithm not accepted')
    if (typeof header.kid !== 'string') throw new InvalidBrokerToken('no key id')
    let key = this.keys.publicKey(header.kid)
    if (!key) {
      await this.keys.reloadForUnknownKid()
      key = this.keys.publicKey(header.kid)
    }
    if (!key) throw new InvalidBrokerToken('unknown key id')
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [SIGNING_ALG],
        typ: 'at+jwt',
        issuer: this.issuer,
        audience: this.issuer,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: this.clock.now(),
      })
      if (
        typeof payload.client_id !== 'string' ||
        payload.client_id !== payload.sub ||
        typeof payload.scope !== 'string'
      ) {
        throw new InvalidBrokerToken('claims do not match the broker token profile')
      }
      return payload as unknown as BrokerTokenClaims
    } catch (err) {
      if (err instanceof InvalidBrokerToken) throw err
      if (err instanceof joseErrors.JWTExpired) throw new InvalidBrokerToken('token expired')
      if (err instanceof joseErrors.JWTClaimValidationFailed)
        throw new InvalidBrokerToken(`claim "${err.claim}" ${err.reason}`)
      if (err instanceof joseErrors.JWSSignatureVerificationFailed)
        throw new InvalidBrokerToken('signature verification failed')
      if (err instanceof joseErrors.JOSEError) throw new InvalidBrokerToken(err.code)
      throw new InvalidBrokerToken('malformed token')
    }
  }
}
