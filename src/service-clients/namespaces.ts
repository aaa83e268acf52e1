// Namespaces: who may touch which connection. Every connection lives in exactly one
// namespace; a service client holds a list of them, or ["*"] for all. A connection outside
// the caller's namespaces is answered exactly as a missing one (docs/security.md).
import { problem } from '../errors.js'

/** A namespace name: lower-case letters, digits, `_` and `-`, at most 63 characters. */
export const NAMESPACE_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$'
const NAMESPACE = new RegExp(NAMESPACE_PATTERN)
/** The namespace list of a client that holds every namespace (the bootstrap client). */
export const ALL_NAMESPACES = '*'
/** Where first-release data lives, and what a ["*"] client gets when it names none. */
export const DEFAULT_NAMESPACE = 'default'
/** Most namespaces one client can hold. */
export const MAX_NAMESPACES = 50

export function isNamespace(value: string): boolean {
  return NAMESPACE.test(value)
}

/** Does a client holding `held` see `namespace`? (The hot path: no allocation.) */
export function holds(held: readonly string[], namespace: string): boolean {
  return held[0] === ALL_NAMESPACES || held.includes(namespace)
}

/** The namespace a new connection or connect session goes to; 400/403 problems otherwise. */
export function resolveNamespace(held: readonly string[], requested: string | undefined): string {
  if (requested === undefined) {
    if (held[0] === ALL_NAMESPACES) return DEFAULT_NAMESPACE
    if (held.length === 1) return held[0]!
    throw problem('namespace_required', `namespace: required, this service client holds several (${held.join(', ')})`)
  }
  if (!holds(held, requested))
    throw problem('namespace_forbidden', `namespace: this service client does not hold "${requested}"`)
  return requested
}

/**
 * The namespaces a list may show: the filter when held (403 otherwise),
 * else all the caller holds (undefined: every one).
 */
export function listableNamespaces(held: readonly string[], filter: string | undefined): string[] | undefined {
  if (filter !== undefined) {
    if (!holds(held, filter))
      throw problem('namespace_forbidden', `namespace: this service client does not hold "${filter}"`)
    return [filter]
  }
  return held[0] === ALL_NAMESPACES ? undefined : [...held]
}

/**
 * A client's namespace list as stored: ["*"] alone, or distinct names. Checked here too
 * (not only by the route schema) because the CLI writes it as well.
 */
export function normalizeNamespaces(requested: readonly string[], field = 'namespaces'): string[] {
  if (requested.length === 0) throw problem('invalid_request', `${field}: must hold at least one namespace`)
  if (requested.includes(ALL_NAMESPACES)) {
    if (requested.length !== 1) throw problem('invalid_request', `${field}: "*" stands alone`)
    return [ALL_NAMESPACES]
  }
  const bad = requested.find((n) => !isNamespace(n))
  if (bad !== undefined)
    throw problem('invalid_request', `${field}: ${JSON.stringify(bad)} must match ${NAMESPACE_PATTERN}`)
  if (requested.length > MAX_NAMESPACES)
    throw problem('invalid_request', `${field}: at most ${MAX_NAMESPACES} namespaces`)
  return [...new Set(requested)]
}

/** An admin grants only namespaces it holds itself (a ["*"] admin grants any). */
export function assertCanGrant(admin: readonly string[], requested: readonly string[]): void {
  if (admin[0] === ALL_NAMESPACES) return
  const foreign = requested.filter((n) => !admin.includes(n))
  if (foreign.length)
    throw problem(
      'namespace_forbidden',
      `namespaces: this admin client does not hold ${foreign.map((n) => `"${n}"`).join(', ')}`,
    )
}
