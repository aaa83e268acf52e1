// Structured logs (pino). Redaction is a safety net: code never logs a secret on purpose,
// and request logs carry the route pattern, never the raw URL (a callback's query holds
// `code` and `state`; a connect URL holds its session handle). (SECURITY.md item 26)
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'

const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'code',
  'code_verifier',
  'codeVerifier',
  'state',
  'apiKey',
  'apiSecret',
  'privateKey',
  'encryptionKey',
  'databaseUrl',
  'url',
]

export const REDACT_PATHS = [
  ...SECRET_KEYS.filter((k) => k !== 'url' && k !== 'code').map((k) => (/^[a-z_]+$/i.test(k) ? k : `["${k}"]`)),
  ...SECRET_KEYS.filter((k) => k !== 'url' && k !== 'code').map((k) => (/^[a-z_]+$/i.test(k) ? `*.${k}` : `*["${k}"]`)),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'body.code',
  'query.code',
  'query.state',
  'databaseUrl',
]

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: pino.stdSerializers.err,
    },
    base: { service: 'oauth-broker' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level))
}
