// Outbound network policy. Providers declared by ops are trusted as configured. Hosts that
// come from user input (an Interact intranet URL, and the ApiDomain its discovery returns)
// must be https and must not resolve to internal addresses: private ones (loopback, RFC
// 1918, CGNAT, unique-local) only when ALLOW_PRIVATE_PROVIDER_ADDRESSES is set (tests,
// on-premises intranets), reserved ones (link-local with the cloud metadata service,
// unspecified, multicast, documentation, ...) never. The check runs inside the
// connection's own DNS lookup, so a name that resolves differently later (DNS rebinding)
// is caught too.
import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { rootCertificates } from 'node:tls'
import { Agent, type Dispatcher } from 'undici'
import { BrokerError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { ProviderHttpOptions } from './http.js'
import { ProviderSlots } from './provider-slots.js'

/**
 * - `public`: anything else;
 * - `private`: internal networks an on-premises intranet may live on;
 * - `reserved`: never a provider's address, whatever the setting.
 */
export type AddressClass = 'public' | 'private' | 'reserved'

function blockList(ipv4: Array<[string, number]>, ipv6: Array<[string, number]>): BlockList {
  const list = new BlockList()
  for (const [net, prefix] of ipv4) list.addSubnet(net, prefix, 'ipv4')
  for (const [net, prefix] of ipv6) list.addSubnet(net, prefix, 'ipv6')
  return list
}

const PRIVATE = blockList(
  [
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
  ],
  // Loopback, unique-local (RFC 4193), deprecated site-local, local-use NAT64 (RFC 8215).
  [
    ['::1', 128],
    ['fc00::', 7],
    ['fec0::', 10],
    ['64:ff9b:1::', 48],
  ],
)

const RESERVED = blockList(
  [
    ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
    ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4], // includes 255.255.255.255
  ],
  [
    // Unspecified and the deprecated IPv4-compatible addresses (::a.b.c.d, RFC 4291 §2.5.5.1).
    ['::', 96],
    ['100::', 64], // discard-only
    ['2001::', 23], // IETF protocol assignments: Teredo, ORCHID, ...
    ['2001:db8::', 32],
    ['3fff::', 20],
    ['fe80::', 10],
    ['ff00::', 8],
  ],
)

/** The eight 16-bit words of an IPv6 address that isIP() accepted (zone id removed). */
function ipv6Words(address: string): number[] {
  let text = address.toLowerCase()
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::')
  const words = (part: string | undefined) => (part ? part.split(':').map((w) => parseInt(w, 16)) : [])
  const left = words(head)
  if (tail === undefined) return left
  const right = words(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

const ipv4Of = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`

/** Classifies an IP address; anything that is not one is `reserved`. */
export function classifyAddress(address: string): AddressClass {
  const ip = address.replace(/%.*$/, '')
  const family = isIP(ip)
  if (family === 4) return PRIVATE.check(ip, 'ipv4') ? 'private' : RESERVED.check(ip, 'ipv4') ? 'reserved' : 'public'
  if (family !== 6) return 'reserved'
  const w = ipv6Words(ip)
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0)
  // Addresses that carry an IPv4 address are judged by it: IPv4-mapped (::ffff:a.b.c.d),
  // NAT64 (64:ff9b::a.b.c.d, RFC 6052) and 6to4 (2002:AABB:CCDD::, RFC 3056).
  if (zero(0, 5) && w[5] === 0xffff) return classifyAddress(ipv4Of(w[6]!, w[7]!))
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6)) return classifyAddress(ipv4Of(w[6]!, w[7]!))
  if (w[0] === 0x2002) return classifyAddress(ipv4Of(w[1]!, w[2]!))
  return PRIVATE.check(ip, 'ipv6') ? 'private' : RESERVED.check(ip, 'ipv6') ? 'reserved' : 'public'
}

/** May a user-supplied host resolve to this address? */
export function isAllowedAddress(address: string, allowPrivate: boolean): boolean {
  const cls = classifyAddress(address)
  return cls === 'public' || (cls === 'private' && allowPrivate)
}

/** Names that only ever mean this machine or the local network. */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i

/** Checks a user-supplied base URL before anything is sent; returns why it is refused. */
export function checkUserSuppliedUrl(raw: string, allowPrivate: boolean): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return 'contains whitespace, control characters or backslashes'
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not an absolute URL'
  }
  if (url.protocol !== 'https:') return 'must use https'
  // The URL parser drops an empty userinfo ("https://@host"): look at the text too.
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(raw)) return 'must not contain credentials'
  // Paths are appended to the text, so even an empty "?" or "#" would swallow them.
  if (raw.includes('?') || raw.includes('#')) return 'must not contain a query or fragment'
  if (url.port === '0') return 'has an invalid port'
  const host = url.hostname
  if (host.endsWith('.')) return 'must not end its host name with a dot'
  // The parser has already normalized IPv4 shorthands (127.1, 0x7f.1, 0177.0.0.1, 2130706433).
  const ip = host.replace(/^\[|\]$/g, '')
  if (isIP(ip)) return isAllowedAddress(ip, allowPrivate) ? undefined : 'points to an internal address'
  if (!allowPrivate && INTERNAL_NAME.test(host)) return 'points to an internal host name'
  return undefined
}

/** Thrown from the DNS lookup; `code` is how oauth/http.ts recognises it through undici's wrapping. */
export class BlockedAddressError extends BrokerError<'EBLOCKEDADDRESS'> {
  constructor(message: string) {
    super('EBLOCKEDADDRESS', message)
  }
}

/** Every address a host name resolves to (node:dns lookup, all: true). Tests inject their own. */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>

export const systemResolveHost: ResolveHost = (hostname) => dns.lookup(hostname, { all: true })

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void

/**
 * A `lookup` for net/tls.connect that refuses the connection when any address of the name
 * is not allowed: the check sees exactly the addresses the socket will use.
 */
export function guardedLookup(resolveHost: ResolveHost, allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolveHost(hostname).then(
      (resolved) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family
        const addresses = family === 4 || family === 6 ? resolved.filter((a) => a.family === family) : resolved
        if (!addresses.length)
          return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), [])
        if (addresses.some((a) => !isAllowedAddress(a.address, allowPrivate))) {
          return callback(new BlockedAddressError(`${hostname} resolves to an internal address`), [])
        }
        if (options.all) return callback(null, addresses)
        callback(null, addresses[0]!.address, addresses[0]!.family)
      },
      (err: Error) => callback(err, []),
    )
  }
}

export interface Dispatchers {
  /** For hosts ops configured. */
  standard: Dispatcher
  /** For hosts that came from user input. */
  guarded: Dispatcher
  allowPrivate: boolean
  close(): Promise<void>
}

export function createDispatchers(options: {
  extraCaPem?: string
  allowPrivate: boolean
  resolveHost?: ResolveHost
}): Dispatchers {
  const ca = options.extraCaPem ? [...rootCertificates, options.extraCaPem] : undefined
  const standard = new Agent({ connections: 32, keepAliveTimeout: 10_000, ...(ca ? { connect: { ca } } : {}) })
  const guarded = new Agent({
    connections: 8,
    keepAliveTimeout: 10_000,
    connect: {
      ...(ca ? { ca } : {}),
      lookup: guardedLookup(options.resolveHost ?? systemResolveHost, options.allowPrivate),
    },
  })
  return {
    standard,
    guarded,
    allowPrivate: options.allowPrivate,
    async close() {
      await Promise.all([standard.close(), guarded.close()])
    },
  }
}

/** What a call to a provider is for: the `operation` label of its duration metric. */
export type ProviderOperation = 'code_exchange' | 'refresh' | 'revocation' | 'credentials'

/** Told each provider call's labels and duration (metrics.ts). */
export type ProviderCallObserver = (
  labels: { provider: string; operation: ProviderOperation; outcome: string },
  seconds: number,
) => void

/** Which dispatcher, timeout and bulkhead a call to a provider uses. */
export class ProviderNetwork {
  private slots = new Map<string, ProviderSlots>()

  /** `concurrency`: PROVIDER_CONCURRENCY, calls at a time to one provider from this replica. */
  constructor(
    private dispatchers: Dispatchers,
    readonly timeoutMs: number,
    private readonly bulkheads: { concurrency: number; metrics?: Metrics } = { concurrency: Infinity },
    private readonly observer?: ProviderCallObserver,
  ) {}

  get allowPrivate(): boolean {
    return this.dispatchers.allowPrivate
  }

  http(provider: { key?: string; userSuppliedHosts?: boolean }, operation: ProviderOperation): ProviderHttpOptions {
    const guarded = provider.userSuppliedHosts === true
    const { observer } = this
    const key = provider.key
    return {
      timeoutMs: this.timeoutMs,
      dispatcher: guarded ? this.dispatchers.guarded : this.dispatchers.standard,
      slots: key === undefined ? undefined : this.slotsFor(key),
      ...(observer &&
        key !== undefined && {
          observe: (outcome: string, seconds: number) => observer({ provider: key, operation, outcome }, seconds),
        }),
    }
  }

  private slotsFor(key: string): ProviderSlots | undefined {
    if (!Number.isFinite(this.bulkheads.concurrency)) return undefined
    let slots = this.slots.get(key)
    if (!slots) {
      slots = new ProviderSlots(key, this.bulkheads.concurrency, this.bulkheads.metrics)
      this.slots.set(key, slots)
    }
    return slots
  }

  close(): Promise<void> {
    return this.dispatchers.close()
  }
}
