/**
 * Starts `hive` CLI processes (nodes, agents) for multi-process tests, and kills them all after
 * the test file even when it fails.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { afterAll } from 'vitest'

const BIN = resolve(import.meta.dirname, '../../bin/hive.js')
const live = new Set<ChildProcess>()

export interface HiveProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** What it printed to stdout and stderr so far (for failure messages). */
  output(): string
  kill9(): void
  /** SIGTERM and wait for exit (it drains). */
  stop(): Promise<number | null>
  exited: Promise<number | null>
}

export function startHive(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): HiveProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? resolve(import.meta.dirname, '../..'),
    env: { ...process.env, HIVE_LOG_FORMAT: 'json', HIVE_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let out = ''
  child.stdout?.on('data', (d) => {
    out = (out + d).slice(-20_000)
  })
  child.stderr?.on('data', (d) => {
    out = (out + d).slice(-20_000)
  })
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      live.delete(child)
      r(code)
    }),
  )
  return {
    child,
    pid: child.pid!,
    output: () => out,
    kill9: () => child.kill('SIGKILL'),
    async stop() {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(t)
      return code
    },
    exited,
  }
}

/** Runs a hive command to its end; resolves with exit code and output. */
export async function runHive(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? resolve(import.meta.dirname, '../..'),
    env: { ...process.env, HIVE_LOG_FORMAT: 'json', HIVE_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => (stdout += d))
  child.stderr?.on('data', (d) => (stderr += d))
  // 'close', not 'exit': output can still be in the pipes when the process has exited.
  const code = await new Promise<number | null>((r) => child.on('close', r))
  live.delete(child)
  return { code, stdout, stderr }
}

function killAll() {
  for (const c of live) c.kill('SIGKILL')
  live.clear()
}

afterAll(killAll)
process.on('exit', killAll)
