import type { Task } from '../../schema/domain.ts'
import type { AgentCandidate, Strategy } from './types.ts'

/** Soft requirements: `task.metadata.preferred_capabilities` (strings), lower-cased. */
function preferred(task: Task): string[] {
  const p = task.metadata?.preferred_capabilities
  return Array.isArray(p)
    ? p.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase())
    : []
}

/**
 * Capability-match score of one agent for a task: the number of required capabilities it has
 * (equal for every eligible agent, since eligibility demands all of them), plus the number of the
 * task's preferred capabilities it has, plus a fit in (0, 1]: the share of the agent's
 * capabilities the task uses. The fit makes a specialist win over a generalist, which keeps
 * generalists free for the tasks only they can take.
 */
export function capabilityScore(
  agent: AgentCandidate,
  task: Task,
  soft: readonly string[] = preferred(task),
): number {
  const caps = agent.info.capabilities
  let used = 0
  for (const r of task.required_capabilities) if (caps.includes(r)) used++
  let bonus = 0
  for (const p of soft) if (caps.includes(p)) bonus++
  let usedTotal = used
  for (const p of soft) if (caps.includes(p) && !task.required_capabilities.includes(p)) usedTotal++
  return used + bonus + usedTotal / Math.max(1, caps.length)
}

/** Highest {@link capabilityScore}; ties by load, then id. */
export const capabilityMatch: Strategy = (candidates, task) => {
  const soft = preferred(task)
  let best: AgentCandidate | undefined
  let bestScore = Number.NEGATIVE_INFINITY
  for (const c of candidates) {
    const s = capabilityScore(c, task, soft)
    if (
      best === undefined ||
      s > bestScore ||
      (s === bestScore && (c.load < best.load || (c.load === best.load && c.id < best.id)))
    ) {
      best = c
      bestScore = s
    }
  }
  return best?.id
}
