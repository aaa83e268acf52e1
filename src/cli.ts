// The ops command line: `npm run cli -- <command>`. Uses the same environment as the
// service (DATABASE_URL, ENCRYPTION_KEY, ...); with no DATABASE_URL it uses the embedded
// database under DATA_DIR, the running broker's if there is one.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config.js'
import {
  DEFAULT_ACTIVATION_DELAY_SECONDS,
  isActivationDelay,
  MAX_ACTIVATION_DELAY_SECONDS,
  MIN_ACTIVATION_DELAY_SECONDS,
} from './issuer/signing-keys.js'
import { createLogger } from './log.js'
import { openRuntime } from './runtime.js'
import { SCOPES } from './service-clients/scopes.js'
import { DEFAULT_SECRET_OVERLAP_SECONDS, MAX_SECRET_OVERLAP_SECONDS } from './service-clients/secrets.js'
import { createServices, type Services } from './services.js'
import { BrokerError, ProblemError } from './errors.js'
import { migrate } from './store/migrate.js'
import { countStale, reencryptAll } from './store/reencrypt.js'

const [DEFAULT_DELAY, MIN_DELAY] = [DEFAULT_ACTIVATION_DELAY_SECONDS, MIN_ACTIVATION_DELAY_SECONDS]
const [DEFAULT_OVERLAP, MAX_OVERLAP] = [DEFAULT_SECRET_OVERLAP_SECONDS, MAX_SECRET_OVERLAP_SECONDS]
const USAGE = `usage: npm run cli -- <command>

  migrate                                   apply pending database migrations
  clients create --name <name> --scopes <s1,s2> [--namespaces <n1,n2>] [--return-urls <url1,url2>] [--jwks <file>]
                 [--webhook-urls <url1,url2>]
                                            register a service client; prints its secret once,
                                            or, with --jwks (a JWK Set of public keys), none:
                                            it authenticates with private_key_jwt
                                            (namespaces: default "default"; "*" for all)
  clients list                              list service clients
  clients delete <clientId>                 delete a service client
  clients set-jwks <clientId> <file>        replace a client's public keys (a secret client
                                            loses its secret)
  clients rotate-secret <clientId> [--overlap <seconds>]
                                            a new secret, printed once; the previous one works
                                            for the overlap (default ${DEFAULT_OVERLAP} s, at most ${MAX_OVERLAP} s)
  keys list                                 list signing keys
  keys rotate [--activate-in <seconds>]     publish a new signing key; it signs after the delay
                                            (default ${DEFAULT_DELAY} s, at least ${MIN_DELAY} s)
  webhooks failed [--limit <n>]             failed webhook deliveries, newest first (default 50)
  webhooks redeliver <eventId> [--endpoint <id>]
                                            send an event again (same webhook-id) to its
                                            endpoints, or to one
  encryption reencrypt                      re-encrypt every stored secret under the first
                                            key of ENCRYPTION_KEY

scopes: ${SCOPES.join(', ')}`

type Options = {
  name?: string
  scopes?: string
  namespaces?: string
  'return-urls'?: string
  'webhook-urls'?: string
  endpoint?: string
  limit?: string
  'activate-in'?: string
  jwks?: string
  overlap?: string
}

/** The CLI runs with the operator's access to the database: it may grant any namespace. */
const CLI_ADMIN = { actor: 'cli', namespaces: ['*'] }

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      namespaces: { type: 'string' },
      'return-urls': { type: 'string' },
      'webhook-urls': { type: 'string' },
      endpoint: { type: 'string' },
      limit: { type: 'string' },
      'activate-in': { type: 'string' },
      jwks: { type: 'string' },
      overlap: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [group, action, arg, file] = positionals
  if (values.help || !group) {
    process.stdout.write(`${USAGE}\n`)
    return values.help ? 0 : 2
  }
  const config = loadConfig(process.env)
  // Logs go to stderr so that stdout carries only the command's output.
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr)
  const runtime = await openRuntime(config, log, { reuseRunningEmbedded: true })
  let services: Services | undefined
  try {
    // The service's own wiring; only what a command uses is started.
    services = createServices(config, { db: runtime.db, keyring: runtime.keyring, log })
    await migrate(runtime.db.pool, log)
    return await run([group, action].filter(Boolean).join(' '), { arg, file }, values, services)
  } finally {
    await services?.stop()
    await runtime.close()
  }
}

function out(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/** A JSON file (a JWK Set); the service checks its content. */
function readJson(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new UsageError(`cannot read ${file}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new UsageError(`${file} is not JSON (expected a JWK Set: {"keys": [...]})`)
  }
}

async function run(
  command: string,
  { arg, file }: { arg?: string; file?: string },
  values: Options,
  services: Services,
): Promise<number> {
  const { clients, keys, audit, db, keyring, log } = services
  switch (command) {
    case 'migrate':
      out({ migrated: true })
      return 0
    case 'clients create':
    case 'clients set-jwks':
    case 'clients rotate-secret':
      return clientCredentials(command, arg, file, values, services)
    case 'clients list':
      out(await clients.list())
      return 0
    case 'clients delete':
      if (!arg) throw new UsageError('clients delete needs a client id')
      await clients.delete(arg, CLI_ADMIN)
      out({ deleted: arg })
      return 0
    case 'keys list':
    case 'keys rotate': {
      const delay =
        values['activate-in'] === undefined ? DEFAULT_ACTIVATION_DELAY_SECONDS : Number(values['activate-in'])
      if (command === 'keys rotate' && !isActivationDelay(delay)) {
        throw new UsageError(
          `--activate-in must be ${MIN_ACTIVATION_DELAY_SECONDS}..${MAX_ACTIVATION_DELAY_SECONDS} ` +
            'seconds (at least the JWKS cache lifetime)',
        )
      }
      await keys.ensureKey()
      await keys.start(undefined)
      out(command === 'keys list' ? keys.list() : await keys.rotate(delay, 'cli'))
      return 0
    }
    case 'webhooks failed':
    case 'webhooks redeliver':
      return webhookCommand(command, arg, values, services)
    case 'encryption reencrypt': {
      const { rows } = await reencryptAll(db, keyring, log)
      const remaining = await countStale(db, keyring)
      if (rows || remaining === 0) {
        await audit.write({ type: 'encryption.reencrypted', actor: 'cli', detail: { rows, keyId: keyring.primaryId } })
      }
      out({ reencrypted: rows, remainingUnderOlderKeys: remaining, keyId: keyring.primaryId })
      return remaining === 0 ? 0 : 1
    }
    default:
      throw new UsageError(`unknown command: ${command}`)
  }
}

/** Commands that create a client or change how it authenticates. */
async function clientCredentials(
  command: string,
  arg: string | undefined,
  file: string | undefined,
  values: Options,
  { clients }: Services,
): Promise<number> {
  if (command === 'clients create') {
    if (!values.name || !values.scopes) throw new UsageError('clients create needs --name and --scopes')
    const jwks = values.jwks === undefined ? undefined : readJson(values.jwks)
    const namespaces = values.namespaces === undefined ? undefined : list(values.namespaces)
    const input = {
      name: values.name,
      scopes: list(values.scopes),
      namespaces,
      allowedReturnUrls: list(values['return-urls']),
      allowedWebhookUrls: list(values['webhook-urls']),
      jwks,
    }
    const { client, clientSecret } = await clients.create(input, CLI_ADMIN)
    out({ ...client, ...(clientSecret ? { clientSecret } : {}) })
    if (clientSecret) process.stderr.write('The client secret is shown once; store it now.\n')
    return 0
  }
  if (!arg) throw new UsageError(`${command} needs a client id`)
  if (command === 'clients set-jwks') {
    if (!file) throw new UsageError('clients set-jwks needs a client id and a JWK Set file')
    out(await clients.setJwks(arg, readJson(file), CLI_ADMIN))
    return 0
  }
  const overlap = values.overlap === undefined ? DEFAULT_SECRET_OVERLAP_SECONDS : Number(values.overlap)
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_SECRET_OVERLAP_SECONDS)
    throw new UsageError(`--overlap must be 0..${MAX_SECRET_OVERLAP_SECONDS} seconds`)
  out({ clientId: arg, ...(await clients.rotateSecret(arg, overlap, CLI_ADMIN)) })
  process.stderr.write('The new client secret is shown once; store it now.\n')
  return 0
}

/** Failed webhook deliveries, and sending an event again. */
async function webhookCommand(command: string, arg: string | undefined, values: Options, { deliveries }: Services) {
  if (command === 'webhooks failed') {
    const limit = values.limit === undefined ? 50 : Number(values.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be 1..1000')
    out(await deliveries.failed(limit))
    return 0
  }
  if (!arg) throw new UsageError('webhooks redeliver needs an event id (the webhook-id, msg_...)')
  const count = await deliveries.redeliver(arg, values.endpoint)
  out({ eventId: arg, deliveries: count })
  return count > 0 ? 0 : 1
}

class UsageError extends BrokerError<'usage'> {
  constructor(message: string) {
    super('usage', message)
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}\n`)
    else if (err instanceof ConfigError) process.stderr.write(`oauth-broker: ${err.message}\n`)
    else if (err instanceof ProblemError) process.stderr.write(`error: ${err.code}: ${err.message}\n`)
    else process.stderr.write(`error: ${(err as Error).message}\n`)
    process.exit(err instanceof UsageError ? 2 : 1)
  },
)
