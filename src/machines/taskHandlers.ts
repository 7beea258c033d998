/**
 * The coordinator's task side: submission, results (with stale-attempt fencing), cancellation,
 * start acknowledgements, timeouts and the resource-allocation replies.
 */
import type { Task, TaskResult } from '../schema/domain.ts'
import type { Step, TaskEntry } from './coordinatorTypes.ts'
import { recordDuration } from './strategies/index.ts'
import {
  endAttempt,
  failOrRetry,
  finalize,
  parseRequestId,
  releaseDying,
  requeue,
  startAttempt,
} from './taskAttempt.ts'
import { classKeyOf, enqueueReady, leaveReady } from './taskQueue.ts'

const inFlight = (e: TaskEntry): boolean => e.status === 'assigned' || e.status === 'running'

export function submitTask(s: Step, raw: Task): void {
  const ctx = s.ctx
  if (ctx.tasks[raw.task_id] !== undefined) return // at-least-once submission: the first copy wins
  const task: Task = {
    ...raw,
    priority: raw.priority ?? 5,
    required_capabilities: raw.required_capabilities.map((c) => c.trim().toLowerCase()),
  }
  const e: TaskEntry = {
    id: task.task_id,
    task,
    status: 'queued',
    attempt: 1,
    dispatched: false,
    agentId: undefined,
    submittedAt: s.now,
    assignedAt: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    notBefore: s.now,
    deadline: undefined,
    failures: 0,
    seq: ctx.seq++,
    classKey: classKeyOf(task),
    inReady: false,
    probe: false,
    avoid: undefined,
  }
  ctx.tasks[e.id] = e
  s.out.push({ type: 'taskEvent', taskId: e.id, event: 'queued', data: { priority: task.priority } })
  enqueueReady(ctx, e)
}

export function applyResult(s: Step, r: TaskResult): void {
  const e = s.ctx.tasks[r.task_id]
  if (e === undefined) return
  const current = inFlight(e) && e.attempt === r.attempt && e.agentId === r.agent_id
  const agent = s.ctx.agents[r.agent_id]
  if (agent !== undefined) releaseDying(s, agent, `${r.task_id}#${r.attempt}`)
  if (!current && !s.rules.acceptStaleResults) {
    s.out.push({
      type: 'taskEvent',
      taskId: e.id,
      event: 'staleResult',
      data: { attempt: r.attempt, agentId: r.agent_id, currentAttempt: e.attempt, status: e.status },
    })
    return
  }
  if (r.status === 'success') {
    const ms = r.finished_at - r.started_at
    recordDuration(
      s.ctx.durations,
      r.agent_id,
      e.task.task_type,
      ms >= 0 ? ms : s.now - (e.assignedAt ?? s.now),
    )
    endAttempt(s, e, { cancel: false, release: true, outcome: 'success' })
    if (e.startedAt === undefined) e.startedAt = r.started_at
    finalize(s, e, 'success', { output: r.output })
    return
  }
  if (r.status === 'cancelled') {
    // The agent gave the task up on its own (shutdown, executor restart): counts against the
    // retry budget, so an agent that always gives up cannot loop a task forever, but not the breaker.
    endAttempt(s, e, { cancel: false, release: true })
    failOrRetry(s, e, 'failed', r.error ?? 'cancelled by the agent')
    return
  }
  endAttempt(s, e, { cancel: false, release: true, outcome: 'failure' })
  failOrRetry(s, e, r.status, r.error ?? r.status)
}

export function cancelTask(s: Step, taskId: string): void {
  const e = s.ctx.tasks[taskId]
  if (e === undefined || e.finishedAt !== undefined) return
  if (e.status === 'queued') leaveReady(s.ctx, e)
  else endAttempt(s, e, { cancel: true, release: true })
  finalize(s, e, 'cancelled')
}

export function taskStarted(s: Step, taskId: string, attempt: number, agentId: string): void {
  const e = s.ctx.tasks[taskId]
  if (e === undefined || e.status !== 'assigned' || e.attempt !== attempt || e.agentId !== agentId) return
  e.status = 'running'
  e.startedAt = s.now
  s.out.push({ type: 'taskEvent', taskId, event: 'started', data: { agentId, attempt } })
}

/** A deadline timer fired: stop the attempt at the agent and count a timeout. */
export function checkTimeout(s: Step, taskId: string, attempt: number): void {
  const e = s.ctx.tasks[taskId]
  if (
    e === undefined ||
    !inFlight(e) ||
    e.attempt !== attempt ||
    e.deadline === undefined ||
    e.deadline > s.now
  )
    return
  const error = `timed out after ${e.task.timeout}s`
  s.out.push({ type: 'taskEvent', taskId, event: 'timedOut', data: { agentId: e.agentId, attempt } })
  endAttempt(s, e, { cancel: true, release: true, outcome: 'failure' })
  failOrRetry(s, e, 'timeout', error)
}

/** The allocator reserved the resources: assign, or give back a grant nobody waits for any more. */
export function allocationGranted(s: Step, requestId: string): void {
  const id = parseRequestId(requestId)
  const e = id && s.ctx.tasks[id.taskId]
  if (id && e && e.status === 'allocating' && e.attempt === id.attempt) startAttempt(s, e)
  else s.out.push({ type: 'release', requestId })
}

/** Denied or preempted: the attempt ends without counting as a failure; the task goes back in the queue. */
export function allocationLost(
  s: Step,
  requestId: string,
  kind: 'denied' | 'preempted',
  reason?: string,
): void {
  const id = parseRequestId(requestId)
  const e = id && s.ctx.tasks[id.taskId]
  if (!id || !e || e.attempt !== id.attempt) return
  const agentId = e.agentId
  if (e.status === 'allocating') {
    endAttempt(s, e, { cancel: false, release: false })
    e.avoid = agentId
    requeue(s, e, s.now + s.ctx.config.allocationRetryMs, 'requeued', {
      reason: kind === 'denied' ? 'allocation_denied' : 'preempted',
      agentId,
      detail: reason,
    })
  } else if (kind === 'preempted' && inFlight(e)) {
    endAttempt(s, e, { cancel: true, release: false })
    requeue(s, e, s.now, 'requeued', { reason: 'preempted', agentId })
  }
}

/**
 * The agent gave an attempt back without running it (at capacity, draining, stopping): requeue it
 * at once, not counted against the retry budget, preferring another agent.
 */
export function taskRejected(
  s: Step,
  taskId: string,
  attempt: number,
  agentId: string,
  reason: string,
): void {
  const e = s.ctx.tasks[taskId]
  if (e === undefined || e.attempt !== attempt || e.agentId !== agentId || e.finishedAt !== undefined) return
  endAttempt(s, e, { cancel: false, release: true })
  e.avoid = agentId
  // Not at once: if that agent is the only one that fits, an immediate retry would bounce.
  requeue(s, e, s.now + s.ctx.config.allocationRetryMs, 'requeued', {
    reason: `rejected: ${reason}`,
    agentId,
  })
}
