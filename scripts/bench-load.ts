// A small load generator for the scale benchmark (scripts/bench-scale.ts), run in its own
// process: like autocannon, but each request takes a path drawn at random from a file, so
// the load can spread over a million connections (autocannon repeats one request).
// Usage: node --import tsx scripts/bench-load.ts <json options>; prints one JSON result.
import { readFileSync } from 'node:fs'
import { Pool } from 'undici'

interface LoadOptions {
  origin: string
  /** A file of request paths, one a line; each request picks one at random. */
  pathsFile: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  connections: number
  durationSeconds: number
}

export interface LoadResult {
  requests: number
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
}

/** The q-quantile of sorted latencies (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  if (!sorted.length) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

async function run(options: LoadOptions): Promise<LoadResult> {
  const paths = readFileSync(options.pathsFile, 'utf8').split('\n').filter(Boolean)
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1 })
  const latencies: number[] = []
  let errors = 0
  let non2xx = 0
  const started = performance.now()
  const deadline = started + options.durationSeconds * 1000
  const worker = async () => {
    while (performance.now() < deadline) {
      const path = paths[Math.floor(Math.random() * paths.length)]!
      const t0 = performance.now()
      try {
        const res = await pool.request({
          path,
          method: options.method,
          headers: options.headers,
          ...(options.body !== undefined ? { body: options.body } : {}),
        })
        await res.body.dump()
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++
        latencies.push(performance.now() - t0)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: options.connections }, worker))
  const elapsed = (performance.now() - started) / 1000
  await pool.close()
  const sorted = Float64Array.from(latencies).sort()
  const round = (n: number) => Math.round(n * 100) / 100
  return {
    requests: latencies.length,
    rps: Math.round(latencies.length / elapsed),
    p50: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    errors,
    non2xx,
  }
}

if (process.argv[2]) {
  run(JSON.parse(process.argv[2]) as LoadOptions).then(
    (result) => {
      process.stdout.write(JSON.stringify(result))
      process.exit(0)
    },
    (err: unknown) => {
      console.error(err)
      process.exit(1)
    },
  )
}
