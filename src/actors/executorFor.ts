import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { Task } from '../schema/domain.ts'
import { createCommandExecutor } from './executors/createCommandExecutor.ts'
import { createFunctionExecutor, type TaskFunction } from './executors/createFunctionExecutor.ts'
import { parseFunctionSpec } from './executors/parseFunctionSpec.ts'
import { splitArgv } from './executors/splitArgv.ts'
import type { Executor } from './executors/types.ts'

/** How an agent runs its tasks: a command (argv, or a line split like a shell would) or a function. */
export interface ExecutorSpec {
  /** argv run with no shell; a string is split into words as a shell would, and run without one. */
  exec?: string | string[]
  /** `path/to/module.ts#export`, or the function itself. */
  function?: string | TaskFunction
  env?: Record<string, string>
  /** Used when a task has no timeout of its own. */
  timeoutMs?: number
  /**
   * Where relative paths in `exec` and `function` are resolved (the config file's directory, or
   * the working directory of `hive agent start`): tasks run in their own workspaces, so a relative
   * `scripts/agent.py` would otherwise be looked up there.
   */
  baseDir?: string
}

/** Makes words that name existing files relative to `baseDir` absolute; leaves the rest alone. */
export function resolveArgv(argv: readonly string[], baseDir: string | undefined): string[] {
  if (!baseDir) return [...argv]
  return argv.map((w) => {
    if (isAbsolute(w) || w.startsWith('-') || !(w.includes('/') || w.includes('.'))) return w
    const p = resolve(baseDir, w)
    return existsSync(p) ? p : w
  })
}

/**
 * Makes the executor factory of an agent. A workflow task may carry its author's command in
 * `metadata.run` (a shell line) or `metadata.exec` (argv): with a command agent it is appended to
 * the agent's argv — e.g. an agent `exec: ["sh", "-c"]` runs `sh -c <run line>`. Task input is
 * never put on a command line; it arrives as JSON on stdin and in HIVE_INPUT.
 */
export function executorFor(spec: ExecutorSpec): () => Executor {
  if (spec.function !== undefined) {
    const fnSpec = spec.function
    return () =>
      typeof fnSpec === 'function'
        ? createFunctionExecutor({ fn: fnSpec })
        : createFunctionExecutor(withBase(parseFunctionSpec(fnSpec), spec.baseDir))
  }
  if (spec.exec === undefined)
    throw new Error('an agent needs `exec` (a command) or `function` (module#export)')
  const base = resolveArgv(typeof spec.exec === 'string' ? splitArgv(spec.exec) : spec.exec, spec.baseDir)
  return () => {
    const plain = createCommandExecutor({ argv: base, env: spec.env, timeoutMs: spec.timeoutMs })
    return {
      kind: 'command',
      healthCheck: () => plain.healthCheck(),
      close: () => plain.close?.() ?? Promise.resolve(),
      execute(ctx) {
        const extra = taskCommand(ctx.task)
        if (!extra) return plain.execute(ctx)
        return createCommandExecutor({
          argv: [...base, ...extra],
          env: spec.env,
          timeoutMs: spec.timeoutMs,
        }).execute(ctx)
      },
    }
  }
}

function taskCommand(task: Task): string[] | undefined {
  const m = task.metadata
  if (!m) return undefined
  if (typeof m.run === 'string' && m.run.trim()) return [m.run]
  if (Array.isArray(m.exec) && m.exec.every((w) => typeof w === 'string')) return m.exec as string[]
  return undefined
}

function withBase(f: { module: string; export: string }, baseDir: string | undefined) {
  return baseDir && !isAbsolute(f.module) ? { ...f, module: resolve(baseDir, f.module) } : f
}
