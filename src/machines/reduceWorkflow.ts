/**
 * The workflow run's transition logic as one pure function, `(context, event) → (context, emitted)`.
 * `workflowMachine` wraps it; keeping it apart lets the machine stay a thin state chart and lets
 * tests drive the logic without an actor.
 *
 * Rules, in the order they apply to each event:
 * 1. A run past its deadline ends `timeout` before the event is looked at.
 * 2. The event: a result of the current attempt of a running task (anything else is stale and
 *    ignored), an approval decision, a cancel, a tick, or a resume (resends every running task's
 *    submission unchanged).
 * 3. Settle: pending tasks whose dependencies all succeeded become ready (or skipped by a false
 *    `when`, or held for approval); a task with a dependency that ended otherwise is skipped —
 *    unless its `when` calls `success()`/`failure()`/`always()`, which then decides once all
 *    dependencies ended. Ready tasks are submitted, highest priority then definition order,
 *    up to `max_parallel` running.
 * 4. A final failure under `fail_fast` cancels everything running or unstarted and ends the run
 *    `failed`; under `continue` the run ends when every task has ended, `failed` if any failed.
 */
import type { RetryPolicy } from '../schema/domain.ts'
import type { WorkflowTaskDef } from '../schema/workflow.ts'
import { retryDelayMs } from './backoff.ts'
import { type DependencyVerdict, dependencyVerdict, findCycle, findUnknownDependency } from './dag.ts'
import { interpolate } from './expressions.ts'
import { conditionHolds, readsDependencyStatus } from './workflowCondition.ts'
import { workflowScope } from './workflowSummary.ts'
import {
  isFinalTaskStatus,
  type TaskRun,
  type WorkflowEmitted,
  type WorkflowEvent,
  type WorkflowRunContext,
  type WorkflowRunInput,
  type WorkflowRunStatus,
  type WorkflowTaskSpec,
  type WorkflowTaskStatus,
} from './workflowTypes.ts'

/**
 * The decisions a run makes, named so that tests can run the same properties against
 * deliberately broken variants. Production code uses {@link defaultWorkflowRules}.
 * @internal
 */
export interface WorkflowRules {
  /** Whether a pending task may run, must wait, or can never run, given its dependencies. */
  dependencyVerdict: (
    task: WorkflowTaskDef,
    statuses: Record<string, WorkflowTaskStatus>,
  ) => DependencyVerdict
  /** Whether a task whose attempt number `failedAttempt` failed gets another attempt. */
  mayRetry: (failedAttempt: number, retry: RetryPolicy) => boolean
  /** Whether `fail_fast` cancels tasks still running. */
  cancelRunningOnFailFast: boolean
}

/** @internal */
export const defaultWorkflowRules: WorkflowRules = {
  dependencyVerdict,
  // A task runs at most max_retries + 1 times.
  mayRetry: (failedAttempt, retry) => failedAttempt <= retry.max_retries,
  cancelRunningOnFailFast: true,
}

/** The context of a run that has not started. */
export function initialWorkflowContext(input: WorkflowRunInput): WorkflowRunContext {
  const tasks: Record<string, TaskRun> = {}
  for (const t of input.def.tasks) tasks[t.task_id] = { status: 'pending', attempts: 0 }
  return { def: input.def, runId: input.runId, createdAt: input.now, now: input.now, tasks }
}

interface Work {
  ctx: WorkflowRunContext
  /** Every task's status, kept in step with `ctx.tasks` by `setStatus`. */
  statuses: Record<string, WorkflowTaskStatus>
  emitted: WorkflowEmitted[]
  now: number
  rules: WorkflowRules
}

/** Applies one event. A run that has ended ignores everything. */
export function reduceWorkflow(
  context: WorkflowRunContext,
  event: WorkflowEvent,
  rules: WorkflowRules = defaultWorkflowRules,
): { context: WorkflowRunContext; emitted: WorkflowEmitted[] } {
  if (context.outcome !== undefined) return { context, emitted: [] }
  // Copy-on-write: the definition is never changed, task records are.
  const tasks: Record<string, TaskRun> = {}
  const statuses: Record<string, WorkflowTaskStatus> = {}
  for (const [id, r] of Object.entries(context.tasks)) {
    tasks[id] = { ...r }
    statuses[id] = r.status
  }
  // A late or skewed clock must not move deadlines backwards.
  const now = Math.max(context.now, event.now)
  const w: Work = { ctx: { ...context, tasks, now }, statuses, emitted: [], now, rules }

  if (w.ctx.startedAt === undefined) {
    // A run persisted before it started is started by its resume.
    if (event.type === 'start' || event.type === 'resume') start(w)
    else if (event.type === 'cancel') abort(w, 'cancelled', event.reason ?? 'cancelled')
    return { context: w.ctx, emitted: w.emitted }
  }
  if (w.ctx.deadline !== undefined && now >= w.ctx.deadline) {
    abort(w, 'timeout', `run timed out after ${w.ctx.def.timeout}s`)
    return { context: w.ctx, emitted: w.emitted }
  }
  switch (event.type) {
    case 'task.result':
      onResult(w, event)
      break
    case 'approve': {
      const r = w.ctx.tasks[event.taskId]
      if (r?.status !== 'waiting_approval') break
      r.approved = true
      if (event.by !== undefined) r.approvedBy = event.by
      setStatus(w, event.taskId, 'ready')
      break
    }
    case 'reject': {
      const r = w.ctx.tasks[event.taskId]
      if (r?.status !== 'waiting_approval') break
      r.error = event.reason ? `rejected: ${event.reason}` : 'rejected'
      r.finished_at = now
      setStatus(w, event.taskId, 'failed')
      onFinalFailure(w, event.taskId)
      break
    }
    case 'cancel':
      abort(w, 'cancelled', event.reason ?? 'cancelled')
      break
    case 'resume':
      for (const t of w.ctx.def.tasks) {
        const r = w.ctx.tasks[t.task_id]
        // The same task_id as before, so the coordinator's idempotent submit can dedupe it.
        if (r.status === 'running' && r.spec) {
          w.emitted.push({ type: 'submit', taskId: t.task_id, attempt: r.attempts, spec: r.spec })
        }
      }
      break
    case 'start':
    case 'tick':
      break
  }
  settle(w)
  return { context: w.ctx, emitted: w.emitted }
}

function start(w: Work): void {
  const { def } = w.ctx
  w.ctx.startedAt = w.now
  if (def.timeout !== undefined) w.ctx.deadline = w.now + def.timeout * 1000
  const unknown = findUnknownDependency(def.tasks)
  const cycle = unknown ? undefined : findCycle(def.tasks)
  if (unknown) abort(w, 'failed', `task ${unknown[0]} depends on unknown task ${unknown[1]}`)
  else if (cycle) abort(w, 'failed', `dependency cycle: ${cycle.join(' -> ')}`)
  else settle(w)
}

function setStatus(w: Work, taskId: string, to: WorkflowTaskStatus): void {
  const r = w.ctx.tasks[taskId]
  const from = r.status
  if (from === to) return
  r.status = to
  w.statuses[taskId] = to
  w.emitted.push({ type: 'taskChanged', taskId, from, to })
}

function onResult(w: Work, e: Extract<WorkflowEvent, { type: 'task.result' }>): void {
  const r = w.ctx.tasks[e.taskId]
  // Stale attempts, duplicates and results for tasks no longer running change nothing.
  if (r?.status !== 'running' || e.attempt !== r.attempts) return
  const def = w.ctx.def.tasks.find((t) => t.task_id === e.taskId)!
  r.output = e.output
  r.error = e.status === 'success' ? undefined : (e.error ?? e.status)
  r.started_at = e.started_at
  r.finished_at = e.finished_at
  if (e.agent_id !== undefined) r.agent_id = e.agent_id
  if (e.status === 'success') {
    setStatus(w, e.taskId, 'success')
    return
  }
  // A cancellation from outside (an operator, the coordinator) is final: retrying would undo it.
  if (e.status !== 'cancelled' && w.rules.mayRetry(r.attempts, def.retry)) {
    r.notBefore = w.now + retryDelayMs(def.retry, r.attempts)
    setStatus(w, e.taskId, 'ready')
    return
  }
  setStatus(w, e.taskId, e.status)
  onFinalFailure(w, e.taskId)
}

function onFinalFailure(w: Work, taskId: string): void {
  if (w.ctx.def.on_failure !== 'fail_fast') return
  const r = w.ctx.tasks[taskId]
  abort(w, 'failed', `task ${taskId} ${r.status}${r.error ? `: ${r.error}` : ''}`)
}

/** Ends the run early: running tasks are cancelled (and told so), unstarted ones cancelled. */
function abort(w: Work, outcome: WorkflowRunStatus, reason: string): void {
  const cancelRunning = outcome !== 'failed' || w.rules.cancelRunningOnFailFast
  for (const t of w.ctx.def.tasks) {
    const r = w.ctx.tasks[t.task_id]
    if (r.status === 'running') {
      if (!cancelRunning) continue
      w.emitted.push({ type: 'cancelTask', taskId: t.task_id, attempt: r.attempts, attemptId: r.attemptId! })
      r.finished_at = w.now
    } else if (isFinalTaskStatus(r.status)) {
      continue
    }
    r.error ??= reason
    setStatus(w, t.task_id, 'cancelled')
  }
  finish(w, outcome, reason)
}

function finish(w: Work, outcome: WorkflowRunStatus, reason?: string): void {
  w.ctx.outcome = outcome
  w.ctx.finishedAt = w.now
  if (reason !== undefined) w.ctx.error = reason
}

/** Promotes and submits until nothing changes, then ends the run if every task has ended. */
function settle(w: Work): void {
  while (w.ctx.outcome === undefined) {
    const promoted = promote(w)
    const submitted = w.ctx.outcome === undefined && dispatch(w)
    if (!promoted && !submitted) break
  }
  if (w.ctx.outcome !== undefined) return
  const runs = Object.values(w.ctx.tasks)
  if (!runs.every((r) => isFinalTaskStatus(r.status))) return
  const failed = runs.some((r) => r.status === 'failed' || r.status === 'timeout' || r.status === 'cancelled')
  finish(w, failed ? 'failed' : 'success')
}

/** Moves pending tasks on as far as their dependencies, `when` and approval gates allow. */
function promote(w: Work): boolean {
  let changed = false
  for (const t of w.ctx.def.tasks) {
    if (w.ctx.outcome !== undefined) return changed
    const r = w.ctx.tasks[t.task_id]
    if (r.status !== 'pending') continue
    const s = w.statuses
    let statusAware: boolean
    try {
      statusAware = t.when !== undefined && readsDependencyStatus(t.when)
    } catch (e) {
      changed = true
      failBeforeSubmit(w, t.task_id, `when: ${(e as Error).message}`)
      continue
    }
    if (statusAware) {
      if (!t.depends_on.every((d) => isFinalTaskStatus(s[d]))) continue
    } else {
      const verdict = w.rules.dependencyVerdict(t, s)
      if (verdict === 'wait') continue
      if (verdict === 'skip') {
        changed = true
        const d = t.depends_on.find((x) => s[x] !== 'success')
        r.error = `dependency ${d} ended ${d === undefined ? 'unsuccessfully' : s[d]}`
        setStatus(w, t.task_id, 'skipped')
        continue
      }
    }
    changed = true
    if (t.when !== undefined) {
      let holds: boolean
      try {
        holds = conditionHolds(t.when, workflowScope(w.ctx, t.depends_on))
      } catch (e) {
        failBeforeSubmit(w, t.task_id, `when: ${(e as Error).message}`)
        continue
      }
      if (!holds) {
        setStatus(w, t.task_id, 'skipped')
        continue
      }
    }
    if (t.approval?.required && !r.approved) {
      setStatus(w, t.task_id, 'waiting_approval')
      const message = t.approval.message ?? `Approve task ${t.task_id} of workflow ${w.ctx.def.name}`
      w.emitted.push({ type: 'approvalNeeded', taskId: t.task_id, message })
      continue
    }
    setStatus(w, t.task_id, 'ready')
  }
  return changed
}

/** A task that cannot even be submitted (a bad expression) fails at once; retrying would not help. */
function failBeforeSubmit(w: Work, taskId: string, error: string): void {
  const r = w.ctx.tasks[taskId]
  r.error = error
  r.finished_at = w.now
  setStatus(w, taskId, 'failed')
  onFinalFailure(w, taskId)
}

/** Submits due ready tasks, highest priority first, while fewer than `max_parallel` run. */
function dispatch(w: Work): boolean {
  const { def } = w.ctx
  const limit = Math.max(1, def.max_parallel)
  let running = Object.values(w.ctx.tasks).filter((r) => r.status === 'running').length
  const due = def.tasks
    .map((t, index) => ({ t, index }))
    .filter(({ t }) => {
      const r = w.ctx.tasks[t.task_id]
      return r.status === 'ready' && (r.notBefore === undefined || r.notBefore <= w.now)
    })
    .sort((a, b) => b.t.priority - a.t.priority || a.index - b.index)
  let changed = false
  for (const { t } of due) {
    if (running >= limit || w.ctx.outcome !== undefined) break
    changed = true
    if (submit(w, t)) running++
  }
  return changed
}

function submit(w: Work, t: WorkflowTaskDef): boolean {
  const { ctx } = w
  const r = ctx.tasks[t.task_id]
  let input: unknown
  try {
    input = interpolate(t.input, workflowScope(ctx, t.depends_on))
  } catch (e) {
    failBeforeSubmit(w, t.task_id, `input: ${(e as Error).message}`)
    return false
  }
  const attempt = r.attempts + 1
  const attemptId = `${ctx.runId}:${t.task_id}:${attempt}`
  // No `retry` in the spec: the run retries by itself, a second layer would multiply attempts.
  const spec: WorkflowTaskSpec = {
    task_id: attemptId,
    task_type: t.task_id,
    required_capabilities: t.capabilities,
    priority: t.priority,
    workflow_id: ctx.def.id,
    metadata: { workflow_id: ctx.def.id, run_id: ctx.runId, task_id: t.task_id, attempt },
  }
  if (t.description !== undefined) spec.description = t.description
  if (t.agent_type !== undefined) spec.required_agent_type = t.agent_type
  if (t.timeout !== undefined) spec.timeout = t.timeout
  if (input !== undefined) spec.input = input
  if (t.run !== undefined) spec.metadata.run = t.run
  if (t.exec !== undefined) spec.metadata.exec = t.exec
  r.attempts = attempt
  r.attemptId = attemptId
  r.spec = spec
  r.submitted_at = w.now
  r.notBefore = undefined
  setStatus(w, t.task_id, 'running')
  w.emitted.push({ type: 'submit', taskId: t.task_id, attempt, spec })
  return true
}
