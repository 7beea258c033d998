/**
 * Pure read helpers over a coordinator context, for the host's query APIs and for tests.
 */
import type { AgentView, TaskRecord, TaskStatus } from '../schema/domain.ts'
import { breakerCanRoute, breakerView } from './breaker.ts'
import { nextTimerAt } from './coordinatorTimers.ts'
import type { AgentEntry, CoordinatorContext, Liveness, TaskEntry } from './coordinatorTypes.ts'

/** A task entry as clients see it (`allocating` reads as `queued`: no agent runs it yet). */
export function taskRecord(e: TaskEntry): TaskRecord {
  const r: TaskRecord = {
    task_id: e.id,
    task: e.task as unknown as Record<string, unknown>,
    status: e.status === 'allocating' ? 'queued' : e.status,
    attempts: e.dispatched || e.finishedAt !== undefined ? e.attempt : e.attempt - 1,
    submitted_at: e.submittedAt,
  }
  if (e.agentId !== undefined) r.agent_id = e.agentId
  if (e.output !== undefined) r.output = e.output
  if (e.error !== undefined) r.error = e.error
  const started = e.startedAt ?? e.assignedAt
  if (started !== undefined) r.started_at = started
  if (e.finishedAt !== undefined) r.finished_at = e.finishedAt
  return r
}

/** The record of one task, or `undefined` when unknown (or pruned long after it finished). */
export function getTask(ctx: CoordinatorContext, taskId: string): TaskRecord | undefined {
  const e = ctx.tasks[taskId]
  return e === undefined ? undefined : taskRecord(e)
}

/** Which tasks {@link listTasks} returns (the `task.list` message body, or just a status). */
export interface TaskFilter {
  status?: TaskStatus
  task_ids?: string[]
  limit?: number
}

/**
 * Records of known tasks, optionally filtered. By `task_ids` it is O(ids); otherwise it walks the
 * table (O(tasks)): for queries, not hot paths.
 */
export function listTasks(ctx: CoordinatorContext, filter: TaskStatus | TaskFilter = {}): TaskRecord[] {
  const f: TaskFilter = typeof filter === 'string' ? { status: filter } : filter
  const limit = f.limit ?? Number.POSITIVE_INFINITY
  const out: TaskRecord[] = []
  const ids: Iterable<string> = f.task_ids ?? Object.keys(ctx.tasks)
  for (const id of ids) {
    if (out.length >= limit) break
    const e = ctx.tasks[id]
    if (e === undefined) continue
    const r = taskRecord(e)
    if (f.status === undefined || r.status === f.status) out.push(r)
  }
  return out
}

/** An agent's liveness as an observer at `now` sees it (the context only changes on events). */
export function livenessAt(ctx: CoordinatorContext, a: AgentEntry, now: number): Liveness {
  if (a.liveness === 'dead') return 'dead'
  const silent = now - a.lastHeartbeat
  if (silent >= ctx.config.deadAfterMs) return 'dead'
  if (silent >= ctx.config.suspectAfterMs) return 'suspect'
  return a.liveness
}

/** Which agents {@link listAgents} returns (the `agent.list` message body, plus a few more). */
export interface AgentFilter {
  /** `alive`, `suspect`, `dead` or `draining`. */
  state?: string
  capability?: string
  agent_type?: string
  /** Would be offered new work now (alive, not draining, below max_tasks, breaker lets it through). */
  available?: boolean
  /** Below max_tasks, whatever its state. */
  has_capacity?: boolean
}

/**
 * Agents as the host's read API shows them. `state` is the liveness at `now`, or `draining` for a
 * live draining agent; `available` means it would be offered new work now.
 */
export function listAgents(ctx: CoordinatorContext, now: number, filter: AgentFilter = {}): AgentView[] {
  const out: AgentView[] = []
  const cap = filter.capability?.toLowerCase()
  for (const id in ctx.agents) {
    const a = ctx.agents[id]
    const live = livenessAt(ctx, a, now)
    const state = live === 'alive' && a.draining ? 'draining' : live
    const hasCapacity = a.load < a.info.max_tasks
    const available = state === 'alive' && hasCapacity && breakerCanRoute(a.breaker, now)
    if (filter.state !== undefined && filter.state !== state) continue
    if (cap !== undefined && a.caps[cap] !== true) continue
    if (filter.agent_type !== undefined && filter.agent_type !== a.info.agent_type) continue
    if (filter.available !== undefined && filter.available !== available) continue
    if (filter.has_capacity !== undefined && filter.has_capacity !== hasCapacity) continue
    out.push({
      ...a.info,
      state,
      load: a.load,
      available,
      last_heartbeat: a.lastHeartbeat,
      breaker: breakerView(a.breaker, now),
    })
  }
  return out
}

/**
 * When the host should next send `{ type: 'tick', now }`: the earliest backoff end, task
 * deadline, heartbeat expiry or breaker recovery. Never later than needed; occasionally earlier
 * (a superseded deadline), which costs one cheap tick.
 */
export function coordinatorDeadline(ctx: CoordinatorContext): number | undefined {
  return nextTimerAt(ctx)
}
