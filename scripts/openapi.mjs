// Writes openapi.yaml from the route schemas (run after a build: `npm run openapi`).
import { writeFileSync } from 'node:fs'
import { openApiYaml } from '../dist/openapi-document.js'

writeFileSync(new URL('../openapi.yaml', import.meta.url), await openApiYaml())
console.log('openapi.yaml written')
