// Prisma's query compiler is WebAssembly. By default V8 compiles it twice (Liftoff at once,
// then TurboFan for hot functions), and the memory of the second compilation stays with the
// process: about 70 MB of a replica's 250 MB budget (docs/performance.md, scale). Liftoff
// alone is enough here: the per-call request paths (token vending, cache misses, list
// pages) do not go through Prisma. Imported first by main.ts, before any WebAssembly loads.
import { setFlagsFromString } from 'node:v8'

setFlagsFromString('--liftoff-only')
