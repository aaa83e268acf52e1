// The broker as a separate process, started with the very command of `npm start` and of
// the Docker image (`node dist/main.js`), for start-up, shutdown and multi-replica tests.
// Its output goes to the run-wide secrets check when it ends (test/support/secrets.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { appendLogLines, registerEnvSecrets } from './secrets.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const START_COMMAND = ['dist/main.js']

export interface BrokerProcess {
  proc: ChildProcess
  url: string
  output: string[]
  /** Milliseconds from spawn until /readyz answered 200. */
  waitReady(timeoutMs?: number): Promise<number>
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
}

export function spawnBroker(options: {
  env: Record<string, string>
  cwd?: string
  port: number /** A file descriptor for the output instead of capturing it. */
  stdio?: number
}): BrokerProcess {
  const started = Date.now()
  registerEnvSecrets(options.env)
  const proc = spawn(process.execPath, [`${ROOT}/${START_COMMAND[0]}`], {
    cwd: options.cwd ?? ROOT,
    // Only what the test sets: no inherited configuration.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(options.port), HOST: '127.0.0.1', ...options.env },
    stdio: options.stdio === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', options.stdio, options.stdio],
  })
  const output: string[] = []
  proc.stdout?.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)))
  proc.stderr?.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  // 'close' comes after the last output chunk.
  proc.on('close', () => appendLogLines(output))
  const url = `http://127.0.0.1:${options.port}`
  return {
    proc,
    url,
    output,
    exited,
    async waitReady(timeoutMs = 20_000) {
      let done = false
      void exited.then(() => (done = true))
      while (Date.now() - started < timeoutMs && !done) {
        try {
          const res = await fetch(`${url}/readyz`)
          if (res.status === 200) return Date.now() - started
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`broker not ready after ${Date.now() - started} ms; output:\n${output.join('\n')}`)
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
