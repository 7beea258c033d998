/**
 * Read-only views of a workflow run: what expressions see, what a user sees, and when the host
 * must next send a `tick`.
 */
import type { ExprScope } from '../schema/workflow.ts'
import type { WorkflowRunContext, WorkflowRunStatus, WorkflowTaskSummary } from './workflowTypes.ts'

/** The scope `when` conditions and `input` templates are evaluated in. `deps` feeds `success()`/`failure()`. */
export function workflowScope(ctx: WorkflowRunContext, deps?: string[]): ExprScope {
  const tasks: ExprScope['tasks'] = {}
  for (const t of ctx.def.tasks) {
    const r = ctx.tasks[t.task_id]
    tasks[t.task_id] = { status: r.status, output: r.output, attempts: r.attempts, error: r.error }
  }
  const scope: ExprScope = {
    tasks,
    workflow: { id: ctx.def.id, name: ctx.def.name, run_id: ctx.runId },
    vars: ctx.def.vars ?? {},
  }
  if (deps) scope.deps = deps
  return scope
}

/** Every task of a run as a user sees it, in definition order. */
export function summariseTasks(ctx: WorkflowRunContext): Record<string, WorkflowTaskSummary> {
  const out: Record<string, WorkflowTaskSummary> = {}
  for (const t of ctx.def.tasks) {
    const r = ctx.tasks[t.task_id]
    out[t.task_id] = {
      status: r.status,
      attempts: r.attempts,
      ...(r.agent_id === undefined ? {} : { agent_id: r.agent_id }),
      output: r.output,
      error: r.error,
      started_at: r.started_at,
      finished_at: r.finished_at,
    }
  }
  return out
}

export interface WorkflowSummary {
  /** `pending` before `start`, `running` until the run ends. */
  status: 'pending' | 'running' | WorkflowRunStatus
  tasks: Record<string, WorkflowTaskSummary>
}

/**
 * A run's status and tasks, from a live snapshot or a persisted one (both carry the context).
 * @example workflowSummary(actor.getSnapshot()).tasks.build.status
 */
export function workflowSummary(snapshot: { context: WorkflowRunContext }): WorkflowSummary {
  const ctx = snapshot.context
  const status = ctx.outcome ?? (ctx.startedAt === undefined ? 'pending' : 'running')
  return { status, tasks: summariseTasks(ctx) }
}

/**
 * The next absolute time at which a `tick` changes something: the run's deadline or the earliest
 * retry coming due. Undefined once the run has ended or when nothing is waiting on time.
 */
export function workflowDeadline(ctx: WorkflowRunContext): number | undefined {
  if (ctx.outcome !== undefined || ctx.startedAt === undefined) return undefined
  let next = ctx.deadline
  for (const r of Object.values(ctx.tasks)) {
    // A retry already due but held back by max_parallel waits for a result, not for time.
    if (r.status === 'ready' && r.notBefore !== undefined && r.notBefore > ctx.now) {
      next = next === undefined ? r.notBefore : Math.min(next, r.notBefore)
    }
  }
  return next
}
