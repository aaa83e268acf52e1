// Writes the client's API types (client/src/generated/api.ts) from openapi.yaml:
// `npm run client:types`. test/client/types.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'

const ROOT = new URL('..', import.meta.url)
export const TYPES_FILE = new URL('client/src/generated/api.ts', ROOT)

const HEADER =
  '// Generated from openapi.yaml by `npm run client:types` (openapi-typescript); do not edit.\n' +
  '// test/client/types.test.ts fails when it differs from what openapi.yaml gives.\n'

/** The generated types for the document at openapi.yaml. */
export async function clientTypes() {
  const ast = await openapiTS(readFileSync(new URL('openapi.yaml', ROOT), 'utf8'), { exportType: false })
  return HEADER + astToString(ast)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(TYPES_FILE, await clientTypes())
  console.log('client/src/generated/api.ts written')
}
