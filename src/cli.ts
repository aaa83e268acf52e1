// The ops command line: `npm run cli -- <command>`. Uses the same environment as the
// service (DATABASE_URL, ENCRYPTION_KEY, ...); with no DATABASE_URL it uses the embedded
// database under DATA_DIR, the running broker's if there is one.
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
import { createServices, type Services } from './services.js'
import { BrokerError, ProblemError } from './errors.js'
import { migrate } from './store/migrate.js'
import { countStale, reencryptAll } from './store/reencrypt.js'

const [DEFAULT_DELAY, MIN_DELAY] = [DEFAULT_ACTIVATION_DELAY_SECONDS, MIN_ACTIVATION_DELAY_SECONDS]
const USAGE = `usage: npm run cli -- <command>

  migrate                                   apply pending database migrations
  clients create --name <name> --scopes <s1,s2> [--return-urls <url1,url2>]
                                            register a service client; prints its secret once
  clients list                              list service clients
  clients delete <clientId>                 delete a service client
  keys list                                 list signing keys
  keys rotate [--activate-in <seconds>]     publish a new signing key; it signs after the delay
                                            (default ${DEFAULT_DELAY} s, at least ${MIN_DELAY} s)
  encryption reencrypt                      re-encrypt every stored secret under the first
                                            key of ENCRYPTION_KEY

scopes: ${SCOPES.join(', ')}`

type Options = { name?: string; scopes?: string; 'return-urls'?: string; 'activate-in'?: string }

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      'return-urls': { type: 'string' },
      'activate-in': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [group, action, arg] = positionals
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
    return await run([group, action].filter(Boolean).join(' '), arg, values, services)
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

async function run(
  command: string,
  arg: string | undefined,
  values: Options,
  { clients, keys, audit, db, keyring, log }: Services,
): Promise<number> {
  switch (command) {
    case 'migrate':
      out({ migrated: true })
      return 0
    case 'clients create': {
      if (!values.name || !values.scopes) throw new UsageError('clients create needs --name and --scopes')
      const { client, clientSecret } = await clients.create(
        { name: values.name, scopes: list(values.scopes), allowedReturnUrls: list(values['return-urls']) },
        'cli',
      )
      out({ ...client, clientSecret })
      process.stderr.write('The client secret is shown once; store it now.\n')
      return 0
    }
    case 'clients list':
      out(await clients.list())
      return 0
    case 'clients delete':
      if (!arg) throw new UsageError('clients delete needs a client id')
      await clients.delete(arg, 'cli')
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
