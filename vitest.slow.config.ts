import { SLOW_TESTS, suite } from './vitest.config.js'

// `npm run test:slow`: the tests vitest.config.ts leaves out, one file at a time, so
// their timed fault windows do not share the cores with other files, each in a fresh
// process (a fault test may leave a broken pool or a stopped server behind).
export default suite('slow', { include: SLOW_TESTS, exclude: [] }, { maxWorkers: 1, isolate: true })
