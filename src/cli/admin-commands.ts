// The CLI's commands for service clients, signing keys, migrations and re-encryption.
// Output is JSON; a secret is printed only when this command just created it.
import { readFileSync } from 'node:fs'
import {
  DEFAULT_ACTIVATION_DELAY_SECONDS,
  isActivationDelay,
  MAX_ACTIVATION_DELAY_SECONDS,
  MIN_ACTIVATION_DELAY_SECONDS,
} from '../issuer/signing-keys.js'
import { DEFAULT_SECRET_OVERLAP_SECONDS, MAX_SECRET_OVERLAP_SECONDS } from '../service-clients/secrets.js'
import { countStale, reencryptAll } from '../store/reencrypt.js'
import { clientIdArg, JSON_OPTION, printJson, UsageError, type Command, type Values } from './command.js'

const [DEFAULT_DELAY, MIN_DELAY] = [DEFAULT_ACTIVATION_DELAY_SECONDS, MIN_ACTIVATION_DELAY_SECONDS]
const [DEFAULT_OVERLAP, MAX_OVERLAP] = [DEFAULT_SECRET_OVERLAP_SECONDS, MAX_SECRET_OVERLAP_SECONDS]

/** The CLI runs with the operator's access to the database: it may grant any namespace. */
const CLI_ADMIN = { actor: 'cli', namespaces: ['*'] }

const list = (value: unknown) =>
  (typeof value === 'string' ? value : '')
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

const migrateCommand: Command = {
  name: 'migrate',
  synopsis: '',
  summary: 'apply pending database migrations',
  needs: 'write',
  async run() {
    printJson({ migrated: true })
    return 0
  },
}

const clientsCreate: Command = {
  name: 'clients create',
  synopsis:
    '--name <name> --scopes <s1,s2> [--namespaces <n1,n2>] [--return-urls <url1,url2>] [--jwks <file>]' +
    ' [--webhook-urls <url1,url2>]',
  summary: 'register a service client; prints its secret once, or with --jwks none (private_key_jwt)',
  details: 'namespaces: default "default"; "*" for all. --jwks: a JWK Set of public keys',
  options: {
    name: { type: 'string' },
    scopes: { type: 'string' },
    namespaces: { type: 'string' },
    'return-urls': { type: 'string' },
    'webhook-urls': { type: 'string' },
    jwks: { type: 'string' },
    ...JSON_OPTION,
  },
  needs: 'write',
  validate({ values }) {
    if (!values.name || !values.scopes) throw new UsageError('clients create needs --name and --scopes')
  },
  async run({ services, values }) {
    const input = {
      name: String(values.name),
      scopes: list(values.scopes),
      namespaces: values.namespaces === undefined ? undefined : list(values.namespaces),
      allowedReturnUrls: list(values['return-urls']),
      allowedWebhookUrls: list(values['webhook-urls']),
      jwks: values.jwks === undefined ? undefined : readJson(String(values.jwks)),
    }
    const { client, clientSecret } = await services.clients.create(input, CLI_ADMIN)
    printJson({ ...client, ...(clientSecret ? { clientSecret } : {}) })
    if (clientSecret) process.stderr.write('The client secret is shown once; store it now.\n')
    return 0
  },
}

const clientsList: Command = {
  name: 'clients list',
  synopsis: '',
  summary: 'list service clients',
  options: { ...JSON_OPTION },
  needs: 'read',
  async run({ services }) {
    printJson(await services.clients.list())
    return 0
  },
}

const clientsDelete: Command = {
  name: 'clients delete',
  synopsis: '<clientId>',
  summary: 'delete a service client',
  positionals: [1, 1],
  needs: 'write',
  validate: ({ args }) => void clientIdArg(args[0]),
  async run({ services, args }) {
    await services.clients.delete(args[0]!, CLI_ADMIN)
    printJson({ deleted: args[0] })
    return 0
  },
}

const clientsSetJwks: Command = {
  name: 'clients set-jwks',
  synopsis: '<clientId> <file>',
  summary: "replace a client's public keys (a secret client loses its secret)",
  positionals: [2, 2],
  needs: 'write',
  validate: ({ args }) => void clientIdArg(args[0]),
  async run({ services, args }) {
    printJson(await services.clients.setJwks(args[0]!, readJson(args[1]!), CLI_ADMIN))
    return 0
  },
}

function overlapOf(values: Values): number {
  const overlap = values.overlap === undefined ? DEFAULT_OVERLAP : Number(values.overlap)
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP)
    throw new UsageError(`--overlap must be 0..${MAX_OVERLAP} seconds`)
  return overlap
}

const clientsRotateSecret: Command = {
  name: 'clients rotate-secret',
  synopsis: '<clientId> [--overlap <seconds>]',
  summary: `a new secret, printed once; the previous one works for the overlap (default ${DEFAULT_OVERLAP} s)`,
  details: `--overlap: at most ${MAX_OVERLAP} s`,
  options: { overlap: { type: 'string' } },
  positionals: [1, 1],
  needs: 'write',
  validate({ args, values }) {
    clientIdArg(args[0])
    overlapOf(values)
  },
  async run({ services, args, values }) {
    const overlap = overlapOf(values)
    printJson({ clientId: args[0], ...(await services.clients.rotateSecret(args[0]!, overlap, CLI_ADMIN)) })
    process.stderr.write('The new client secret is shown once; store it now.\n')
    return 0
  },
}

const keysList: Command = {
  name: 'keys list',
  synopsis: '',
  summary: 'list signing keys',
  options: { ...JSON_OPTION },
  needs: 'read',
  async run({ services }) {
    // As before: the first key is created (as the broker does at start) so there is one to list.
    await services.keys.ensureKey()
    await services.keys.start(undefined)
    printJson(services.keys.list())
    return 0
  },
}

function activationDelay(values: Values): number {
  const delay = values['activate-in'] === undefined ? DEFAULT_DELAY : Number(values['activate-in'])
  if (!isActivationDelay(delay)) {
    throw new UsageError(
      `--activate-in must be ${MIN_DELAY}..${MAX_ACTIVATION_DELAY_SECONDS} seconds (at least the JWKS cache lifetime)`,
    )
  }
  return delay
}

const keysRotate: Command = {
  name: 'keys rotate',
  synopsis: '[--activate-in <seconds>]',
  summary: `publish a new signing key; it signs after the delay (default ${DEFAULT_DELAY} s, at least ${MIN_DELAY} s)`,
  options: { 'activate-in': { type: 'string' } },
  needs: 'write',
  validate: ({ values }) => void activationDelay(values),
  async run({ services, values }) {
    const delay = activationDelay(values)
    await services.keys.ensureKey()
    await services.keys.start(undefined)
    printJson(await services.keys.rotate(delay, 'cli'))
    return 0
  },
}

const encryptionReencrypt: Command = {
  name: 'encryption reencrypt',
  synopsis: '',
  summary: 're-encrypt every stored secret under the first key of ENCRYPTION_KEY',
  needs: 'write',
  async run({ services: { db, keyring, log, audit } }) {
    const { rows } = await reencryptAll(db, keyring, log)
    const remaining = await countStale(db, keyring)
    if (rows || remaining === 0) {
      await audit.write({ type: 'encryption.reencrypted', actor: 'cli', detail: { rows, keyId: keyring.primaryId } })
    }
    printJson({ reencrypted: rows, remainingUnderOlderKeys: remaining, keyId: keyring.primaryId })
    return remaining === 0 ? 0 : 1
  },
}

export const ADMIN_COMMANDS = [
  migrateCommand,
  clientsCreate,
  clientsList,
  clientsDelete,
  clientsSetJwks,
  clientsRotateSecret,
  keysList,
  keysRotate,
  encryptionReencrypt,
]
