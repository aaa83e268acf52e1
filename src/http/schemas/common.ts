// Schema pieces shared by the route schemas (one module per route module beside this one).
// Route schemas are the single source of openapi.yaml (`npm run openapi` writes it;
// test/http/openapi.test.ts fails when they differ), so every route declares its body,
// parameters, every response status and its security.
import { Type, type TSchema } from 'typebox'
import { PROBLEMS, type ProblemCode } from '../../errors.js'
import { NAMESPACE_PATTERN } from '../../service-clients/namespaces.js'
import type { Scope } from '../../service-clients/scopes.js'

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
)
const ProblemRef = { $ref: 'Problem#' }

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Missing or invalid broker token',
  403: "Forbidden: the broker token lacks the scope, or the namespace is not the caller's",
  404: 'Not found',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Unsupported content type',
  429: 'Rate limited',
  500: 'Internal error',
  502: 'Bad gateway',
  503: 'Unavailable',
}

/** Problem responses for the given statuses, each with the codes it can carry as an enum. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  for (const status of statuses) {
    const codes = (Object.keys(PROBLEMS) as ProblemCode[]).filter((c) => PROBLEMS[c].status === status)
    out[status] = problemResponse(STATUS_TEXT[status] ?? 'Error', codes, `Problem${status}`)
  }
  return out
}

/** The 503 of a route whose only unavailability is the drain at shutdown (app.ts). */
export function shuttingDown(): Record<number, TSchema> {
  return { 503: problemResponse(PROBLEMS.shutting_down.title, ['shutting_down'], 'ShuttingDownProblem') }
}

/** A problem document whose `code` is one of `codes`, named `title` in the document. */
export function problemSchema(codes: ProblemCode[], title: string): TSchema {
  return {
    title,
    allOf: [ProblemRef, { type: 'object', properties: { code: { type: 'string', enum: codes } } }],
  } as unknown as TSchema
}

function problemResponse(text: string, codes: ProblemCode[], title: string): TSchema {
  const schema = problemSchema(codes, title)
  return {
    description: `${text}${codes.length ? ` (code: ${codes.join(', ')})` : ''}`,
    content: { 'application/problem+json': { schema } },
  } as unknown as TSchema
}

/** A JSON response with a description. */
export function json(description: string, schema: TSchema): TSchema {
  return { description, content: { 'application/json': { schema } } } as unknown as TSchema
}

export function noContent(description: string): TSchema {
  return { description, type: 'null' } as unknown as TSchema
}

/**
 * The security requirement of a /v1 route. The broker-token auth hook reads the required
 * scope from here, so documentation and enforcement cannot drift apart.
 */
export function requiresScope(scope: Scope): { security: Array<Record<string, string[]>> } {
  return { security: [{ brokerToken: [scope] }] }
}

/**
 * Statuses every authenticated /v1 route can answer besides its own (503: at least
 * shutting_down, for a request that arrives while the broker drains).
 */
export const AUTHENTICATED = [401, 403, 500, 503] as const
/** The status of a route with a per-minute rate limit (src/http/rate-limits.ts); only those declare it. */
export const RATE_LIMITED = [429] as const
/** Statuses of a route that takes a JSON body: invalid, too large, not JSON. */
export const WITH_BODY = [400, 413, 415] as const

/** A namespace name (service-clients/namespaces.ts). */
export const Namespace = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: NAMESPACE_PATTERN,
  description: 'A namespace: who may touch which connection',
})

export const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 })
export const Timestamp = Type.String({ format: 'date-time' })

/**
 * Names shared schemas in the API document: each is registered once under
 * components/schemas by its key and referenced everywhere (http/openapi-refine.ts). A
 * title is an annotation, so validation and serialization are unchanged.
 */
export function named(schemas: Record<string, TSchema>): void {
  for (const [title, schema] of Object.entries(schemas)) (schema as { title?: string }).title = title
}
