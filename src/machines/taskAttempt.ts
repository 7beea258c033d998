/**
 * The life of one task attempt inside the coordinator: start it on an agent, end it (freeing the
 * slot, releasing resources, cancelling at the agent), requeue the task with the next attempt, or
 * finish the task. Every path that ends an attempt goes through {@link endAttempt}, so the
 * agent's load, its breaker probe and the allocator stay consistent.
 */
import type { RetryPolicy, Task } from '../schema/domain.ts'
import { feedBreaker, releaseProbe } from './coordinatorBreaker.ts'
import { taskRecord } from './coordinatorQueries.ts'
import { pushTimer } from './coordinatorTimers.ts'
import type { AgentEntry, Step, TaskEntry } from './coordinatorTypes.ts'
import { enqueueReady } from './taskQueue.ts'

/** Whether a task goes through the resource allocator (any positive resource amount). */
export function needsResources(task: Task): boolean {
  const r = task.resources as Record<string, number | undefined> | undefined
  if (r === undefined) return false
  for (const k in r) if ((r[k] ?? 0) > 0) return true
  return false
}

export function requestIdOf(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`
}

/** Splits `${taskId}#${attempt}` (task ids may contain `#`: the attempt is after the last one). */
export function parseRequestId(requestId: string): { taskId: string; attempt: number } | undefined {
  const i = requestId.lastIndexOf('#')
  if (i <= 0) return undefined
  const attempt = Number(requestId.slice(i + 1))
  return Number.isInteger(attempt) ? { taskId: requestId.slice(0, i), attempt } : undefined
}

/** The agent has the resources (or needs none): hand the attempt over. */
export function startAttempt(s: Step, e: TaskEntry): void {
  e.status = 'assigned'
  e.assignedAt = s.now
  const agentId = e.agentId as string
  if (e.task.timeout !== undefined) {
    e.deadline = s.now + e.task.timeout * 1000
    pushTimer(s.ctx, e.deadline, 'deadline', e.id, e.attempt)
  }
  s.out.push({ type: 'assign', agentId, task: e.task, attempt: e.attempt })
  s.out.push({ type: 'taskEvent', taskId: e.id, event: 'assigned', data: { agentId, attempt: e.attempt } })
}

export interface EndOptions {
  /** Tell the agent to stop the attempt. */
  cancel: boolean
  /** Give the attempt's resources back to the allocator (not after a denial or a preemption). */
  release: boolean
  /** The outcome to feed the breaker, if the attempt produced one. */
  outcome?: 'success' | 'failure'
}

/** Ends the current attempt: frees its agent slot and settles breaker, agent and allocator. */
export function endAttempt(s: Step, e: TaskEntry, o: EndOptions): void {
  const agent = e.agentId === undefined ? undefined : s.ctx.agents[e.agentId]
  const wasAllocating = e.status === 'allocating'
  if (agent !== undefined) {
    if (agent.running[e.id] === e.attempt) {
      delete agent.running[e.id]
      if (o.cancel && !wasAllocating && agent.liveness !== 'dead') {
        // The slot stays taken until the agent has really stopped the attempt.
        agent.dying[`${e.id}#${e.attempt}`] = true
      } else freeSlot(s, agent)
    }
    if (o.outcome !== undefined) feedBreaker(s, agent, o.outcome)
    else if (e.probe) releaseProbe(agent)
    if (o.cancel && !wasAllocating) {
      s.out.push({ type: 'cancel', agentId: agent.id, taskId: e.id, attempt: e.attempt })
    }
  }
  e.probe = false
  e.deadline = undefined
  if (o.release && needsResources(e.task)) {
    s.out.push({ type: 'release', requestId: requestIdOf(e.id, e.attempt) })
  }
}

/** Gives one slot of the agent back. */
export function freeSlot(s: Step, agent: AgentEntry): void {
  agent.load--
  if (agent.draining && agent.load === 0) {
    s.out.push({ type: 'agentEvent', agentId: agent.id, event: 'drained', data: {} })
  }
}

/** A cancelled attempt has ended on its agent (reported, or no longer listed): free its slot. */
export function releaseDying(s: Step, agent: AgentEntry, key: string): void {
  if (!agent.dying[key]) return
  delete agent.dying[key]
  freeSlot(s, agent)
}

/** Queues the task again with the next attempt, ready at `notBefore`. */
export function requeue(
  s: Step,
  e: TaskEntry,
  notBefore: number,
  event: 'retrying' | 'requeued',
  data: Record<string, unknown>,
): void {
  e.attempt++
  e.dispatched = false
  e.status = 'queued'
  e.assignedAt = undefined
  e.startedAt = undefined
  e.notBefore = notBefore
  s.out.push({ type: 'taskEvent', taskId: e.id, event, data: { ...data, attempt: e.attempt, notBefore } })
  if (notBefore <= s.now) enqueueReady(s.ctx, e)
  else pushTimer(s.ctx, notBefore, 'ready', e.id, e.attempt)
}

/** Backoff before retry number `n` (1-based), in ms. */
export function backoffMs(p: RetryPolicy, n: number): number {
  if (p.backoff === 'fixed') return p.initial_delay * 1000
  return Math.min(p.initial_delay * 2 ** (n - 1), p.max_delay) * 1000
}

export function retryPolicyOf(s: Step, task: Task): RetryPolicy {
  return task.retry ? { ...s.ctx.config.defaultRetry, ...task.retry } : s.ctx.config.defaultRetry
}

/** The task reached a final status: record it and tell the client, once. */
export function finalize(
  s: Step,
  e: TaskEntry,
  status: 'success' | 'failed' | 'timeout' | 'cancelled',
  fields: { output?: unknown; error?: string } = {},
): void {
  e.status = status
  e.finishedAt = s.now
  e.deadline = undefined
  if ('output' in fields) e.output = fields.output
  if (fields.error !== undefined) e.error = fields.error
  s.out.push({ type: 'taskDone', record: taskRecord(e) })
  const ctx = s.ctx
  ctx.finished.push(e.id)
  while (ctx.finished.length - ctx.finishedHead > ctx.config.retainFinished) {
    const old = ctx.finished[ctx.finishedHead++]
    const oe = ctx.tasks[old]
    if (oe !== undefined && oe.finishedAt !== undefined) delete ctx.tasks[old]
  }
  if (ctx.finishedHead > 1024 && ctx.finishedHead * 2 > ctx.finished.length) {
    ctx.finished = ctx.finished.slice(ctx.finishedHead)
    ctx.finishedHead = 0
  }
}

/** A counted failure: retry after backoff while the budget lasts, else finish with `finalStatus`. */
export function failOrRetry(s: Step, e: TaskEntry, finalStatus: 'failed' | 'timeout', error: string): void {
  e.failures++
  const policy = retryPolicyOf(s, e.task)
  if (e.failures <= policy.max_retries) {
    e.error = error
    // Try another agent first: the one that just failed is the likeliest to fail again.
    e.avoid = e.agentId
    requeue(s, e, s.now + backoffMs(policy, e.failures), 'retrying', { error, failures: e.failures })
  } else {
    finalize(s, e, finalStatus, { error })
  }
}
