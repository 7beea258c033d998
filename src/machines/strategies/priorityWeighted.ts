import type { AgentCandidate, Strategy } from './types.ts'

/** An agent's share: its weight (1-100) divided by the tasks it would then run. */
export function weightedScore(c: AgentCandidate): number {
  return c.info.weight / (c.load + 1)
}

/**
 * Priority weighted. Without `ctx.random` it is deterministic: the highest weight / (load + 1)
 * wins, ties by load then id. With `ctx.random` it draws an agent with probability proportional
 * to score^(priority / 5): priority 5 is proportional to the score, priority 10 squares it (urgent
 * tasks lean hard towards the strongest, least busy agents), priority 1 flattens the draw
 * (background work spreads out).
 */
export const priorityWeighted: Strategy = (candidates, task, ctx) => {
  if (candidates.length === 0) return undefined
  if (ctx.random) {
    const exp = task.priority / 5
    let total = 0
    const scores = candidates.map((c) => {
      const s = weightedScore(c) ** exp
      total += s
      return s
    })
    let r = ctx.random() * total
    for (let i = 0; i < candidates.length; i++) {
      r -= scores[i]
      if (r < 0) return candidates[i].id
    }
    return candidates[candidates.length - 1].id
  }
  let best = candidates[0]
  let bestScore = weightedScore(best)
  for (let i = 1; i < candidates.length; i++) {
    const c = candidates[i]
    const s = weightedScore(c)
    if (
      s > bestScore ||
      (s === bestScore && (c.load < best.load || (c.load === best.load && c.id < best.id)))
    ) {
      best = c
      bestScore = s
    }
  }
  return best.id
}
