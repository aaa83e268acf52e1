// Webhook secrets and signatures, as the Standard Webhooks specification defines them
// (https://www.standardwebhooks.com): a secret is `whsec_` + base64 of random bytes; a
// signature is `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the bytes
// the base64 after `whsec_` decodes to. Several signatures are separated by spaces.
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'whsec_'

/** A new endpoint secret: 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`
}

/** The `webhook-signature` header: one `v1,` signature per secret, space-separated. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.slice(PREFIX.length), 'base64')
      return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`
    })
    .join(' ')
}
