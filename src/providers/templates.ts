// Provider URL and header templates: `{placeholders}` in provider URLs (Zendesk's `{subdomain}`), filled from a connect
// session's `params`. Every value is checked against its pattern before it goes into a URL,
// so user input can never change the host, path or query structure.

/** A DNS label: what a subdomain-like placeholder may hold when the provider declares no pattern. */
export const DEFAULT_PARAM_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'

const PLACEHOLDER = /\{([a-zA-Z][a-zA-Z0-9_]*)\}/g

export function placeholdersOf(...urls: Array<string | undefined>): string[] {
  const names = new Set<string>()
  for (const url of urls) for (const m of url?.matchAll(PLACEHOLDER) ?? []) names.add(m[1]!)
  return [...names]
}

export interface ParamSpec {
  pattern: string
  description?: string
}

/** Checks `params` against the provider's declared placeholders; returns problems (empty when valid). */
export function checkParams(specs: Record<string, ParamSpec>, params: Record<string, unknown>): string[] {
  const problems: string[] = []
  for (const name of Object.keys(params)) {
    if (!(name in specs)) problems.push(`params.${name}: this provider takes no such parameter`)
  }
  for (const [name, spec] of Object.entries(specs)) {
    const value = params[name]
    if (value === undefined)
      problems.push(`params.${name}: required${spec.description ? ` (${spec.description})` : ''}`)
    else if (typeof value !== 'string' || !new RegExp(spec.pattern).test(value))
      problems.push(`params.${name}: must match ${spec.pattern}`)
  }
  return problems
}

/** Fills placeholders; values must have passed checkParams (a missing one throws). */
export function fillPlaceholders(url: string, params: Record<string, string>): string {
  return url.replace(PLACEHOLDER, (_m, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`placeholder {${name}} has no value`)
    // Defence in depth behind the pattern check; a colon stays (host:port placeholders).
    return encodeURIComponent(value).replace(/%3A/gi, ':')
  })
}

/** Fills placeholders in header templates (values are pattern-checked, so no CR/LF). */
export function fillHeaders(templates: Record<string, string>, params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, template] of Object.entries(templates)) {
    out[name] = template.replace(PLACEHOLDER, (_m, key: string) => {
      const value = params[key]
      if (value === undefined) throw new Error(`placeholder {${key}} has no value`)
      return value
    })
  }
  return out
}
