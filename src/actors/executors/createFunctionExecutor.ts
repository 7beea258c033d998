import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Task } from '../../schema/domain.ts'
import { ExecutorConfigError } from './ExecutorConfigError.ts'
import type { ExecutionResult, Executor } from './types.ts'

/** What a task function gets besides the task. */
export interface TaskFunctionContext {
  /** Aborted on cancellation or timeout: a function that runs long should listen to it. */
  signal: AbortSignal
  attempt: number
  workspace: string
}

export type TaskFunction = (task: Task, ctx: TaskFunctionContext) => unknown

export type FunctionExecutorOptions = { module: string; export?: string } | { fn: TaskFunction }

/**
 * An executor that calls a JS/TS function in this process: its resolved value is the output, a
 * throw fails the task with the message. `module` is a path (resolved against the current
 * directory; `.ts` works because Hive runs under tsx) or a package name.
 *
 * A timeout (`task.timeout`) or an abort aborts the function's signal and settles the result at
 * once, as `timeout` or `cancelled`. A function that ignores its signal keeps running in the
 * background — JavaScript cannot stop it — so prefer the command executor for untrusted code.
 *
 * @example createFunctionExecutor(parseFunctionSpec('agents/review.ts#review'))
 */
export function createFunctionExecutor(opts: FunctionExecutorOptions): Executor {
  let loaded: Promise<TaskFunction> | undefined
  const load = (): Promise<TaskFunction> => {
    if ('fn' in opts) return Promise.resolve(opts.fn)
    loaded ??= loadFunction(opts.module, opts.export ?? 'default')
    // A failed load is retried next time: the file may be fixed while the agent runs.
    loaded.catch(() => {
      loaded = undefined
    })
    return loaded
  }
  /** Stops each run in progress (aborts its signal, settles it as cancelled). */
  const running = new Set<(why: 'cancelled') => void>()
  const pending = new Set<Promise<ExecutionResult>>()

  return {
    kind: 'function',
    lazyWorkspace: true,
    execute(ctx) {
      const timeoutMs = ctx.task.timeout !== undefined ? ctx.task.timeout * 1000 : undefined
      // The function's signal is made when the function first reads it: most never do, and an
      // AbortController with its listeners is a large part of a short task's cost.
      let ac: AbortController | undefined
      let stoppedBy: 'cancelled' | 'timeout' | undefined
      let timer: ReturnType<typeof setTimeout> | undefined
      let settled = false
      let unlisten: (() => void) | undefined
      let resolve!: (r: ExecutionResult) => void
      const p = new Promise<ExecutionResult>((r) => {
        resolve = r
      })
      const settle = (r: ExecutionResult): void => {
        if (settled) return
        settled = true
        if (timer !== undefined) clearTimeout(timer)
        unlisten?.()
        running.delete(stop)
        pending.delete(p)
        resolve(r)
      }
      // A stop settles the result at once, whatever the function does with its signal.
      const stop = (why: 'cancelled' | 'timeout'): void => {
        if (settled) return
        stoppedBy = why
        ac?.abort(why)
        settle(
          why === 'timeout'
            ? { status: 'timeout', error: `timed out after ${timeoutMs} ms` }
            : { status: 'cancelled', error: 'cancelled' },
        )
      }
      const forward = (): void => stop('cancelled')
      if (ctx.onAbort) ctx.onAbort(forward)
      else if (ctx.signal.aborted) stop('cancelled')
      else {
        const signal = ctx.signal
        signal.addEventListener('abort', forward, { once: true })
        unlisten = () => signal.removeEventListener('abort', forward)
      }
      if (settled) return p
      running.add(stop)
      pending.add(p)
      if (timeoutMs !== undefined) timer = setTimeout(() => stop('timeout'), timeoutMs)

      const fnCtx: TaskFunctionContext = {
        get signal() {
          if (ac === undefined) {
            ac = new AbortController()
            if (stoppedBy !== undefined) ac.abort(stoppedBy)
          }
          return ac.signal
        },
        attempt: ctx.attempt,
        // Read through: the agent makes the directory only if the function asks for it.
        get workspace() {
          return ctx.workspace
        },
      }
      const failed = (err: unknown): void => settle({ status: 'failed', error: errorMessage(err) })
      load().then((fn) => {
        let out: unknown
        try {
          out = fn(ctx.task, fnCtx)
        } catch (err) {
          failed(err)
          return
        }
        Promise.resolve(out).then((output) => settle({ status: 'success', output }), failed)
      }, failed)
      return p
    },
    async healthCheck() {
      try {
        await load()
        return true
      } catch {
        // The load error itself surfaces in the next execute()'s result; here the answer is "no".
        return false
      }
    },
    async close() {
      const runs = [...pending]
      for (const stop of running) stop('cancelled')
      await Promise.allSettled(runs)
    },
  }
}

async function loadFunction(module: string, name: string): Promise<TaskFunction> {
  const isPath = isAbsolute(module) || module.startsWith('.') || /\.[cm]?[jt]s$/.test(module)
  const specifier = isPath ? pathToFileURL(resolve(process.cwd(), module)).href : module
  let mod: Record<string, unknown>
  try {
    if (/\.[cm]?tsx?$/.test(module)) await typeScriptLoader()
    mod = (await import(specifier)) as Record<string, unknown>
  } catch (err) {
    throw new ExecutorConfigError(`cannot load function module ${module}: ${errorMessage(err)}`, {
      cause: err,
    })
  }
  const fn = mod[name]
  if (typeof fn !== 'function') {
    const found = Object.keys(mod).join(', ') || 'none'
    throw new ExecutorConfigError(`module ${module} has no function export "${name}" (exports: ${found})`)
  }
  return fn as TaskFunction
}

let tsxRegistered: Promise<void> | undefined

/**
 * Lets `import()` load a TypeScript module. Run from the sources (through tsx or vitest) it
 * already can; run from the compiled build (dist/, where this file is JavaScript), tsx's loader
 * is registered once, on the first TypeScript function module.
 */
function typeScriptLoader(): Promise<void> {
  if (!import.meta.url.endsWith('.js')) return Promise.resolve()
  tsxRegistered ??= import('tsx/esm/api').then(({ register }) => {
    register()
  })
  return tsxRegistered
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
