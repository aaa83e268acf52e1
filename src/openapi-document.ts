// Builds the OpenAPI document from the route schemas, without a database: the app is
// built (no I/O happens until services start) and asked for its document.
import { stringify } from 'yaml'
import pino from 'pino'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { openDatabase } from './store/db.js'
import { generateEncryptionKey, Keyring, parseEncryptionKeys } from './store/encryption.js'

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const log = pino({ level: 'silent' })
  const config = loadConfig({ PUBLIC_URL: 'https://broker.example.com' })
  // Never connected: building the app does no I/O.
  const db = openDatabase('postgresql://unused@127.0.0.1:1/unused', { poolSize: 2, log })
  const app = await buildApp(config, { db, log, keyring: new Keyring(parseEncryptionKeys(generateEncryptionKey())) })
  await app.ready()
  const document = app.swagger() as unknown as Record<string, unknown>
  await app.close()
  await db.close()
  return document
}

export async function openApiYaml(): Promise<string> {
  const header =
    '# Generated from the route schemas by `npm run openapi`; test/http/openapi.test.ts fails when they differ.\n'
  return header + stringify(await openApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false })
}
