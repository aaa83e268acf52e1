// callerOf: how /v1 handlers read the caller the broker-token hook set. A request the hook
// did not see (a route registered outside the /v1 scope by mistake) is refused, never
// served as nobody.
import type { FastifyRequest } from 'fastify'
import { describe, expect, it } from 'vitest'
import { callerOf, type Caller } from '../../src/http/auth.js'

const caller: Caller = {
  clientId: 'billing',
  scopes: ['tokens:read'],
  claims: {
    iss: 'https://broker.example.com',
    sub: 'billing',
    aud: 'https://broker.example.com',
    exp: 2,
    iat: 1,
    jti: 'j',
    client_id: 'billing',
    scope: 'tokens:read',
  },
}

describe('callerOf', () => {
  it('returns the caller the hook set', () => {
    expect(callerOf({ caller } as FastifyRequest)).toBe(caller)
  })

  it('refuses with 401 unauthorized when the hook set none', () => {
    expect(() => callerOf({ caller: null } as FastifyRequest)).toThrow(
      expect.objectContaining({ code: 'unauthorized', status: 401 }),
    )
  })
})
