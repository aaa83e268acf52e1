// Where the encryption keys come from: ENCRYPTION_KEY, or, with the embedded development
// database only, a key generated once into DATA_DIR/encryption.key (with a warning).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { generateEncryptionKey, Keyring, parseEncryptionKeys, type EncryptionKey } from './encryption.js'

/** The parts of the configuration that choose the keys (store/ does not import config.ts). */
export interface KeyringSettings {
  encryptionKeys: EncryptionKey[] | undefined
  databaseUrl: string | undefined
  dataDir: string
}

export function resolveKeyring(config: KeyringSettings, log: Logger): Keyring {
  if (config.encryptionKeys) return new Keyring(config.encryptionKeys)
  // Config already refuses this.
  if (config.databaseUrl) throw new Error('ENCRYPTION_KEY is required with an external database')
  const file = join(config.dataDir, 'encryption.key')
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o755 })
    writeFileSync(file, `${generateEncryptionKey()}\n`, { mode: 0o600, flag: 'wx' })
    chmodSync(file, 0o600)
    log.warn(
      { file },
      'ENCRYPTION_KEY is not set: generated a development key. ' +
        'Set ENCRYPTION_KEY (and back it up) for any real deployment',
    )
  } else {
    log.warn({ file }, 'ENCRYPTION_KEY is not set: using the development key from DATA_DIR')
  }
  return new Keyring(parseEncryptionKeys(readFileSync(file, 'utf8').trim()))
}
