import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ExecutorConfigError } from './ExecutorConfigError.ts'
import { forgetProcessGroup, killLeftoverProcessGroups, recordProcessGroup } from './leftoverProcesses.ts'
import { resolveExecutable } from './resolveExecutable.ts'
import { type ProcessOutcome, runProcess } from './runProcess.ts'
import type { ExecutionContext, ExecutionResult, Executor } from './types.ts'

export interface CommandExecutorOptions {
  /** Run with no shell: `argv[0]` is looked up on PATH, the rest are passed as they are. */
  argv?: string[]
  /** A shell line written by a workflow's author, run as `sh -c LINE`. Never built from task input. */
  shell?: string
  /** Added to the inherited environment. */
  env?: Record<string, string>
  /** Used when the task has no `timeout` of its own. */
  timeoutMs?: number
  /** Time between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number
  /** Bytes of stdout, and of stderr, kept (the tail). Default 1 MiB. */
  maxOutputBytes?: number
}

/** Input JSON larger than this goes to a file (`HIVE_INPUT_FILE`): Linux caps one env string at 128 KiB. */
const MAX_ENV_INPUT = 100_000
const INPUT_FILE = 'hive-input.json'
const OUTPUT_FILE = 'output.json'
const STDERR_IN_ERROR = 2000

/**
 * An executor that runs a process per task. Task input reaches the process only as data: JSON on
 * stdin and in `HIVE_INPUT`, never spliced into a command line. Also set: `HIVE_TASK_ID`,
 * `HIVE_ATTEMPT`, `HIVE_TASK_TYPE`, `HIVE_WORKSPACE`; cwd is the workspace.
 *
 * Output: an `output.json` the process writes in the workspace wins; else stdout parsed as JSON;
 * else `{ stdout }` (trimmed). Exit 0 is success; anything else fails with the exit code or signal
 * and the end of stderr in `error`.
 *
 * @example createCommandExecutor({ argv: ['python3', 'review.py', '--strict'], timeoutMs: 60_000 })
 * @example createCommandExecutor({ shell: 'npm test 2>&1 | tail -n 50' })
 * @throws ExecutorConfigError unless exactly one of `argv` (non-empty) and `shell` is given.
 */
export function createCommandExecutor(opts: CommandExecutorOptions): Executor {
  if ((opts.argv === undefined) === (opts.shell === undefined)) {
    throw new ExecutorConfigError('a command executor needs exactly one of argv or shell')
  }
  if (opts.argv !== undefined && (opts.argv.length === 0 || opts.argv[0] === '')) {
    throw new ExecutorConfigError('a command executor needs a non-empty argv')
  }
  if (opts.shell !== undefined && opts.shell.trim() === '') {
    throw new ExecutorConfigError('a command executor needs a non-empty shell line')
  }
  const argv = opts.argv ? [...opts.argv] : ['sh', '-c', opts.shell as string]
  const killGraceMs = opts.killGraceMs ?? 2000
  const maxOutputBytes = opts.maxOutputBytes ?? 1024 * 1024
  const baseEnv = { ...process.env, ...opts.env }
  const running = new Map<AbortController, Promise<ExecutionResult>>()

  const run = async (ctx: ExecutionContext, signal: AbortSignal): Promise<ExecutionResult> => {
    const ws = ctx.workspace
    if (!(await isDirectory(ws))) return { status: 'failed', error: `workspace ${ws} does not exist` }
    const input = JSON.stringify(ctx.task.input ?? null)
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      HIVE_TASK_ID: ctx.task.task_id,
      HIVE_ATTEMPT: String(ctx.attempt),
      HIVE_TASK_TYPE: ctx.task.task_type,
      HIVE_WORKSPACE: ws,
    }
    if (input.length <= MAX_ENV_INPUT) env.HIVE_INPUT = input
    else {
      await writeFile(join(ws, INPUT_FILE), input)
      env.HIVE_INPUT_FILE = join(ws, INPUT_FILE)
    }
    const outputBefore = await mtimeOf(join(ws, OUTPUT_FILE))
    // A run of this task left behind by a Hive process that was killed outright: end it first.
    await killLeftoverProcessGroups(ws)
    let recorded: Promise<void> | undefined
    const timeoutMs = ctx.task.timeout !== undefined ? ctx.task.timeout * 1000 : opts.timeoutMs
    const outcome = await runProcess({
      argv,
      cwd: ws,
      env,
      stdin: input,
      timeoutMs,
      killGraceMs,
      maxOutputBytes,
      signal,
      onStdoutLine: ctx.onProgress,
      onSpawn: (pid) => {
        recorded = recordProcessGroup(ws, ctx.attempt, pid)
      },
    })
    await recorded
    await forgetProcessGroup(ws, ctx.attempt)
    return interpret(outcome, { argv, ws, timeoutMs, killGraceMs, outputBefore })
  }

  return {
    kind: 'command',
    execute(ctx) {
      // One controller per run, so close() can end every run without touching the callers' signals.
      const ac = new AbortController()
      const forward = (): void => ac.abort()
      if (ctx.signal.aborted) ac.abort()
      else ctx.signal.addEventListener('abort', forward, { once: true })
      const p = run(ctx, ac.signal)
        .catch((err: unknown) => ({
          status: 'failed' as const,
          error: `command executor: ${errorMessage(err)}`,
        }))
        .finally(() => {
          ctx.signal.removeEventListener('abort', forward)
          running.delete(ac)
        })
      running.set(ac, p)
      return p
    },
    async healthCheck() {
      return (await resolveExecutable(argv[0], baseEnv)) !== undefined
    },
    async close() {
      const runs = [...running.values()]
      for (const ac of running.keys()) ac.abort()
      await Promise.allSettled(runs)
    },
  }
}

function interpret(
  o: ProcessOutcome,
  c: { argv: string[]; ws: string; timeoutMs?: number; killGraceMs: number; outputBefore?: number },
): Promise<ExecutionResult> | ExecutionResult {
  if (o.spawnError) return { status: 'failed', error: spawnMessage(c.argv[0], o.spawnError), exitCode: null }
  const stdout = o.stdout.text()
  let stderr = o.stderr.text()
  if (o.progressError !== undefined) stderr += `\n[hive: onProgress threw: ${errorMessage(o.progressError)}]`
  const base = { stdout, stderr, exitCode: o.exitCode, signal: o.signal }
  if (o.killedFor === 'timeout') {
    const how = o.escalated ? `SIGTERM, then SIGKILL after ${c.killGraceMs} ms` : 'SIGTERM'
    return { ...base, status: 'timeout', error: `timed out after ${c.timeoutMs} ms (${how})` }
  }
  if (o.killedFor === 'cancelled') return { ...base, status: 'cancelled', error: 'cancelled' }
  return readOutput(c.ws, c.outputBefore, stdout).then((out) => {
    const failure =
      o.exitCode === 0
        ? undefined
        : o.exitCode !== null
          ? `exited with code ${o.exitCode}`
          : `killed by signal ${o.signal ?? 'unknown'}`
    if (failure !== undefined) {
      const tail = stderr.trim().slice(-STDERR_IN_ERROR)
      return { ...base, status: 'failed', output: out.value, error: tail ? `${failure}: ${tail}` : failure }
    }
    if (out.error !== undefined) return { ...base, status: 'failed', error: out.error }
    return { ...base, status: 'success', output: out.value }
  })
}

async function readOutput(ws: string, before: number | undefined, stdout: string) {
  const file = join(ws, OUTPUT_FILE)
  const now = await mtimeOf(file)
  // A file left by an earlier run in the same workspace is not this run's output.
  if (now !== undefined && now !== before) {
    const text = await readFile(file, 'utf8')
    try {
      return { value: JSON.parse(text) as unknown }
    } catch (err) {
      return { value: undefined, error: `${OUTPUT_FILE} is not valid JSON: ${errorMessage(err)}` }
    }
  }
  const trimmed = stdout.trim()
  try {
    return { value: JSON.parse(trimmed) as unknown }
  } catch {
    // Plain text is a normal answer, not an error.
    return { value: { stdout: trimmed } }
  }
}

function spawnMessage(command: string, err: NodeJS.ErrnoException): string {
  const where = command.includes('/') ? 'no such file' : 'not found on PATH'
  if (err.code === 'ENOENT') return `cannot run "${command}": ${where} (ENOENT)`
  if (err.code === 'EACCES') return `cannot run "${command}": permission denied, is it executable? (EACCES)`
  return `cannot run "${command}": ${err.message}`
}

async function mtimeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mtimeMs
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
