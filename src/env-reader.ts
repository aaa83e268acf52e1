// Reading environment variables for the configuration (config.ts): trimmed strings, secrets
// from NAME or NAME_FILE, booleans and bounded integers, each problem collected by name.
export type Env = Record<string, string | undefined>
export type ReadFile = (path: string) => string

export class EnvReader {
  constructor(
    private env: Env,
    private readFile: ReadFile,
    private problems: string[],
  ) {}

  string(name: string): string | undefined {
    const v = this.env[name]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }

  /** A secret may come from NAME or from the file named by NAME_FILE (mounted secrets). */
  secret(name: string): string | undefined {
    const direct = this.string(name)
    const file = this.string(`${name}_FILE`)
    if (direct !== undefined && file !== undefined) {
      this.problems.push(`${name}: set both ${name} and ${name}_FILE; keep one`)
      return undefined
    }
    if (file === undefined) return direct
    try {
      const v = this.readFile(file).trim()
      if (v === '') this.problems.push(`${name}_FILE: ${file} is empty`)
      return v || undefined
    } catch (err) {
      this.problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      return undefined
    }
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (raw === 'true' || raw === '1') return true
    if (raw === 'false' || raw === '0') return false
    this.problems.push(`${name}: must be true or false`)
    return fallback
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}: must be an integer from ${min} to ${max}`)
      return fallback
    }
    return Number(raw)
  }
}
