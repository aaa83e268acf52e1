// Per-route rate limits (@fastify/rate-limit), keyed by client address (trustProxy-aware).
// A limit of 0 turns the route's limit off. (docs/security.md, checklist item 25)
export function perMinute(max: number): false | { max: number; timeWindow: number } {
  return max > 0 ? { max, timeWindow: 60_000 } : false
}
