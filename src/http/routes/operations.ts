// Liveness, readiness and Prometheus metrics for orchestrators and monitoring.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Services } from '../../services.js'
import { pendingMigrations } from '../../store/migrate.js'
import { json, problems, problemSchema, shuttingDown } from '../schemas/common.js'
import { type DATABASE_CHECKS, Health, type MIGRATION_CHECKS, Readiness } from '../schemas/operations.js'

export const operationRoutes: FastifyPluginAsyncTypebox<Services> = async (app, { db, metrics, migrations }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness: the process is up',
        tags: ['operations'],
        response: { 200: json('Up', Health), ...problems(500), ...shuttingDown() },
      },
      config: { quietLog: true },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: database reachable and migrations applied',
        tags: ['operations'],
        response: {
          200: json('Ready', Readiness),
          ...problems(500),
          // Not ready (database or migrations), or shutting down (problem+json, code shutting_down).
          503: {
            description: 'Not ready (body: the failing check), or shutting down (problem+json, code: shutting_down)',
            content: {
              'application/json': { schema: Readiness },
              'application/problem+json': { schema: problemSchema(['shutting_down'], 'ShuttingDownProblem') },
            },
          },
        },
      },
      config: { quietLog: true },
    },
    async (_request, reply) => {
      let database: (typeof DATABASE_CHECKS)[number] = 'ok'
      let migrationState: (typeof MIGRATION_CHECKS)[number] = 'unknown'
      try {
        const pending = await withTimeout(pendingMigrations(db.pool, migrations), 2_000)
        migrationState = pending.length ? 'pending' : 'ok'
      } catch {
        database = 'unreachable'
      }
      const ready = database === 'ok' && migrationState === 'ok'
      return reply
        .code(ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .send({ status: ready ? 'ready' : 'unavailable', checks: { database, migrations: migrationState } })
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        tags: ['operations'],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...problems(500),
          ...shuttingDown(),
        },
      },
      config: { quietLog: true },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType)
      return metrics.registry.metrics()
    },
  )
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms)
    }),
  ])
}
