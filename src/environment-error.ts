/**
 * The machine, not the configuration, keeps the broker from starting (a folder it cannot
 * use, a port taken, a database already running): the message is one paragraph naming the
 * cause and the fix, and the process exits with code 2.
 */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'EnvironmentError'
  }
}
