// `npm test` and `npm run test:slow`: each step in order, stopping at the first failure,
// then the wall time of each step and of the whole command.
//   npm test            lint (Biome: format and lint), type-check, build, vitest (vitest.config.ts)
//   npm run test:slow   build, vitest (vitest.slow.config.ts: load and fault tests)
// Arguments after `--` go to vitest (e.g. `npm test -- test/http`).
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const slow = process.argv[2] === '--slow'
const vitestArgs = process.argv.slice(slow ? 3 : 2)
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm']
const vitest = [
  process.execPath,
  join(root, 'node_modules/vitest/vitest.mjs'),
  'run',
  ...(slow ? ['--config', 'vitest.slow.config.ts'] : []),
  ...vitestArgs,
]

const steps = [
  ...(slow
    ? []
    : [
        ['lint', [...npm, 'run', 'lint']],
        ['typecheck', [...npm, 'run', 'typecheck']],
      ]),
  ['build', [...npm, 'run', 'build']],
  ['vitest', vitest],
]

const started = Date.now()
const times = []
let status = 0
for (const [name, [command, ...args]] of steps) {
  const at = Date.now()
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  times.push(`${name} ${seconds(Date.now() - at)}`)
  status = result.status ?? 1
  if (status !== 0) break
}
console.log(
  `\n${slow ? 'npm run test:slow' : 'npm test'}: ${seconds(Date.now() - started)} ` +
    `(${times.join(', ')})${status ? ', FAILED' : ''}`,
)
process.exitCode = status

function seconds(ms) {
  return `${Math.round(ms / 1000)} s`
}
