/**
 * One coordinator step: apply an event, fire whatever timers are due, then dispatch. Pure apart
 * from updating the context it is given (see coordinatorTypes on ownership); everything the
 * outside world must hear is pushed to `out`.
 */
import { checkLiveness, deregisterAgent, drainAgent, heartbeat, registerAgent } from './agentLifecycle.ts'
import { popDueTimer } from './coordinatorTimers.ts'
import type {
  CoordinatorContext,
  CoordinatorEmitted,
  CoordinatorEvent,
  CoordinatorRules,
  Step,
} from './coordinatorTypes.ts'
import { CORRECT_RULES } from './coordinatorTypes.ts'
import { dispatch } from './dispatch.ts'
import {
  allocationGranted,
  allocationLost,
  applyResult,
  cancelTask,
  checkTimeout,
  submitTask,
  taskRejected,
  taskStarted,
} from './taskHandlers.ts'
import { enqueueReady } from './taskQueue.ts'

function fireDueTimers(s: Step): void {
  const ctx = s.ctx
  for (let t = popDueTimer(ctx, s.now); t !== undefined; t = popDueTimer(ctx, s.now)) {
    switch (t.kind) {
      case 'ready': {
        const e = ctx.tasks[t.id]
        if (e !== undefined && e.status === 'queued' && e.attempt === t.attempt) enqueueReady(ctx, e)
        break
      }
      case 'deadline':
        checkTimeout(s, t.id, t.attempt)
        break
      case 'liveness':
        checkLiveness(s, t.id, t.at)
        break
      case 'breaker': {
        const a = ctx.agents[t.id]
        if (a !== undefined && a.breaker.state === 'open' && a.breaker.until <= s.now) {
          s.out.push({ type: 'agentEvent', agentId: a.id, event: 'breakerHalfOpen', data: {} })
        }
        break
      }
    }
  }
}

/** Applies one event to the context (in place) and returns what to emit, in order. */
export function coordinatorStep(
  ctx: CoordinatorContext,
  ev: CoordinatorEvent,
  rules: CoordinatorRules = CORRECT_RULES,
  out: CoordinatorEmitted[] = [],
): CoordinatorEmitted[] {
  if (ev.type === 'batch') {
    for (const inner of ev.events) coordinatorStep(ctx, inner, rules, out)
    return out
  }
  const s: Step = { ctx, out, now: ev.now, rules }
  switch (ev.type) {
    case 'agent.register':
      registerAgent(s, ev.info)
      break
    case 'agent.heartbeat':
      heartbeat(s, ev.agentId, ev.load, ev.running ?? [])
      break
    case 'agent.deregister':
      deregisterAgent(s, ev.agentId)
      break
    case 'agent.drain':
      drainAgent(s, ev.agentId)
      break
    case 'task.submit':
      submitTask(s, ev.task)
      break
    case 'task.result':
      applyResult(s, ev.result)
      break
    case 'task.cancel':
      cancelTask(s, ev.taskId)
      break
    case 'task.rejected':
      taskRejected(s, ev.taskId, ev.attempt, ev.agentId, ev.reason)
      break
    case 'task.started':
      taskStarted(s, ev.taskId, ev.attempt, ev.agentId)
      break
    case 'allocation.granted':
      allocationGranted(s, ev.requestId)
      break
    case 'allocation.denied':
      allocationLost(s, ev.requestId, 'denied', ev.reason)
      break
    case 'allocation.preempted':
      allocationLost(s, ev.requestId, 'preempted')
      break
    case 'tick':
      break
    default:
      return out
  }
  fireDueTimers(s)
  dispatch(s)
  return out
}
