import { stringify as toYaml } from 'yaml'

export type OutputFormat = 'json' | 'yaml' | 'table'

/** Exit codes that mean something: scripts can tell bad input from a failed task from a dead hive. */
export const EXIT = {
  ok: 0,
  /** A task or workflow ran and did not succeed. */
  failed: 1,
  /** Bad input: flags, files, values. */
  usage: 2,
  /** The hive could not be reached, or timed out. */
  unavailable: 3,
  /** Interrupted by a signal. */
  interrupted: 130,
} as const

export function parseFormat(v: string | undefined): OutputFormat {
  const f = (v ?? 'table').toLowerCase()
  if (f !== 'json' && f !== 'yaml' && f !== 'table') {
    throw new CliError(`--output must be json, yaml or table, got ${JSON.stringify(v)}`, EXIT.usage)
  }
  return f
}

/** An error the CLI prints as one line and exits with its code. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** Prints a value: JSON (one line), YAML, or a table of `columns` for arrays of records. */
export function print(value: unknown, format: OutputFormat, columns?: string[]): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(value)}\n`)
    return
  }
  if (format === 'yaml') {
    process.stdout.write(toYaml(value))
    return
  }
  const rows = Array.isArray(value) ? value : [value]
  process.stdout.write(table(rows as Record<string, unknown>[], columns))
}

export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)\n'
  const cols = columns ?? Object.keys(rows[0])
  const cell = (v: unknown) => {
    if (v === undefined || v === null) return ''
    if (typeof v === 'object') return JSON.stringify(v)
    return String(v)
  }
  const data = rows.map((r) => cols.map((c) => cell(r[c]).slice(0, 60)))
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i].length)))
  const line = (cells: string[]) =>
    `${cells
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd()}\n`
  return line(cols.map((c) => c.toUpperCase())) + data.map(line).join('')
}

/** A one-line progress bar on a TTY (stderr); silent otherwise. */
export function createProgress(total: number, label: string, enabled = process.stderr.isTTY === true) {
  let done = 0
  let failed = 0
  const start = Date.now()
  const draw = () => {
    if (!enabled) return
    const width = 30
    const filled = total ? Math.round((done / total) * width) : width
    const secs = ((Date.now() - start) / 1000).toFixed(1)
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${failed ? ` (${failed} failed)` : ''} ${secs}s`,
    )
  }
  draw()
  return {
    tick(ok = true) {
      done++
      if (!ok) failed++
      draw()
    },
    end() {
      if (enabled) process.stderr.write('\n')
    },
  }
}
