// What every CLI command is: its name, its options (node:util parseArgs), its help, and
// how much of the broker it needs. Usage errors are one line on stderr and exit 2.
import type { ParseArgsConfig } from 'node:util'
import { BrokerError } from '../errors.js'
import type { Services } from '../services.js'

type ParseArgsOptionDescriptor = NonNullable<ParseArgsConfig['options']>[string]

export type Values = Record<string, string | boolean | undefined>

export interface Invocation {
  args: string[]
  values: Values
}

export interface Context extends Invocation {
  services: Services
}

interface CommandInfo {
  /** `connections list`, `audit`, ... */
  name: string
  /** Arguments and options, as shown after the name in the usage line. */
  synopsis: string
  /** What it does: one line in the overview, then the command's own help. */
  summary: string
  /** More lines for `<command> --help`. */
  details?: string
  options?: Record<string, ParseArgsOptionDescriptor>
  /** How many positional arguments it takes: [at least, at most]. */
  positionals?: [number, number]
  /** Refuses bad arguments (UsageError) before anything is opened. */
  validate?(invocation: Invocation): void
}

/**
 * `config`: reads the configuration only; `read`: reads the database, never migrates it;
 * `write`: applies pending migrations first.
 */
export type Command = CommandInfo &
  (
    | { needs: 'config'; run(invocation: Invocation): Promise<number> }
    | { needs: 'read' | 'write'; run(context: Context): Promise<number> }
  )

export class UsageError extends BrokerError<'usage'> {
  constructor(message: string) {
    super('usage', message)
  }
}

/** A connection id as the API takes it (src/http/schemas/connections.ts). */
export const CONNECTION_ID = /^[A-Za-z0-9_-]{1,64}$/

export function connectionIdArg(value: string | undefined): string {
  if (!value || !CONNECTION_ID.test(value)) throw new UsageError(`not a connection id: ${JSON.stringify(value ?? '')}`)
  return value
}

/** A service client id as the API takes it (ClientIdParams in src/http/schemas/service-clients.ts). */
export const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/

export function clientIdArg(value: string | undefined): string {
  if (!value || !CLIENT_ID.test(value)) throw new UsageError(`not a client id: ${JSON.stringify(value ?? '')}`)
  return value
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

export const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies Record<string, ParseArgsOptionDescriptor>
