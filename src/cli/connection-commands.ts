// The CLI's connection commands: find a user's connections, look at one, revoke one (at
// the provider, like DELETE /v1/connections/:id), and read the audit trail. The CLI runs
// with the operator's access to the database: every namespace. Metadata only: no command
// here ever prints a token.
import { createInterface } from 'node:readline/promises'
import {
  connectionView,
  isoStamp,
  type ConnectionRow,
  type ConnectionView,
  type ViewedRow,
} from '../connections/connection-view.js'
import type { AuditEvent } from '../audit/audit-log.js'
import { problem } from '../errors.js'
import { NAMESPACE_PATTERN } from '../service-clients/namespaces.js'
import type { Services } from '../services.js'
import {
  connectionIdArg,
  JSON_OPTION,
  print,
  printJson,
  UsageError,
  type Command,
  type Invocation,
  type Values,
} from './command.js'
import { fields, table, when } from './table.js'

const ALL_NAMESPACES = ['*']
const STATUSES = ['active', 'reauthorization_required']
const DEFAULT_LIMIT = 1000
const PAGE = 500

function limitOf(values: Values, fallback: number): number {
  const limit = values.limit === undefined ? fallback : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError('--limit must be 1..100000')
  return limit
}

function stringOption(values: Values, name: string): string | undefined {
  const value = values[name]
  if (value === '') throw new UsageError(`--${name} needs a value`)
  return typeof value === 'string' ? value : undefined
}

/** Every matching connection up to `limit`, following the store's cursor. */
function checkListOptions({ values }: Invocation): void {
  limitOf(values, DEFAULT_LIMIT)
  for (const name of ['provider', 'owner', 'namespace']) stringOption(values, name)
  // A misspelt namespace would list nothing, as if it had no connections.
  const namespace = stringOption(values, 'namespace')
  if (namespace !== undefined && !new RegExp(NAMESPACE_PATTERN).test(namespace))
    throw new UsageError(`not a namespace: ${JSON.stringify(namespace)}`)
  const status = stringOption(values, 'status')
  if (status !== undefined && !STATUSES.includes(status))
    throw new UsageError(`--status must be one of: ${STATUSES.join(', ')}`)
}

async function listConnections(services: Services, values: Values, limit: number) {
  const status = stringOption(values, 'status')
  const namespace = stringOption(values, 'namespace')
  const filter = {
    provider: stringOption(values, 'provider'),
    ownerId: stringOption(values, 'owner'),
    status,
    namespaces: namespace === undefined ? undefined : [namespace],
  }
  const rows: ViewedRow[] = []
  let cursor: string | undefined
  do {
    const page = await services.connections.list({ ...filter, cursor, limit: Math.min(PAGE, limit - rows.length) })
    rows.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor && rows.length < limit)
  return { rows, more: cursor !== undefined }
}

const connectionsList: Command = {
  name: 'connections list',
  synopsis: '[--provider <key>] [--owner <ownerId>] [--namespace <ns>] [--status <status>] [--limit <n>] [--json]',
  summary: 'list connections (revoked ones aside), as a table or JSON',
  details: `status: ${STATUSES.join(' or ')}; at most --limit rows (default ${DEFAULT_LIMIT})`,
  options: {
    provider: { type: 'string' },
    owner: { type: 'string' },
    namespace: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    ...JSON_OPTION,
  },
  needs: 'read',
  validate: checkListOptions,
  async run({ services, values }) {
    const { rows, more } = await listConnections(services, values, limitOf(values, DEFAULT_LIMIT))
    if (values.json) {
      printJson(rows.map((row) => connectionView(row)))
      return 0
    }
    if (!rows.length) {
      print('no connections match')
      return 0
    }
    const cells = rows.map((r) => [
      r.id,
      r.provider,
      r.ownerId,
      r.namespace,
      r.status,
      when(isoStamp(r.expiresAt)),
      r.lastErrorCode ?? '-',
    ])
    print(table(['ID', 'PROVIDER', 'OWNER', 'NAMESPACE', 'STATUS', 'EXPIRES', 'LAST ERROR'], cells))
    if (more) process.stderr.write(`more connections match than --limit ${rows.length}; narrow the filters\n`)
    return 0
  },
}

/** The row by id, revoked ones included (ops may look at a tombstone), or connection_not_found. */
async function existing(services: Services, id: string): Promise<ConnectionRow> {
  const row = await services.connections.get(id)
  if (!row) throw problem('connection_not_found')
  return row
}

function describe(view: ConnectionView): string {
  return fields([
    ['id', view.id],
    ['provider', view.provider],
    ['owner', view.ownerId],
    ['namespace', view.namespace],
    ['status', view.status],
    ['scopes', view.scopes.join(' ') || '-'],
    ['expires', when(view.expiresAt)],
    ['created', when(view.createdAt)],
    ['updated', when(view.updatedAt)],
    ['last refreshed', when(view.lastRefreshedAt)],
    ['last error', view.lastErrorCode ?? '-'],
    ['params', JSON.stringify(view.params)],
    ['metadata', JSON.stringify(view.metadata)],
  ])
}

const connectionsShow: Command = {
  name: 'connections show',
  synopsis: '<connectionId> [--json]',
  summary: "a connection's metadata (never its tokens)",
  options: { ...JSON_OPTION },
  positionals: [1, 1],
  needs: 'read',
  validate: ({ args }) => void connectionIdArg(args[0]),
  async run({ services, args, values }) {
    const view = connectionView(await existing(services, connectionIdArg(args[0])))
    if (values.json) printJson(view)
    else print(describe(view))
    return 0
  },
}

async function confirmed(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    // No answer (stdin closed) is a no.
    const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')))
    const answer = await Promise.race([rl.question(question), closed])
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

const connectionsRevoke: Command = {
  name: 'connections revoke',
  synopsis: '<connectionId> [--yes] [--json]',
  summary: 'revoke a connection at its provider and delete its tokens (asks first)',
  details: '--yes: do not ask (for scripts)',
  options: { yes: { type: 'boolean', short: 'y' }, ...JSON_OPTION },
  positionals: [1, 1],
  needs: 'write',
  validate: ({ args }) => void connectionIdArg(args[0]),
  async run({ services, args, values }) {
    const row = await existing(services, connectionIdArg(args[0]))
    if (row.status === 'revoked') throw problem('connection_not_found', 'the connection is already revoked')
    const what = `${row.id} (provider ${row.provider}, owner ${row.ownerId}, namespace ${row.namespace})`
    if (!values.yes && !(await confirmed(`Revoke ${what} at the provider and delete its tokens? [y/N] `))) {
      process.stderr.write('not revoked\n')
      return 1
    }
    const outcome = await services.revocations.revoke(row.id, 'cli', ALL_NAMESPACES)
    if (values.json) printJson({ revoked: row.id, ...outcome })
    else {
      print(`revoked ${row.id}: refresh token ${outcome.refreshToken}, access token ${outcome.accessToken}`)
      for (const error of outcome.errors) process.stderr.write(`warning: ${error}\n`)
    }
    return 0
  },
}

/** An owner's events: those of each of their connections (revoked ones too), newest first. */
async function ownerEvents(services: Services, ownerId: string, limit: number): Promise<AuditEvent[]> {
  const ids = await services.db.prisma.connection.findMany({ where: { ownerId }, select: { id: true }, take: 1000 })
  const pages = await Promise.all(
    ids.map(({ id }) => services.audit.list({ connectionId: id, namespaces: undefined, limit })),
  )
  return pages
    .flatMap((p) => p.items)
    .sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)))
    .slice(0, limit)
}

const audit: Command = {
  name: 'audit',
  synopsis: '(--connection <connectionId> | --owner <ownerId>) [--limit <n>] [--json]',
  summary: "a connection's or an owner's audit events, newest first",
  details: 'at most --limit events (default 50)',
  options: { connection: { type: 'string' }, owner: { type: 'string' }, limit: { type: 'string' }, ...JSON_OPTION },
  needs: 'read',
  validate({ values }) {
    limitOf(values, 50)
    if ((values.connection === undefined) === (stringOption(values, 'owner') === undefined))
      throw new UsageError('audit needs one of --connection or --owner')
    if (values.connection !== undefined) connectionIdArg(values.connection as string)
  },
  async run({ services, values }) {
    const limit = limitOf(values, 50)
    const owner = stringOption(values, 'owner')
    const events =
      owner === undefined
        ? (
            await services.audit.list({
              connectionId: connectionIdArg(values.connection as string),
              namespaces: undefined,
              limit,
            })
          ).items
        : await ownerEvents(services, owner, limit)
    if (values.json) printJson(events)
    else if (!events.length) print('no events')
    else {
      const cells = events.map((e) => [
        when(e.occurredAt),
        e.type,
        e.actor,
        e.connectionId ?? '-',
        JSON.stringify(e.detail),
      ])
      print(table(['TIME', 'TYPE', 'ACTOR', 'CONNECTION', 'DETAIL'], cells))
    }
    return 0
  },
}

export const CONNECTION_COMMANDS = [connectionsList, connectionsShow, connectionsRevoke, audit]
