import type { Strategy } from './types.ts'

/**
 * Round robin over agent ids: picks the smallest id greater than the last one picked, wrapping
 * around. Keyed on ids rather than positions, so agents joining or leaving do not make it skip
 * or repeat anyone.
 */
export const roundRobin: Strategy = (candidates, _task, ctx) => {
  const last = ctx.lastRoundRobin
  let next: string | undefined
  let first: string | undefined
  for (const c of candidates) {
    if (first === undefined || c.id < first) first = c.id
    if (last !== undefined && c.id > last && (next === undefined || c.id < next)) next = c.id
  }
  return next ?? first
}
