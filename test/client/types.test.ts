// The client's checked-in API types are what openapi-typescript makes of openapi.yaml
// (regenerate with `npm run client:types`), so the client cannot drift from the API.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs script without declarations
import { clientTypes, TYPES_FILE } from '../../scripts/client-types.mjs'

describe('client/src/generated/api.ts', () => {
  it('is exactly what openapi-typescript generates from openapi.yaml (npm run client:types)', async () => {
    const generated = (await clientTypes()) as string
    expect(generated).toContain('getAccessToken')
    expect(readFileSync(TYPES_FILE as URL, 'utf8')).toBe(generated)
  })
})
