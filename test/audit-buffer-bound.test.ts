// The audit buffer of handed-out tokens stays bounded while the database cannot take the
// events: the oldest leave first and each one dropped is counted (the 250 MB budget of a
// replica, docs/performance.md).
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { AuditLog } from '../src/audit/audit-log.js'
import { systemClock } from '../src/clock.js'
import { Metrics } from '../src/metrics.js'
import type { Database } from '../src/store/db.js'

describe('AuditLog buffer', () => {
  it('holds at most 50,000 events, dropping and counting the oldest', async () => {
    const metrics = new Metrics()
    // Never started and never flushed: a database that takes nothing.
    const audit = new AuditLog({} as Database, systemClock, pino({ level: 'silent' }), metrics)
    for (let i = 0; i < 50_010; i++) audit.record({ type: 'connection.token_vended', actor: `svc-${i}` })
    const buffer = (audit as unknown as { buffer: Array<{ actor: string }> }).buffer
    expect(buffer).toHaveLength(50_000)
    expect(buffer[0]!.actor).toBe('svc-10')
    expect((await metrics.auditEventsDropped.get()).values[0]!.value).toBe(10)
    expect((await metrics.auditBuffer.get()).values[0]!.value).toBe(50_000)
  })
})
