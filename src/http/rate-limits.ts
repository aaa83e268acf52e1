// Per-route rate limits (@fastify/rate-limit), keyed by client address (trustProxy-aware).
// A limit of 0 turns the route's limit off. (docs/security.md, checklist item 25)
import { isIPv6 } from 'node:net'

export function perMinute(max: number): false | { max: number; timeWindow: number } {
  return max > 0 ? { max, timeWindow: 60_000 } : false
}

/**
 * The rate-limit key of a client address: an IPv4 address as it is, an IPv6 address by
 * its /64 (one host usually holds a whole /64, so per-address keys would give it 2^64
 * budgets). An IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function rateLimitKey(ip: string): string {
  const address = ip.split('%')[0]!
  if (!isIPv6(address)) return address
  const groups = expandIPv6(address)
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
  if (mapped) return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.')
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (`::` and a dotted IPv4 tail expanded). */
function expandIPv6(address: string): number[] {
  let text = address
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : [])
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
