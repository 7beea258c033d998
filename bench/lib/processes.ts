/**
 * Child processes of a benchmark (`bin/hive.js …`), killed at the end, on error, on SIGINT and
 * at exit; and the CPU time of any process, read from /proc (Linux), so a figure can report the
 * CPU a task costs across every process that handled it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const BIN = resolve(import.meta.dirname, '../../bin/hive.js')
const live = new Set<ChildProcess>()

export interface BenchProcess {
  readonly pid: number
  /** The last 20 000 characters it wrote (stdout and stderr), for error messages. */
  output(): string
  readonly exited: Promise<number | null>
}

/** Starts `node ...nodeArgs bin/hive.js ...args`; its output is kept, not shown. */
export function startHiveProcess(
  args: string[],
  o: { env?: Record<string, string>; nodeArgs?: string[] } = {},
): BenchProcess {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), BIN, ...args], {
    cwd: resolve(import.meta.dirname, '../..'),
    env: { ...process.env, HIVE_LOG_FORMAT: 'json', HIVE_LOG_LEVEL: 'warn', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let out = ''
  const keep = (d: Buffer) => {
    out = (out + d).slice(-20_000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      live.delete(child)
      r(code)
    }),
  )
  return { pid: child.pid ?? -1, output: () => out, exited }
}

/** SIGTERM to every live child, SIGKILL to those still there after `graceMs`; resolves when all are gone. */
export async function stopHiveProcesses(graceMs = 3000): Promise<void> {
  const children = [...live]
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((done) => {
          if (c.exitCode !== null || c.signalCode !== null) return done()
          const t = setTimeout(() => c.kill('SIGKILL'), graceMs)
          c.once('exit', () => {
            clearTimeout(t)
            done()
          })
          c.kill('SIGTERM')
        }),
    ),
  )
}

process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

/** User + system CPU milliseconds a process has used so far (0 when it cannot be read). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name), in clock ticks (100/s).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}
