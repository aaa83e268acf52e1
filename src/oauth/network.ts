// Outbound network policy. Providers declared by ops are trusted as configured. Hosts that
// come from user input (an Interact intranet URL, and the ApiDomain its discovery returns)
// must be https and must not resolve to loopback, private, link-local or otherwise
// internal addresses, unless ALLOW_PRIVATE_PROVIDER_ADDRESSES is set (tests, on-premises
// intranets). The check runs inside the connection's own DNS lookup, so a name that
// resolves differently later (DNS rebinding) is caught too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { rootCertificates } from 'node:tls'
import { Agent, type Dispatcher } from 'undici'

const INTERNAL = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) {
  INTERNAL.addSubnet(net, prefix, 'ipv6')
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return INTERNAL.check(address, 'ipv4')
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4')
    return INTERNAL.check(address, 'ipv6')
  }
  return true
}

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS'
}

/** Checks a user-supplied base URL before anything is sent; returns why it is refused. */
export function checkUserSuppliedUrl(raw: string, allowPrivate: boolean): string | undefined {
  if (/[\u0000-\u0020\u007f\\]/.test(raw)) return 'contains whitespace, control characters or backslashes'
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not an absolute URL'
  }
  if (url.protocol !== 'https:') return 'must use https'
  if (url.username || url.password) return 'must not contain credentials'
  if (url.search || url.hash) return 'must not contain a query or fragment'
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host) && !allowPrivate && isInternalAddress(host)) return 'points to an internal address'
  if (!allowPrivate && /(^|\.)(localhost|local|internal|localdomain)$/i.test(host)) return 'points to an internal host name'
  return undefined
}

/** Resolves a host name and refuses internal addresses, unless allowed. */
export function resolvePublic(hostname: string, allowPrivate: boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return reject(err)
      const blocked = addresses.filter((a) => isInternalAddress(a.address))
      if (!allowPrivate && blocked.length) return reject(new BlockedAddressError(`${hostname} resolves to an internal address`))
      resolve(addresses.map((a) => a.address))
    })
  })
}

export interface Dispatchers {
  /** For hosts ops configured. */
  standard: Dispatcher
  /** For hosts that came from user input. */
  guarded: Dispatcher
  allowPrivate: boolean
  close(): Promise<void>
}

export function createDispatchers(options: { extraCaPem?: string; allowPrivate: boolean }): Dispatchers {
  const ca = options.extraCaPem ? [...rootCertificates, options.extraCaPem] : undefined
  const standard = new Agent({ connections: 32, keepAliveTimeout: 10_000, ...(ca ? { connect: { ca } } : {}) })
  const guarded = new Agent({
    connections: 8,
    keepAliveTimeout: 10_000,
    connect: {
      ...(ca ? { ca } : {}),
      lookup(hostname: string, lookupOptions: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) {
        dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses: LookupAddress[]) => {
          if (err) return callback(err, [])
          if (!options.allowPrivate && addresses.some((a) => isInternalAddress(a.address))) {
            return callback(new BlockedAddressError(`${hostname} resolves to an internal address`), [])
          }
          const all = (lookupOptions as { all?: boolean }).all
          if (all) return callback(null, addresses)
          callback(null, addresses[0]!.address, addresses[0]!.family)
        })
      },
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

/** Which dispatcher and timeout a call to a provider uses. */
export class ProviderNetwork {
  constructor(
    private dispatchers: Dispatchers,
    readonly timeoutMs: number,
  ) {}

  get allowPrivate(): boolean {
    return this.dispatchers.allowPrivate
  }

  http(provider: object): { timeoutMs: number; dispatcher: Dispatcher } {
    const guarded = 'userSuppliedHosts' in provider && provider.userSuppliedHosts === true
    return { timeoutMs: this.timeoutMs, dispatcher: guarded ? this.dispatchers.guarded : this.dispatchers.standard }
  }

  close(): Promise<void> {
    return this.dispatchers.close()
  }
}
