// `config check`: the environment and the providers file, validated as the server would
// at start-up, without opening the database or starting anything. Exit 0, or 2 with the
// problems (the same exit code as a server that refuses to start).
import { ConfigError, loadConfig } from '../config.js'
import { print, type Command } from './command.js'
import { fields } from './table.js'

export const configCheck: Command = {
  name: 'config check',
  synopsis: '',
  summary: 'validate the environment and the providers file without starting anything (exit 0 or 2)',
  needs: 'config',
  async run() {
    let config: ReturnType<typeof loadConfig>
    try {
      config = loadConfig(process.env, undefined, { server: true })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      process.stderr.write(`${err.message}\n`)
      return 2
    }
    // What was understood; never a value of a secret.
    print(
      fields([
        ['configuration', 'ok'],
        ['public URL', config.publicUrl],
        ['database', config.databaseUrl ? 'external (DATABASE_URL)' : `embedded, under ${config.dataDir}`],
        ['providers file', config.providersFile ?? '(none: built-in catalog only)'],
        ['providers', [...config.providers.keys()].join(', ') || '(none)'],
      ]),
    )
    return 0
  },
}
