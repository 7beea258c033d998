/**
 * The dispatch pass, run after every event: hands ready tasks to eligible agents, highest
 * priority first and FIFO within a priority. A task no agent can take does not hold up the tasks
 * behind it, but since tasks are considered strictly in order, a lower-priority task never takes
 * a slot that an eligible higher-priority task could have used.
 *
 * Cost: the ready tasks live in one heap per eligibility class. Each step compares the heads of
 * the classes, and either places the best head or rules out its whole class for this pass (every
 * task in a class has the same eligibility, and agents only fill up during a pass). So a pass is
 * O((placed + classes) × (classes + agents)), independent of the queue's length.
 */
import type { Task } from '../schema/domain.ts'
import { breakerCanRoute } from './breaker.ts'
import { routeThroughBreaker } from './coordinatorBreaker.ts'
import type { AgentEntry, ReadyClass, Step, TaskEntry } from './coordinatorTypes.ts'
import { expectedDuration, type StrategyContext, strategies } from './strategies/index.ts'
import { needsResources, requestIdOf, startAttempt } from './taskAttempt.ts'
import { peekClass, popClass, runsBefore } from './taskQueue.ts'

/** A strategy answered with an agent that was not among its candidates: a programming error. */
export class StrategyContractError extends Error {
  readonly retryable = false
  constructor(strategy: string, chosen: string | undefined) {
    super(`strategy ${strategy} chose ${chosen ?? 'nothing'}, which is not an offered candidate`)
    this.name = 'StrategyContractError'
  }
}

/** Whether the agent may be offered one more task right now (class-independent checks). */
export function canTakeWork(s: Step, a: AgentEntry): boolean {
  return (
    a.liveness === 'alive' &&
    !a.draining &&
    (!s.rules.enforceMaxTasks || a.load < a.info.max_tasks) &&
    breakerCanRoute(a.breaker, s.now)
  )
}

/** Whether the agent satisfies a class's static requirements (capabilities, type, exclusions). */
export function matchesClass(
  a: AgentEntry,
  cls: Pick<ReadyClass, 'caps' | 'agentType' | 'exclude'>,
): boolean {
  if (cls.agentType !== undefined && cls.agentType !== a.info.agent_type) return false
  for (const c of cls.caps) if (a.caps[c] !== true) return false
  return !cls.exclude.includes(a.id)
}

/** Whether the agent could ever take the task (ignoring load, liveness and breaker). */
export function agentFitsTask(a: AgentEntry, task: Task): boolean {
  return matchesClass(a, {
    caps: task.required_capabilities,
    agentType: task.required_agent_type,
    exclude: task.exclude_agents ?? [],
  })
}

function place(s: Step, e: TaskEntry, agent: AgentEntry): void {
  e.probe = routeThroughBreaker(s, agent)
  agent.load++
  agent.running[e.id] = e.attempt
  e.agentId = agent.id
  e.dispatched = true
  if (!needsResources(e.task)) {
    startAttempt(s, e)
    return
  }
  e.status = 'allocating'
  const requestId = requestIdOf(e.id, e.attempt)
  s.out.push({
    type: 'allocate',
    requestId,
    owner: e.id,
    agentId: agent.id,
    priority: e.task.priority ?? 5,
    resources: e.task.resources ?? {},
  })
  s.out.push({
    type: 'taskEvent',
    taskId: e.id,
    event: 'allocating',
    data: { agentId: agent.id, attempt: e.attempt, requestId },
  })
}

export function dispatch(s: Step): void {
  const ctx = s.ctx
  if (ctx.queue.size === 0) return
  const routable: AgentEntry[] = []
  for (const id in ctx.agents) {
    const a = ctx.agents[id]
    if (canTakeWork(s, a)) routable.push(a)
  }
  if (routable.length === 0) return

  const name = ctx.config.strategy
  const strategy = strategies[name]
  const sctx: { -readonly [K in keyof StrategyContext]: StrategyContext[K] } = {
    now: s.now,
    lastRoundRobin: ctx.lastRoundRobin,
    expectedDuration: (agentId, taskType) => expectedDuration(ctx.durations, agentId, taskType),
  }
  const live: ReadyClass[] = Object.values(ctx.queue.classes)
  const fitting = new Map<ReadyClass, AgentEntry[]>()
  const candidates: AgentEntry[] = []

  while (live.length > 0) {
    let bestI = -1
    let best: TaskEntry | undefined
    for (let i = 0; i < live.length; i++) {
      const head = peekClass(ctx, live[i])
      if (head === undefined) {
        live[i--] = live[live.length - 1]
        live.pop()
      } else if (best === undefined || (s.rules.dispatchInPriorityOrder && runsBefore(head, best))) {
        best = head
        bestI = i
      }
    }
    if (best === undefined) return
    const cls = live[bestI]
    let fit = fitting.get(cls)
    if (fit === undefined) {
      fit = routable.filter((a) => matchesClass(a, cls))
      fitting.set(cls, fit)
    }
    candidates.length = 0
    for (const a of fit) if (canTakeWork(s, a)) candidates.push(a)
    if (candidates.length === 0) {
      live[bestI] = live[live.length - 1]
      live.pop()
      continue
    }
    const avoid = best.avoid
    const pool =
      avoid !== undefined && candidates.length > 1 && candidates.some((a) => a.id === avoid)
        ? candidates.filter((a) => a.id !== avoid)
        : candidates
    const chosenId = strategy(pool, best.task, sctx)
    const agent = pool.find((a) => a.id === chosenId)
    if (agent === undefined) throw new StrategyContractError(name, chosenId)
    popClass(ctx, cls)
    place(s, best, agent)
    if (name === 'round_robin') {
      ctx.lastRoundRobin = agent.id
      sctx.lastRoundRobin = agent.id
    }
  }
}
