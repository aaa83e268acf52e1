import { defineConfig } from 'vitest/config'

/**
 * Long load and fault-injection tests: `npm run test:slow` (vitest.slow.config.ts) runs
 * them; `npm test` runs every other test file. .ci/run runs both.
 */
export const SLOW_TESTS = [
  // Outages, restarts, tampered rows and key rotation, under load, with timed windows.
  'test/faults/**/*.test.ts',
  // 200 connections through two replicas' refreshers.
  'test/connections/proactive-refresh.test.ts',
]

export function suite(
  name: 'fast' | 'slow',
  files: { include: string[]; exclude: string[] },
  workers: { maxWorkers: number; isolate: boolean },
) {
  return defineConfig({
    test: {
      name,
      ...files,
      globalSetup: ['test/support/global-setup.ts'],
      pool: 'forks',
      ...workers,
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // Tests talk to real servers on 127.0.0.1; nothing may wait forever.
      teardownTimeout: 20_000,
      reporters: process.env.CI ? ['verbose'] : ['default'],
    },
  })
}

// Two files at once (vitest's default on two cores is one): a file waits on sockets,
// processes and PostgreSQL part of the time. More would only share the cores thinner and
// stretch the timed tests. A worker process runs file after file without loading the
// broker's modules again (isolate: false; about 1.5 s of CPU per file): test files keep
// their state in their own module and close what they start.
export default suite('fast', { include: ['test/**/*.test.ts'], exclude: SLOW_TESTS }, { maxWorkers: 2, isolate: false })
