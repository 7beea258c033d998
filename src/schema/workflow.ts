/**
 * A workflow definition after loading and validation: every default applied, every shorthand
 * expanded. The file format (YAML or JSON) is parsed into this by `src/workflow/loadWorkflow.ts`;
 * the workflow run machine consumes only this shape.
 */
import type { RetryPolicy } from './domain.ts'

export interface WorkflowTaskDef {
  task_id: string
  description?: string
  depends_on: string[]
  agent_type?: string
  /** Lower-cased; may be empty when the workflow's agents are chosen by type alone. */
  capabilities: string[]
  /** A shell line written by the workflow's author (run with `sh -c`). */
  run?: string
  /** An argv run with no shell. */
  exec?: string[]
  /** May hold `${{ … }}` expressions in its strings, resolved when the task becomes ready. */
  input?: unknown
  /** Seconds. */
  timeout?: number
  retry: RetryPolicy
  /** An expression; the task is skipped when it is false. */
  when?: string
  approval?: { required: boolean; message?: string }
  /** 1-10. */
  priority: number
}

export interface WorkflowAgentDef {
  id: string
  type: string
  capabilities: string[]
  max_tasks: number
  weight?: number
  /** Prefix argv for the task's `run` line or command, e.g. ["sh", "-c"]. */
  exec?: string[]
  /** `module#export` of a function executor. */
  function?: string
}

export interface NotificationTarget {
  /** A bus event is always published; a target may also run a command or POST to a URL. */
  command?: string[]
  url?: string
  /** An address written in the file (`on_failure: [oncall@example.com]`); delivery is the host's choice. */
  email?: string
}

export interface WorkflowDef {
  id: string
  name: string
  description?: string
  /** 1-10 (low 3, medium 5, high 7, critical 9). */
  priority: number
  /** Seconds for the whole run. */
  timeout?: number
  max_parallel: number
  on_failure: 'fail_fast' | 'continue'
  agents: WorkflowAgentDef[]
  tasks: WorkflowTaskDef[]
  notification: {
    on_complete: NotificationTarget[]
    on_failure: NotificationTarget[]
    on_approval_needed: NotificationTarget[]
  }
  /** Values given with `--set key=value`, usable as `${{ vars.key }}`. */
  vars: Record<string, string>
}

/** What an expression can see. */
export interface ExprScope {
  tasks: Record<string, { status: string; output?: unknown; attempts: number; error?: string }>
  workflow: { id: string; name: string; run_id?: string }
  vars: Record<string, string>
  /**
   * Ids of the evaluating task's direct dependencies, read by `success()` and `failure()`
   * (every task in `tasks` when absent).
   */
  deps?: string[]
}
