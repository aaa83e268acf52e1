// The outbound policy for hosts users supply (Interact intranets): which addresses a name
// may resolve to, which URLs are refused before anything is sent, and the guarded
// dispatcher that checks the addresses at connect time, proven by counting connections at
// a local server the names would reach.
import { createServer, type Server } from 'node:http'
import type { LookupAddress } from 'node:dns'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendProviderRequest } from '../../src/oauth/http.js'
import {
  checkUserSuppliedUrl,
  classifyAddress,
  createDispatchers,
  isAllowedAddress,
  type ResolveHost,
} from '../../src/oauth/network.js'
import { ProviderError } from '../../src/oauth/provider-error.js'

describe('classifyAddress', () => {
  const cases: Record<'public' | 'private' | 'reserved', string[]> = {
    public: [
      '8.8.8.8',
      '1.1.1.1',
      '11.0.0.1',
      '100.128.0.1',
      '172.15.255.255',
      '172.32.0.1',
      '169.253.255.255',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ],
    private: [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '100.127.255.255',
      '::1',
      '0:0:0:0:0:0:0:1',
      'fc00::1',
      'fd00::1',
      'fd12:3456:789a::1',
      'fec0::1',
      // IPv4-mapped, in both notations
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::FFFF:10.0.0.1',
      '0:0:0:0:0:ffff:c0a8:101',
      // NAT64 and 6to4 carrying an internal IPv4 address
      '64:ff9b::a00:1',
      '64:ff9b::127.0.0.1',
      '2002:7f00:1::1',
      '64:ff9b:1::1',
    ],
    reserved: [
      '0.0.0.0',
      '0.1.2.3',
      '169.254.169.254',
      '169.254.0.1',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '192.0.0.1',
      '192.0.2.1',
      '198.18.0.1',
      '198.51.100.1',
      '203.0.113.1',
      '::',
      // IPv4-compatible (deprecated): ::7f00:1 is 127.0.0.1 in disguise
      '::7f00:1',
      '::127.0.0.1',
      '::a00:1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      'fe80::1%eth0',
      'febf::1',
      'ff02::1',
      '2001:db8::1',
      '2001::1',
      '100::1',
      '3fff::1',
      'localhost',
      '127.1',
      '',
    ],
  }
  for (const [expected, addresses] of Object.entries(cases)) {
    it(`classifies ${expected} addresses`, () => {
      expect(Object.fromEntries(addresses.map((a) => [a, classifyAddress(a)]))).toEqual(
        Object.fromEntries(addresses.map((a) => [a, expected])),
      )
    })
  }

  it('allows private addresses only when told to, reserved ones never', () => {
    expect([
      isAllowedAddress('8.8.8.8', false),
      isAllowedAddress('10.0.0.1', false),
      isAllowedAddress('10.0.0.1', true),
    ]).toEqual([true, false, true])
    expect([
      isAllowedAddress('169.254.169.254', true),
      isAllowedAddress('::7f00:1', true),
      isAllowedAddress('0.0.0.0', true),
    ]).toEqual([false, false, false])
  })
})

describe('checkUserSuppliedUrl', () => {
  const refused = (reason: string, urls: string[], allowPrivate = false) =>
    expect(Object.fromEntries(urls.map((u) => [u, checkUserSuppliedUrl(u, allowPrivate)]))).toEqual(
      Object.fromEntries(urls.map((u) => [u, reason])),
    )

  it('accepts https URLs of public hosts', () => {
    for (const url of [
      'https://acme.interactgo.com',
      'https://acme.interactgo.com/',
      'https://acme.interactgo.com/intranet',
      'https://acme.interactgo.com:8443',
      'https://8.8.8.8',
      'https://[2606:4700::1111]',
    ]) {
      expect(checkUserSuppliedUrl(url, false), url).toBeUndefined()
    }
  })

  it('refuses anything but https', () => {
    refused('must use https', [
      'http://acme.interactgo.com',
      'HTTP://acme.interactgo.com',
      'ftp://acme.interactgo.com',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'wss://acme.interactgo.com',
    ])
  })

  it('refuses internal IP literals in every spelling the URL parser accepts', () => {
    refused('points to an internal address', [
      'https://127.0.0.1',
      'https://127.1',
      'https://0x7f.1',
      'https://0177.0.0.1',
      'https://2130706433',
      'https://127.0.0.1.',
      'https://[::ffff:127.0.0.1]',
      'https://[::ffff:7f00:1]',
      'https://[::7f00:1]',
      'https://[::1]',
      'https://[::]',
      'https://0.0.0.0',
      'https://0',
      'https://10.0.0.1',
      'https://100.64.0.1',
      'https://192.168.0.1:8443',
      'https://[fd00::1]',
      'https://[fe80::1]',
      'https://169.254.169.254',
      'https://[::ffff:169.254.169.254]',
    ])
  })

  it('refuses names that only mean this machine or the local network, and trailing-dot names', () => {
    refused('points to an internal host name', [
      'https://localhost',
      'https://LOCALHOST:8443',
      'https://api.localhost',
      'https://intranet.local',
      'https://x.internal',
      'https://router.home.arpa',
    ])
    refused('must not end its host name with a dot', [
      'https://localhost.',
      'https://acme.interactgo.com.',
      'https://acme.interactgo.com.:443/x',
    ])
  })

  it('refuses credentials, queries, fragments, bad ports, whitespace and backslashes', () => {
    refused('must not contain credentials', [
      'https://user:pass@acme.interactgo.com',
      'https://user@acme.interactgo.com',
      'https://@acme.interactgo.com',
      'https://:@acme.interactgo.com',
      'https://acme.interactgo.com@evil.com',
    ])
    refused('must not contain a query or fragment', [
      'https://acme.interactgo.com/?next=http://evil',
      'https://acme.interactgo.com/?',
      'https://acme.interactgo.com#',
      'https://acme.interactgo.com/#frag',
    ])
    refused('has an invalid port', ['https://acme.interactgo.com:0'])
    refused('is not an absolute URL', ['https://acme.interactgo.com:99999', 'not-a-url', '', '//acme.interactgo.com'])
    refused('contains whitespace, control characters or backslashes', [
      'https://acme.interactgo.com\r\nX-Injected: 1',
      ' https://acme.interactgo.com',
      'https:\\\\evil.com',
      'https://acme.interactgo.com/\u0000',
      'https://acme.interactgo.com/a b',
    ])
  })

  it('with private addresses allowed: loopback and private pass, reserved and non-https do not', () => {
    for (const url of [
      'https://localhost:4443',
      'https://127.0.0.1',
      'https://[::1]',
      'https://10.0.0.1',
      'https://intranet.local',
    ]) {
      expect(checkUserSuppliedUrl(url, true), url).toBeUndefined()
    }
    refused(
      'points to an internal address',
      ['https://169.254.169.254', 'https://[fe80::1]', 'https://0.0.0.0', 'https://[::7f00:1]', 'https://224.0.0.1'],
      true,
    )
    refused('must use https', ['http://localhost'], true)
  })
})

describe('the guarded dispatcher', () => {
  let server: Server
  let port: number
  let connections = 0
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('{}'))
    server.on('connection', () => connections++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  /** A DNS that answers `addresses` for every name, and remembers what it was asked. */
  function fakeDns(addresses: LookupAddress[]) {
    const asked: string[] = []
    const resolveHost: ResolveHost = async (hostname) => {
      asked.push(hostname)
      return addresses
    }
    return { asked, resolveHost }
  }
  const v4 = (address: string): LookupAddress => ({ address, family: 4 })
  const v6 = (address: string): LookupAddress => ({ address, family: 6 })

  async function get(hostname: string, options: { allowPrivate: boolean; resolveHost: ResolveHost }) {
    const dispatchers = createDispatchers(options)
    try {
      return await sendProviderRequest(
        { method: 'GET', url: `http://${hostname}:${port}/info`, headers: {} },
        { timeoutMs: 5_000, dispatcher: dispatchers.guarded },
      ).then(
        (res) => ({ status: res.status }),
        (err: unknown) => {
          if (!(err instanceof ProviderError)) throw err
          return { failure: err.failure, code: err.code }
        },
      )
    } finally {
      await dispatchers.close()
    }
  }

  it('refuses, at connect time, a name that resolves to an internal address: no connection is made', async () => {
    for (const answer of [
      [v4('127.0.0.1')],
      [v4('10.0.0.1')],
      [v4('169.254.169.254')],
      [v6('::1')],
      [v6('::ffff:127.0.0.1')],
      [v4('8.8.8.8'), v4('127.0.0.1')],
    ]) {
      const dns = fakeDns(answer)
      const before = connections
      expect(
        await get('intranet.test', { allowPrivate: false, resolveHost: dns.resolveHost }),
        JSON.stringify(answer),
      ).toEqual({ failure: 'configuration', code: 'blocked_address' })
      expect(dns.asked).toEqual(['intranet.test'])
      expect(connections).toBe(before)
    }
  })

  it('connects when private addresses are allowed, but never to a reserved one', async () => {
    const before = connections
    expect(
      await get('intranet.test', { allowPrivate: true, resolveHost: fakeDns([v4('127.0.0.1')]).resolveHost }),
    ).toEqual({ status: 200 })
    expect(connections).toBe(before + 1)
    expect(
      await get('metadata.test', { allowPrivate: true, resolveHost: fakeDns([v4('169.254.169.254')]).resolveHost }),
    ).toEqual({ failure: 'configuration', code: 'blocked_address' })
    expect(connections).toBe(before + 1)
  })

  it('reports a name without addresses as host_not_found, a transient failure for configured providers', async () => {
    expect(await get('nowhere.test', { allowPrivate: false, resolveHost: fakeDns([]).resolveHost })).toEqual({
      failure: 'transient',
      code: 'host_not_found',
    })
  })
})
