// The bootstrap service client's secret must work the first time: survive the
// form-decoding of Basic credentials, and not be a placeholder copied from an example.

// Words and shapes of a value someone meant to replace (`REPLACE-with-…`, `changeme`,
// `xxxxxxxx`). Six x in a row: a random base64url secret has three in about 1 in 1000.
const PLACEHOLDER = /replace|change[-_ .]?me|example|placeholder|x{6}|<|>/i

/** Why a bootstrap secret would not work, or not be secret; undefined when it is fine. */
export function bootstrapSecretProblem(secret: string): string | undefined {
  if (secret.length < 32) return 'must be at least 32 characters'
  // RFC 6749 §2.3.1: Basic credentials are form-encoded, so the token endpoint decodes
  // them; a client sending this secret as is (`curl -u id:secret`) would be refused.
  if (/[+%]/.test(secret)) {
    return (
      'contains "+" or "%", which the form-decoding of HTTP Basic credentials (RFC ' +
      '6749 §2.3.1) changes, so a client sending it as is would get invalid_client'
    )
  }
  if (PLACEHOLDER.test(secret) || new Set(secret).size < 8) return 'looks like a placeholder, not a random secret'
  return undefined
}
