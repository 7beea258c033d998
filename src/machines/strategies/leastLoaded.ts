import type { AgentCandidate, Strategy } from './types.ts'

/**
 * Least loaded by utilisation (load / max_tasks), so an agent with ten slots and two tasks counts
 * as less busy than one with two slots and one task; ties go to the lower absolute load, then the
 * smaller id.
 */
export const leastLoaded: Strategy = (candidates) => {
  let best: AgentCandidate | undefined
  let bestUse = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const use = c.load / c.info.max_tasks
    if (
      best === undefined ||
      use < bestUse ||
      (use === bestUse && (c.load < best.load || (c.load === best.load && c.id < best.id)))
    ) {
      best = c
      bestUse = use
    }
  }
  return best?.id
}
