// scrypt for operator-chosen secrets (the bootstrap client's), run in worker threads with
// scryptSync: off the libuv threadpool that DNS lookups for provider calls share, and at
// most `concurrency` at once, so a flood of guesses queues here instead of starving the
// process. Broker-generated secrets never come here (secrets.ts).
import { Worker } from 'node:worker_threads'

/** CommonJS run by each worker (eval: the same code serves src/ under tsx and dist/). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { scryptSync } = require('node:crypto')
parentPort.on('message', (job) => {
  try {
    const key = scryptSync(job.secret, Buffer.from(job.salt), job.keyLength, job.options)
    parentPort.postMessage({ key })
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) })
  }
})
`

export interface ScryptJob {
  secret: string
  salt: Buffer
  keyLength: number
  options: { N: number; r: number; p: number; maxmem: number }
}

interface Pending {
  resolve(key: Buffer): void
  reject(err: Error): void
}

export class SlowKdf {
  private idle: Worker[] = []
  private workers = 0
  private waiting: Array<(worker: Worker) => void> = []
  /** Each worker runs one job at a time. */
  private jobs = new Map<Worker, Pending>()
  private dead = new WeakSet<Worker>()
  /** Scrypt runs started: tests assert that wrong generated secrets never add to it. */
  runs = 0
  onRun: () => void = () => {}

  constructor(private concurrency = 2) {}

  async scrypt(job: ScryptJob): Promise<Buffer> {
    const worker = await this.acquire()
    this.runs++
    this.onRun()
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        this.jobs.set(worker, { resolve, reject })
        worker.postMessage(job)
      })
    } finally {
      this.jobs.delete(worker)
      this.release(worker)
    }
  }

  private acquire(): Promise<Worker> {
    const worker = this.idle.pop()
    if (worker) return Promise.resolve(worker)
    if (this.workers < this.concurrency) return Promise.resolve(this.spawn())
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  private release(worker: Worker): void {
    if (this.dead.has(worker)) {
      // Its slot is free again: a waiter gets a new worker.
      const next = this.waiting.shift()
      if (next) next(this.spawn())
      return
    }
    const next = this.waiting.shift()
    if (next) next(worker)
    else this.idle.push(worker)
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true })
    this.workers++
    // An idle worker must not keep the process alive.
    worker.unref()
    worker.on('message', (msg: { key?: Uint8Array; error?: string }) => {
      const job = this.jobs.get(worker)
      if (msg.error !== undefined || !msg.key) job?.reject(new Error(`scrypt failed: ${msg.error}`))
      else job?.resolve(Buffer.from(msg.key))
    })
    worker.on('error', (err) => this.lost(worker, err))
    worker.on('exit', () => this.lost(worker, new Error('scrypt worker exited')))
    return worker
  }

  /** A dead worker fails its job; its slot goes to the next caller. */
  private lost(worker: Worker, err: Error): void {
    if (this.dead.has(worker)) return
    this.dead.add(worker)
    this.workers--
    const at = this.idle.indexOf(worker)
    if (at >= 0) this.idle.splice(at, 1)
    this.jobs.get(worker)?.reject(err)
  }

  async close(): Promise<void> {
    const idle = this.idle
    this.idle = []
    await Promise.all(idle.map((w) => w.terminate()))
  }
}
