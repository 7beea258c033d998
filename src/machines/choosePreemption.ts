import { type Allocation, addVectors, fits as fitsAll, type ResourceVector } from './allocation.ts'

/** Exact search up to this many candidates (2^12 subsets); beyond it, greedy then prune. */
const EXACT_LIMIT = 12

/**
 * Picks the allocations to preempt so that `need` fits: the lowest priority level that can make it
 * fit, then the fewest allocations within that level and below, preferring lower priorities and
 * the most recently granted (they have done the least work). Undefined when no subset of
 * `candidates` suffices. The caller passes only allocations it may preempt (strictly lower priority).
 */
export function choosePreemption(
  candidates: readonly Allocation[],
  free: ResourceVector,
  need: ResourceVector,
  fits: (free: ResourceVector, need: ResourceVector) => boolean = fitsAll,
): Allocation[] | undefined {
  const sorted = [...candidates].sort(
    (a, b) => a.priority - b.priority || b.grantedAt - a.grantedAt || cmp(a.requestId, b.requestId),
  )
  const freedBy = (set: readonly Allocation[]) => set.reduce((v, a) => addVectors(v, a.resources), free)
  const levels = [...new Set(sorted.map((a) => a.priority))]
  for (const level of levels) {
    const pool = sorted.filter((a) => a.priority <= level)
    if (!fits(freedBy(pool), need)) continue
    return pool.length <= EXACT_LIMIT
      ? fewest(pool, (s) => fits(freedBy(s), need))
      : greedy(pool, freedBy, need, fits)
  }
  return undefined
}

/** The smallest subset that works; among equal sizes the first in the pool's order. */
function fewest(pool: readonly Allocation[], works: (s: Allocation[]) => boolean): Allocation[] {
  for (let size = 1; size <= pool.length; size++) {
    const found = firstCombination(pool, size, 0, [], works)
    if (found) return found
  }
  return [...pool]
}

function firstCombination(
  pool: readonly Allocation[],
  size: number,
  from: number,
  picked: Allocation[],
  works: (s: Allocation[]) => boolean,
): Allocation[] | undefined {
  if (picked.length === size) return works(picked) ? [...picked] : undefined
  for (let i = from; i <= pool.length - (size - picked.length); i++) {
    picked.push(pool[i])
    const found = firstCombination(pool, size, i + 1, picked, works)
    picked.pop()
    if (found) return found
  }
  return undefined
}

function greedy(
  pool: readonly Allocation[],
  freedBy: (s: readonly Allocation[]) => ResourceVector,
  need: ResourceVector,
  fits: (free: ResourceVector, need: ResourceVector) => boolean,
): Allocation[] {
  const chosen: Allocation[] = []
  for (const a of pool) {
    chosen.push(a)
    if (fits(freedBy(chosen), need)) break
  }
  // Drop, highest priority first, whatever the rest can do without.
  for (let i = chosen.length - 1; i >= 0; i--) {
    const without = chosen.filter((_, j) => j !== i)
    if (fits(freedBy(without), need)) chosen.splice(i, 1)
  }
  return chosen
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
