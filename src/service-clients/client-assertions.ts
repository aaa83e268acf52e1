// Client assertions (RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID Connect Core §9
// private_key_jwt): a service client registered with public keys proves itself at
// POST /oauth/token with a short-lived JWT it signed. `iss` = `sub` = its client id; `aud`
// = the broker's issuer identifier and nothing else (the 2025 audience-injection
// guidance for RFC 7523: an assertion meant for this broker cannot be accepted by
// another server, nor one meant for another server here); `exp` at most 5 minutes
// ahead; `jti` used once across every replica. Signatures are checked against the
// client's registered keys only: never a key a header names or carries.
// This module owns the `client_assertion_jtis` table.
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose'
import { epochSeconds, type Clock } from '../clock.js'
import type { Database } from '../store/db.js'
import { ASSERTION_ALGORITHMS, type ClientJwks } from './client-keys.js'
import type { ServiceClient, ServiceClients } from './service-clients.js'

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
export const MAX_ASSERTION_LIFETIME_SECONDS = 300
const CLOCK_TOLERANCE_SECONDS = 5
/** Headers that name or carry a key: the registered keys decide, so these are refused outright. */
const KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const
const MAX_JTI_LENGTH = 256

/** The outcome: the client, or a refusal with a reason for the log (never the assertion). */
export type AssertionResult = { client: ServiceClient } | { refused: string; claimedClientId?: string; replay?: true }

interface Deps {
  db: Database
  clients: ServiceClients
  clock: Clock
  /** The broker's issuer identifier (PUBLIC_URL): the only audience accepted. */
  issuer: string
}

export class ClientAssertions {
  constructor(private deps: Deps) {}

  /** Checks `assertion`; `clientId` is the optional client_id form parameter, which must then be the `iss`. */
  async authenticate(assertion: string, clientId: string | undefined): Promise<AssertionResult> {
    const unverified = decode(assertion)
    if (typeof unverified === 'string') return { refused: unverified }
    const { header, claims } = unverified
    const claimedClientId = typeof claims.iss === 'string' ? claims.iss : undefined
    const refuse = (refused: string): AssertionResult => ({ refused, claimedClientId })
    const keyHeader = KEY_HEADERS.find((h) => h in header)
    if (keyHeader) return refuse(`the "${keyHeader}" header is not accepted`)
    if (!(ASSERTION_ALGORITHMS as readonly string[]).includes(String(header.alg)))
      return refuse('alg is not an accepted asymmetric algorithm')
    if (!claimedClientId || claims.sub !== claimedClientId) return refuse('iss and sub must both be the client id')
    if (clientId !== undefined && clientId !== claimedClientId) return refuse('client_id is not the assertion iss')
    const registered = await this.deps.clients.keysOf(claimedClientId)
    if (!registered) return refuse('the client has no registered keys')
    const payload = await this.verify(assertion, registered.jwks, claimedClientId)
    if (typeof payload === 'string') return refuse(payload)
    const jti = payload.jti!
    if (!(await this.recordJti(claimedClientId, jti, payload.exp!)))
      return { refused: 'jti already used', claimedClientId, replay: true }
    return { client: registered.client }
  }

  /** Signature and claims; the claims' problem as a string. */
  private async verify(assertion: string, jwks: ClientJwks, clientId: string): Promise<JWTPayload | string> {
    const now = epochSeconds(this.deps.clock)
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(assertion, createLocalJWKSet(jwks as JSONWebKeySet), {
        algorithms: [...ASSERTION_ALGORITHMS],
        issuer: clientId,
        subject: clientId,
        audience: this.deps.issuer,
        requiredClaims: ['exp', 'jti'],
        currentDate: this.deps.clock.now(),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }))
    } catch (err) {
      return reasonOf(err)
    }
    // jose accepts an aud array that merely includes the issuer: here it must hold nothing else.
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
    if (audiences.length === 0 || audiences.some((a) => a !== this.deps.issuer))
      return 'aud must be the issuer identifier only'
    if (payload.exp! > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS)
      return `exp is more than ${MAX_ASSERTION_LIFETIME_SECONDS} s ahead`
    if (payload.iat !== undefined && payload.iat > now + CLOCK_TOLERANCE_SECONDS) return 'iat is in the future'
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_LENGTH)
      return `jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`
    return payload
  }

  /** Records a jti until its assertion expires; false when it was already recorded (a replay, on any replica). */
  private async recordJti(clientId: string, jti: string, exp: number): Promise<boolean> {
    const expiresAt = new Date((exp + CLOCK_TOLERANCE_SECONDS) * 1000)
    const { count } = await this.deps.db.prisma.clientAssertionJti.createMany({
      data: [{ clientId, jti, expiresAt }],
      skipDuplicates: true,
    })
    return count === 1
  }
}

function decode(assertion: string): { header: Record<string, unknown>; claims: JWTPayload } | string {
  try {
    return { header: decodeProtectedHeader(assertion) as Record<string, unknown>, claims: decodeJwt(assertion) }
  } catch {
    return 'not a signed JWT'
  }
}

/** A log reason from jose's error: its code and claim name, never a value of the assertion. */
function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired)
    return `claim ${err.claim}: ${err.reason}`
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys)
    return 'no registered key matches the header (kid, alg)'
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature does not verify'
  if (err instanceof joseErrors.JOSEError) return err.code
  return 'malformed assertion'
}
