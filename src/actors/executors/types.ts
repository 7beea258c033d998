/**
 * The contract every executor (command, function, presets built on them) fulfils. An executor
 * never throws for a task that goes wrong: spawn errors, crashes, timeouts and cancellations are
 * all values in {@link ExecutionResult}, so the agent can always report exactly one result.
 */
import type { Task } from '../../schema/domain.ts'

/** What one run of one task attempt gets. */
export interface ExecutionContext {
  task: Task
  attempt: number
  /**
   * Absolute path of the attempt's working directory. It exists when execute() is called, unless
   * the executor declares {@link Executor.lazyWorkspace}: then it is made when first read.
   */
  readonly workspace: string
  /** Aborting it cancels the run: the result's status is then `cancelled`. */
  readonly signal: AbortSignal
  /**
   * Calls `listener` once when the run is aborted (at once if it already is): what listening to
   * `signal` does, without making the signal. The agent provides it; other callers may not.
   */
  onAbort?: (listener: () => void) => void
  /** Called with each line the task writes to stdout, as it arrives. */
  onProgress?: (line: string) => void
}

/** The outcome of one run. `output` is what flows to dependants. */
export interface ExecutionResult {
  status: 'success' | 'failed' | 'timeout' | 'cancelled'
  output?: unknown
  error?: string
  stdout?: string
  stderr?: string
  exitCode?: number | null
  signal?: string | null
}

/** Runs tasks. One executor instance serves many concurrent runs. */
export interface Executor {
  readonly kind: string
  /**
   * The executor reads `workspace` only when its run needs the directory, so the agent may make it
   * on first read instead of before every run (a mkdir per task dwarfs a short function's cost).
   */
  readonly lazyWorkspace?: boolean
  execute(ctx: ExecutionContext): Promise<ExecutionResult>
  /** Whether the executor can run anything at all (binary on PATH, module loads). Never rejects. */
  healthCheck(): Promise<boolean>
  /** Ends every run still going (as `cancelled`) and releases what the executor holds. */
  close?(): Promise<void>
}
