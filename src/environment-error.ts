import { BrokerError } from './errors.js'

/**
 * The machine, not the configuration, keeps the broker from starting (a folder it cannot
 * use, a port taken, a database already running): the message is one paragraph naming the
 * cause and the fix, and the process exits with code 2.
 */
export class EnvironmentError extends BrokerError<'broken_environment'> {
  constructor(message: string) {
    super('broken_environment', message)
  }
}
