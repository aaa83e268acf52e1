#!/usr/bin/env node
// The ops command line: `oauth-broker <command>` (the package's bin), `npm run cli -- ...`
// or `node dist/cli.js ...`. Uses the same environment as the service (DATABASE_URL,
// ENCRYPTION_KEY, ...); with no DATABASE_URL it uses the embedded database under DATA_DIR,
// the running broker's if there is one. Help goes to stdout; usage errors are one line on
// stderr with exit 2; other failures exit 1.
import { parseArgs } from 'node:util'
import { ADMIN_COMMANDS } from './cli/admin-commands.js'
import { UsageError, type Command, type Values } from './cli/command.js'
import { configCheck } from './cli/config-check.js'
import { CONNECTION_COMMANDS } from './cli/connection-commands.js'
import { WEBHOOK_COMMANDS } from './cli/webhook-commands.js'
import { ConfigError, loadConfig } from './config.js'
import { ProblemError } from './errors.js'
import { createLogger } from './log.js'
import { openRuntime } from './runtime.js'
import { SCOPES } from './service-clients/scopes.js'
import { createServices, type Services } from './services.js'
import { migrate } from './store/migrate.js'
import { VERSION } from './version.js'

const COMMANDS: Command[] = [...ADMIN_COMMANDS, ...CONNECTION_COMMANDS, ...WEBHOOK_COMMANDS, configCheck]
const BIN = 'oauth-broker'

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  return [
    `usage: ${BIN} <command> [options]      (${BIN} <command> --help for its options)`,
    '',
    ...lines,
    '',
    `  --version, --help`,
    '',
    `scopes: ${SCOPES.join(', ')}`,
  ].join('\n')
}

function commandHelp(c: Command): string {
  return [
    `usage: ${BIN} ${c.name}${c.synopsis ? ` ${c.synopsis}` : ''}`,
    '',
    c.summary,
    ...(c.details ? [c.details] : []),
  ].join('\n')
}

/** The command the arguments name (one word or two), and the arguments after its name. */
function findCommand(argv: string[]): { command: Command; rest: string[] } {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ')
    const command = COMMANDS.find((c) => c.name === name)
    if (command) return { command, rest: argv.slice(words) }
  }
  const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `))
  if (group.length) {
    const actions = group.map((c) => c.name.split(' ')[1]).join(', ')
    const action = argv[1] && !argv[1].startsWith('-') ? `unknown command: ${argv[0]} ${argv[1]}; ` : ''
    throw new UsageError(`${action}${argv[0]} takes one of: ${actions} (see ${BIN} ${argv[0]} --help)`)
  }
  const named = argv
    .slice(0, 2)
    .filter((w) => !w.startsWith('-'))
    .join(' ')
  throw new UsageError(`unknown command: ${named || argv[0]} (see ${BIN} --help)`)
}

/** parseArgs with the command's own options only; its errors become one-line usage errors. */
function parse(command: Command, rest: string[]): { args: string[]; values: Values } {
  let parsed: { positionals: string[]; values: Values }
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
    }) as { positionals: string[]; values: Values }
  } catch (err) {
    const message = (err as Error).message
    const unknown = /^Unknown option '([^']+)'/.exec(message)
    const reason = unknown ? `unknown option ${unknown[1]}` : message.split('. ')[0]!.replace(/'/g, '')
    throw new UsageError(`${command.name}: ${reason} (see ${BIN} ${command.name} --help)`)
  }
  const [min, max] = command.positionals ?? [0, 0]
  const count = parsed.positionals.length
  if (!parsed.values.help && (count < min || count > max)) {
    const extra = count > max ? `unexpected argument ${JSON.stringify(parsed.positionals[max])}` : 'missing argument'
    throw new UsageError(`${command.name}: ${extra} (usage: ${BIN} ${command.name} ${command.synopsis})`)
  }
  return { args: parsed.positionals, values: parsed.values }
}

async function main(argv: string[]): Promise<number> {
  const [first] = argv
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${BIN} ${VERSION}\n`)
    return 0
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${overview()}\n`)
    return 0
  }
  if (!first) throw new UsageError(`a command is needed (see ${BIN} --help)`)
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `))
  if (group.length && argv.length === 2 && (argv[1] === '--help' || argv[1] === '-h')) {
    process.stdout.write(`${group.map(commandHelp).join('\n\n')}\n`)
    return 0
  }
  const { command, rest } = findCommand(argv)
  const { args, values } = parse(command, rest)
  if (values.help) {
    process.stdout.write(`${commandHelp(command)}\n`)
    return 0
  }
  command.validate?.({ args, values })
  if (command.needs === 'config') return command.run({ args, values })
  const config = loadConfig(process.env)
  // Logs go to stderr so that stdout carries only the command's output.
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr)
  const runtime = await openRuntime(config, log, { reuseRunningEmbedded: true })
  let services: Services | undefined
  try {
    // The service's own wiring; only what a command uses is started.
    services = createServices(config, { db: runtime.db, keyring: runtime.keyring, log })
    // Commands that only read leave the schema as they find it.
    if (command.needs === 'write') await migrate(runtime.db.pool, log)
    return await command.run({ args, values, services })
  } finally {
    await services?.stop()
    await runtime.close()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${BIN}: ${err.message}\n`)
    else if (err instanceof ConfigError) process.stderr.write(`${BIN}: ${err.message}\n`)
    else if (err instanceof ProblemError) process.stderr.write(`error: ${err.code}: ${err.message}\n`)
    else process.stderr.write(`error: ${(err as Error).message}\n`)
    process.exit(err instanceof UsageError || err instanceof ConfigError ? 2 : 1)
  },
)
