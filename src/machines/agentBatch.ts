/**
 * How the agent machine takes several assignments or finishes in one transition. XState costs
 * about 20 µs per transition on a small machine, more than a no-op task itself; a host that
 * receives assignments in batches, or sees several runs end in one pass, sends one batch event.
 *
 * Each item is decided exactly as the single event would be in the same state (the guards of
 * `agentMachine` call the same predicates), so a batch leaves the same context and emits the same
 * events as its items one by one; only a `stateChanged` comes after the items' events rather
 * than between them. A property test checks the equivalence.
 */
import type { Task, TaskResult } from '../schema/domain.ts'
import type { AgentContext, AgentEmitted, AgentTaskOutcome, RunningTask } from './agentTypes.ts'

/** Finished attempts remembered to recognise redelivered assignments. */
export const RECENT_LIMIT = 64

export const STILL_STOPPING = 'the previous run of this attempt is still stopping'

export const runKey = (taskId: string, attempt: number): string => `${attempt}:${taskId}`

export const indexOfRun = (running: RunningTask[], taskId: string, attempt: number): number =>
  running.findIndex((r) => r.task.task_id === taskId && r.attempt === attempt)

/** The same (task, attempt) is still being cancelled here (see the `stillStopping` guard). */
export function isStillStopping(running: RunningTask[], taskId: string, attempt: number): boolean {
  const i = indexOfRun(running, taskId, attempt)
  return i >= 0 && running[i].cancelling
}

// A Set beside each `recentlyFinished` log, so the redelivery check of every assignment is not
// a scan of 64 strings. Not in context (snapshots hold the log); rebuilt when missing.
const recentIndex = new WeakMap<string[], Set<string>>()
function recentSet(log: string[]): Set<string> {
  let set = recentIndex.get(log)
  if (set === undefined) {
    set = new Set(log)
    recentIndex.set(log, set)
  }
  return set
}

/** The same (task, attempt) is running or has just finished here: a redelivery. */
export function isRedelivery(
  c: AgentContext,
  running: RunningTask[],
  taskId: string,
  attempt: number,
): boolean {
  return (
    indexOfRun(running, taskId, attempt) >= 0 || recentSet(c.recentlyFinished).has(runKey(taskId, attempt))
  )
}

/** How the state the agent is in treats an assignment it would otherwise take. */
export type AssignMode = 'take' | 'draining' | 'stopped'

export type AssignDecision = { act: 'accept' } | { act: 'ignore' } | { act: 'reject'; reason: string }

/** What the agent does with one assignment, given the attempts running at that point. */
export function decideAssign(
  c: AgentContext,
  running: RunningTask[],
  taskId: string,
  attempt: number,
  mode: AssignMode,
): AssignDecision {
  if (mode === 'stopped') return { act: 'reject', reason: 'agent stopped' }
  if (isStillStopping(running, taskId, attempt)) return { act: 'reject', reason: STILL_STOPPING }
  if (isRedelivery(c, running, taskId, attempt)) return { act: 'ignore' }
  if (mode === 'draining') return { act: 'reject', reason: 'draining' }
  if (running.length < c.info.max_tasks) return { act: 'accept' }
  return { act: 'reject', reason: `at capacity (${running.length}/${c.info.max_tasks})` }
}

export interface BatchOutcome {
  running: RunningTask[]
  emitted: AgentEmitted[]
  /** How many items were taken (assignments) or ended a run (finishes). */
  count: number
}

/** Decides a batch of assignments in order; `decide` is replaceable for mutant tests. */
export function assignAll(
  c: AgentContext,
  items: readonly { task: Task; attempt: number }[],
  now: number,
  mode: AssignMode,
  decide: typeof decideAssign = decideAssign,
): BatchOutcome {
  let running = c.running
  const emitted: AgentEmitted[] = []
  let count = 0
  for (const { task, attempt } of items) {
    const d = decide(c, running, task.task_id, attempt, mode)
    if (d.act === 'accept') {
      if (count === 0) running = running.slice()
      running.push({ task, attempt, started_at: now, cancelling: false })
      emitted.push({ type: 'execute', task, attempt })
      count++
    } else if (d.act === 'reject') {
      emitted.push({
        type: 'rejected',
        task_id: task.task_id,
        attempt,
        agent_id: c.info.agent_id,
        reason: d.reason,
      })
    }
  }
  return { running, emitted, count }
}

/**
 * Whether `assignAll(c, items, now, 'take')` would take at least one, without building its
 * outcome: the first assignment taken is decided against the attempts running now (only taking
 * one changes them), so it is enough to ask each item against those.
 */
export function takesAny(c: AgentContext, items: readonly { task: Task; attempt: number }[]): boolean {
  return items.some(
    ({ task, attempt }) => decideAssign(c, c.running, task.task_id, attempt, 'take').act === 'accept',
  )
}

/** The `result` an agent emits for a run that ended. */
export function resultOf(
  c: AgentContext,
  run: RunningTask,
  outcome: AgentTaskOutcome,
  now: number,
): AgentEmitted & { type: 'result' } {
  const result: TaskResult = {
    task_id: run.task.task_id,
    attempt: run.attempt,
    agent_id: c.info.agent_id,
    status: outcome.status,
    started_at: run.started_at,
    finished_at: now,
  }
  // Absent rather than undefined: msgpack would send undefined as nil, which the schema refuses.
  if (outcome.output !== undefined) result.output = outcome.output
  if (outcome.error !== undefined) result.error = outcome.error
  return { type: 'result' as const, ...result }
}

/**
 * Ends the runs of a batch of finishes in order: one result per run that was running, nothing for
 * an unknown or repeated finish. `recentlyFinished` is a bounded log only the redelivery check
 * reads: it is kept in place; `running` is copied (snapshots share it, and hosts read it).
 */
export function finishAll(
  c: AgentContext,
  items: readonly { taskId: string; attempt: number; result: AgentTaskOutcome }[],
  now: number,
): BatchOutcome {
  let running = c.running
  const emitted: AgentEmitted[] = []
  let count = 0
  for (const it of items) {
    const i = indexOfRun(running, it.taskId, it.attempt)
    if (i < 0) continue
    emitted.push(resultOf(c, running[i], it.result, now))
    if (count === 0) running = running.slice()
    running.splice(i, 1)
    const rf = c.recentlyFinished
    const set = recentSet(rf)
    const key = runKey(it.taskId, it.attempt)
    rf.push(key)
    set.add(key)
    if (rf.length > RECENT_LIMIT) for (const old of rf.splice(0, rf.length - RECENT_LIMIT)) set.delete(old)
    count++
  }
  return { running, emitted, count }
}
