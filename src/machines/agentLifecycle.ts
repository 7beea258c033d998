/**
 * The coordinator's registry side: registration, heartbeats, liveness (alive → suspect → dead),
 * draining and deregistration. Losing an agent (death, restart, deregistration) requeues all its
 * in-flight tasks with the next attempt, not counted against their retry budget: the agent
 * failed, not the task.
 */
import type { AgentInfo } from '../schema/domain.ts'
import { initialBreaker } from './breaker.ts'
import { releaseProbe } from './coordinatorBreaker.ts'
import { pushTimer } from './coordinatorTimers.ts'
import type { AgentEntry, Step } from './coordinatorTypes.ts'
import { endAttempt, releaseDying, requeue } from './taskAttempt.ts'

function capsOf(info: AgentInfo): { list: string[]; set: Record<string, true> } {
  const list = info.capabilities.map((c) => c.trim().toLowerCase())
  const set: Record<string, true> = Object.create(null)
  for (const c of list) set[c] = true
  return { list, set }
}

/** Arms the agent's one pending liveness check at its next expiry, unless one is already earlier. */
function armLiveness(s: Step, a: AgentEntry): void {
  const cfg = s.ctx.config
  const at = a.lastHeartbeat + (a.liveness === 'alive' ? cfg.suspectAfterMs : cfg.deadAfterMs)
  if (a.liveness === 'dead' || (a.livenessTimer !== undefined && a.livenessTimer <= at)) return
  a.livenessTimer = at
  pushTimer(s.ctx, at, 'liveness', a.id)
}

/** Requeues every task in flight on the agent (attempt + 1, not counted as a failure). */
export function loseAgentTasks(s: Step, a: AgentEntry, reason: string): void {
  if (!s.rules.requeueOnAgentLoss) return
  for (const taskId in a.running) {
    const e = s.ctx.tasks[taskId]
    if (e === undefined || e.attempt !== a.running[taskId]) {
      delete a.running[taskId]
      a.load--
      continue
    }
    endAttempt(s, e, { cancel: true, release: true })
    requeue(s, e, s.now, 'requeued', { reason, agentId: a.id })
  }
  // Whatever was dying there is gone with the agent.
  for (const key in a.dying) {
    delete a.dying[key]
    a.load--
  }
  releaseProbe(a)
}

export function registerAgent(s: Step, raw: AgentInfo): void {
  const { list, set } = capsOf(raw)
  const info: AgentInfo = {
    ...raw,
    capabilities: list,
    max_tasks: Math.max(1, raw.max_tasks ?? 1),
    weight: Math.min(100, Math.max(1, raw.weight ?? 50)),
  }
  const old = s.ctx.agents[info.agent_id]
  if (old !== undefined) {
    // A registration from a known id is a restart: whatever it was running is gone.
    loseAgentTasks(s, old, 'agent_restarted')
    const from = old.liveness
    old.info = info
    old.caps = set
    old.liveness = 'alive'
    old.draining = false
    old.lastHeartbeat = Math.max(old.lastHeartbeat, s.now)
    old.reportedLoad = 0
    armLiveness(s, old)
    s.out.push({
      type: 'agentEvent',
      agentId: old.id,
      event: from === 'alive' ? 'registered' : 'revived',
      data: { from, reregistered: true },
    })
    return
  }
  const a: AgentEntry = {
    id: info.agent_id,
    info,
    load: 0,
    caps: set,
    liveness: 'alive',
    draining: false,
    running: Object.create(null),
    dying: Object.create(null),
    lastHeartbeat: s.now,
    reportedLoad: 0,
    breaker: initialBreaker(),
    livenessTimer: undefined,
  }
  s.ctx.agents[a.id] = a
  armLiveness(s, a)
  s.out.push({
    type: 'agentEvent',
    agentId: a.id,
    event: 'registered',
    data: { agent_type: info.agent_type },
  })
}

export function heartbeat(
  s: Step,
  agentId: string,
  load: number,
  running: readonly { task_id: string; attempt: number }[],
): void {
  const a = s.ctx.agents[agentId]
  if (a === undefined) return // unknown agents must register first: a heartbeat carries no capabilities
  a.lastHeartbeat = Math.max(a.lastHeartbeat, s.now)
  a.reportedLoad = load
  if (a.liveness !== 'alive') {
    const from = a.liveness
    a.liveness = 'alive'
    s.out.push({ type: 'agentEvent', agentId, event: 'revived', data: { from } })
  }
  armLiveness(s, a)
  // Attempts the agent still runs that are no longer wanted (stale, finished, reassigned): stop them,
  // so a revived agent does not spend its slots on work someone else now owns.
  for (const r of running) {
    if (a.running[r.task_id] === r.attempt) continue
    const e = s.ctx.tasks[r.task_id]
    if (e !== undefined && e.attempt === r.attempt && e.agentId === agentId && e.finishedAt === undefined)
      continue
    s.out.push({ type: 'cancel', agentId, taskId: r.task_id, attempt: r.attempt })
  }
  requeueUnlisted(s, a, running)
  let listedNow: Set<string> | undefined
  for (const key in a.dying) {
    listedNow ??= new Set(running.map((r) => `${r.task_id}#${r.attempt}`))
    if (!listedNow.has(key)) releaseDying(s, a, key)
  }
}

/**
 * Attempts the agent should be running but no longer lists: their assignment or their result was
 * lost on the way (core NATS is at-most-once; a server restart drops what it held). Results and
 * heartbeats travel the same connection in order, so a finished attempt's result arrives before a
 * heartbeat that omits it. Only attempts assigned more than two heartbeat intervals ago count: a
 * heartbeat sent just before an assignment arrived must not requeue it.
 */
function requeueUnlisted(
  s: Step,
  a: AgentEntry,
  running: readonly { task_id: string; attempt: number }[],
): void {
  if (!s.rules.requeueOnAgentLoss) return
  const grace = 2 * s.ctx.config.heartbeatIntervalMs
  let listed: Set<string> | undefined
  for (const taskId in a.running) {
    const e = s.ctx.tasks[taskId]
    if (e === undefined || e.attempt !== a.running[taskId]) continue
    if (e.status !== 'assigned' && e.status !== 'running') continue
    if (e.assignedAt === undefined || s.now - e.assignedAt < grace) continue
    listed ??= new Set(running.map((r) => `${r.task_id}#${r.attempt}`))
    if (listed.has(`${taskId}#${e.attempt}`)) continue
    // Not running there: nothing to cancel, and its slot is free now.
    endAttempt(s, e, { cancel: false, release: true })
    requeue(s, e, s.now, 'requeued', { reason: 'lost_in_transit', agentId: a.id })
  }
}

/** A liveness timer fired: demote the agent if it has been silent too long, else re-arm. */
export function checkLiveness(s: Step, agentId: string, at: number): void {
  const a = s.ctx.agents[agentId]
  if (a === undefined || a.livenessTimer !== at) return
  a.livenessTimer = undefined
  const silent = s.now - a.lastHeartbeat
  const cfg = s.ctx.config
  if (a.liveness === 'alive' && silent >= cfg.suspectAfterMs) {
    a.liveness = 'suspect'
    s.out.push({ type: 'agentEvent', agentId, event: 'suspect', data: { lastHeartbeat: a.lastHeartbeat } })
  }
  if (a.liveness === 'suspect' && silent >= cfg.deadAfterMs) {
    a.liveness = 'dead'
    s.out.push({ type: 'agentEvent', agentId, event: 'dead', data: { lastHeartbeat: a.lastHeartbeat } })
    loseAgentTasks(s, a, 'agent_dead')
    return
  }
  armLiveness(s, a)
}

export function deregisterAgent(s: Step, agentId: string): void {
  const a = s.ctx.agents[agentId]
  if (a === undefined) return
  loseAgentTasks(s, a, 'agent_deregistered')
  delete s.ctx.agents[agentId]
  s.out.push({ type: 'agentEvent', agentId, event: 'deregistered', data: {} })
}

export function drainAgent(s: Step, agentId: string): void {
  const a = s.ctx.agents[agentId]
  if (a === undefined || a.draining) return
  a.draining = true
  s.out.push({ type: 'agentEvent', agentId, event: 'draining', data: { load: a.load } })
  if (a.load === 0) s.out.push({ type: 'agentEvent', agentId, event: 'drained', data: {} })
}
