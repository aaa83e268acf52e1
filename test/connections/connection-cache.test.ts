// The connection cache stays bounded however many connections callers spread over, and the
// rows callers keep asking for stay in it (least recently used leave first).
import { describe, expect, it } from 'vitest'
import { ConnectionCache, MAX_ENTRIES } from '../../src/connections/connection-cache.js'
import type { ConnectionRow } from '../../src/connections/connection-store.js'
import type { ChangeFeed } from '../../src/store/changes.js'

/** A change feed that is connected and never announces anything: only the bound evicts. */
const quietFeed = { connected: true, subscribe: () => () => undefined } as unknown as ChangeFeed

const row = (id: string) => ({ id, namespace: 'default', status: 'active' }) as ConnectionRow

describe('ConnectionCache bound', () => {
  it('never holds more than its bound, with the default bound at 10,000 rows', async () => {
    expect(MAX_ENTRIES).toBe(10_000)
    const cache = new ConnectionCache(quietFeed)
    for (let i = 0; i < 3 * MAX_ENTRIES; i++) await cache.read(`conn_${i}`, async () => row(`conn_${i}`))
    expect(cache.size).toBe(MAX_ENTRIES)
    expect(cache.get(`conn_${3 * MAX_ENTRIES - 1}`)?.id).toBe(`conn_${3 * MAX_ENTRIES - 1}`)
    expect(cache.get('conn_0')).toBeUndefined()
  })

  it('evicts the least recently used row, not the oldest: a hot row stays', async () => {
    const cache = new ConnectionCache(quietFeed, 60_000, 3)
    let loads = 0
    const load = (id: string) => async () => {
      loads++
      return row(id)
    }
    await cache.read('hot', load('hot'))
    for (const id of ['a', 'b', 'c', 'd']) {
      await cache.read(id, load(id))
      await cache.read('hot', load('hot'))
    }
    expect(loads).toBe(5)
    expect(cache.size).toBe(3)
    expect(cache.get('hot')?.id).toBe('hot')
    expect(cache.get('a')).toBeUndefined()
  })

  it('keeps a row used within the last half-bound insertions, and lets a forgotten one go', async () => {
    const cache = new ConnectionCache(quietFeed, 60_000, 100)
    let hotLoads = 0
    const hot = async () => {
      hotLoads++
      return row('hot')
    }
    await cache.read('hot', hot)
    await cache.read('cold', async () => row('cold'))
    for (let i = 0; i < 1_000; i++) {
      await cache.read(`conn_${i}`, async () => row(`conn_${i}`))
      if (i % 40 === 0) await cache.read('hot', hot)
    }
    expect(hotLoads).toBe(1)
    expect(cache.size).toBe(100)
    expect(cache.get('cold')).toBeUndefined()
  })

  it('does not count a row put twice twice', () => {
    const cache = new ConnectionCache(quietFeed, 60_000, 2)
    cache.put(row('x'))
    cache.put(row('x'))
    cache.put(row('y'))
    expect(cache.size).toBe(2)
    expect(cache.get('x')?.id).toBe('x')
  })
})
