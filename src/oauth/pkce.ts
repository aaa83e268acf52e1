// PKCE (RFC 7636) with S256 only: a verifier of 32 random bytes (43 base64url characters,
// RFC 7636 §4.1) and its SHA-256 challenge. `plain` is never used (RFC 9700 §2.1.1).
import { createHash, randomBytes } from 'node:crypto'

export function generateCodeVerifier(): string {
  return randomBytes(32).toString('base64url')
}

export function codeChallengeS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}
