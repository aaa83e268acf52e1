// Request ids: every response echoes `x-request-id`, the id its log lines carry. A proxy
// the broker trusts (TRUST_PROXY, the same peers whose X-Forwarded-For Fastify believes)
// may set it so one id follows a request across services; from anyone else, or when
// malformed, the header is ignored and the broker generates an id.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { Config } from '../config.js'
import { REQUEST_ID_PATTERN } from './openapi-refine.js'

const WELL_FORMED = new RegExp(REQUEST_ID_PATTERN)

/** Whether the peer is a trusted proxy, as Fastify decides it (a hop count alone trusts no peer). */
function trustedPeer(trustProxy: Config['trustProxy']): (address: string) => boolean {
  if (trustProxy === true) return () => true
  if (trustProxy === false || typeof trustProxy === 'number') return () => false
  const trust = proxyAddr.compile(trustProxy)
  return (address) => trust(address, 0)
}

/** Fastify's `genReqId`. */
export function requestIdGenerator(trustProxy: Config['trustProxy']): (req: IncomingMessage) => string {
  const trusted = trustedPeer(trustProxy)
  return (req) => {
    const header = req.headers['x-request-id']
    const address = req.socket?.remoteAddress
    if (typeof header === 'string' && WELL_FORMED.test(header) && address && trusted(address)) return header
    return randomUUID()
  }
}
