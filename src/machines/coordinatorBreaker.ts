/**
 * The coordinator's use of the per-agent circuit breakers (pure logic in breaker.ts): routing
 * through them, feeding outcomes, and announcing their transitions as agent events.
 */
import { breakerOnOutcome, breakerOnRoute } from './breaker.ts'
import { pushTimer } from './coordinatorTimers.ts'
import type { AgentEntry, Step } from './coordinatorTypes.ts'

/** Records a routing decision; returns whether the task is the breaker's half-open probe. */
export function routeThroughBreaker(s: Step, agent: AgentEntry): boolean {
  const before = agent.breaker
  if (before.state === 'closed') return false
  agent.breaker = breakerOnRoute(before, s.now)
  if (before.state === 'open' && agent.breaker.state === 'half-open') {
    s.out.push({ type: 'agentEvent', agentId: agent.id, event: 'breakerHalfOpen', data: {} })
  }
  return agent.breaker.state === 'half-open'
}

/** Feeds a task outcome into the agent's breaker, announcing open/close transitions. */
export function feedBreaker(s: Step, agent: AgentEntry, outcome: 'success' | 'failure'): void {
  const before = agent.breaker
  const after = breakerOnOutcome(before, outcome, s.now, s.ctx.config.breaker)
  agent.breaker = after
  if (after.state === 'open' && before.state !== 'open') {
    pushTimer(s.ctx, after.until, 'breaker', agent.id)
    s.out.push({
      type: 'agentEvent',
      agentId: agent.id,
      event: 'breakerOpened',
      data: { until: after.until },
    })
  } else if (after.state === 'closed' && before.state !== 'closed') {
    s.out.push({ type: 'agentEvent', agentId: agent.id, event: 'breakerClosed', data: {} })
  }
}

/**
 * A probe attempt ended without an outcome (cancelled, preempted, agent lost): let the next task
 * probe instead. Without this a half-open breaker whose probe vanished would never route again.
 */
export function releaseProbe(agent: AgentEntry): void {
  if (agent.breaker.state === 'half-open' && agent.breaker.probeInFlight) {
    agent.breaker = { state: 'half-open', probeInFlight: false }
  }
}
