import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests talk to real servers on 127.0.0.1; nothing may wait forever.
    teardownTimeout: 20_000,
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
})
