// Makes the generated OpenAPI document ready for client generators, without route files
// having to know: every schema with a `title` is registered once under components/schemas
// (named by its title) and referenced everywhere; every operation documents the
// `x-request-id` it accepts and every response the one it echoes; every 503 and 429
// documents its `Retry-After`. Route schemas name a shared shape by giving it a title.

type Json = Record<string, unknown>

const REF = '#/components/schemas/'

/** The pattern an incoming `x-request-id` must match to be kept (app.ts). */
export const REQUEST_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$'

const COMPONENTS = {
  parameters: {
    RequestId: {
      name: 'x-request-id',
      in: 'header',
      required: false,
      description:
        'Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; ' +
        'otherwise the broker generates one',
      schema: { type: 'string', pattern: REQUEST_ID_PATTERN },
    },
  },
  headers: {
    RequestId: {
      description: "The request's id, as logged by the broker (see the x-request-id parameter)",
      schema: { type: 'string' },
    },
    RetryAfter: {
      description: 'Seconds to wait before retrying (RFC 9110 §10.2.3)',
      schema: { type: 'integer', minimum: 0 },
    },
  },
}

export function refineDocument(doc: Json): Json {
  const components: Json = { ...(doc.components as Json | undefined), ...COMPONENTS }
  const schemas = { ...(components.schemas as Record<string, unknown> | undefined) }
  components.schemas = schemas
  doc.components = components
  const paths = doc.paths as Record<string, Record<string, Json>>
  for (const methods of Object.values(paths)) {
    for (const operation of Object.values(methods)) refineOperation(operation, schemas)
  }
  for (const [name, schema] of Object.entries(schemas)) schemas[name] = hoistInner(schema, schemas)
  return doc
}

function refineOperation(operation: Json, schemas: Record<string, unknown>): void {
  const parameters = (operation.parameters as unknown[] | undefined) ?? []
  operation.parameters = [...(hoist(parameters, schemas) as unknown[]), { $ref: '#/components/parameters/RequestId' }]
  if (operation.requestBody) operation.requestBody = hoist(operation.requestBody, schemas)
  const responses = operation.responses as Record<string, Json>
  for (const [status, response] of Object.entries(responses)) {
    const headers: Json = { ...(response.headers as Json | undefined) }
    headers['x-request-id'] = { $ref: '#/components/headers/RequestId' }
    if (status === '503' || status === '429') headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' }
    responses[status] = { ...(hoist(response, schemas) as Json), headers }
  }
}

/** A copy of `node` whose titled schemas are replaced by references to components/schemas. */
function hoist(node: unknown, schemas: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((item) => hoist(item, schemas))
  if (node === null || typeof node !== 'object') return node
  const object = node as Json
  if (typeof object.title === 'string' && isSchema(object)) {
    register(object.title, hoistInner(object, schemas), schemas)
    return { $ref: REF + object.title }
  }
  return hoistInner(object, schemas)
}

/** Like hoist, but keeps `node` itself inline (it is the component being registered). */
function hoistInner(node: unknown, schemas: Record<string, unknown>): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return hoist(node, schemas)
  const out: Json = {}
  for (const [key, value] of Object.entries(node as Json)) {
    // A `properties` map's keys are member names, never schema keywords.
    out[key] = key === 'properties' ? mapValues(value as Json, (v) => hoist(v, schemas)) : hoist(value, schemas)
  }
  return out
}

function register(name: string, schema: unknown, schemas: Record<string, unknown>): void {
  const existing = schemas[name]
  if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(schema)) {
    throw new Error(`two different schemas are titled ${name}: give one another title`)
  }
  schemas[name] = schema
}

function isSchema(object: Json): boolean {
  return ['type', 'allOf', 'anyOf', 'oneOf', 'enum', 'properties'].some((k) => k in object)
}

function mapValues(object: Json, f: (v: unknown) => unknown): Json {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, f(v)]))
}
