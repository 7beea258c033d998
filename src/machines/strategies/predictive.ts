import type { AgentCandidate, Strategy } from './types.ts'

/** Smoothing factor of the learned means: a new sample moves the mean 30% of the way. */
export const DURATION_ALPHA = 0.3
/** Expected duration in ms when nothing has been learned at all. */
export const DEFAULT_DURATION_MS = 1000

/**
 * Learned task durations (exponentially weighted means, ms): per (agent, task type), per task
 * type across agents, and across everything. Plain records so the table survives a snapshot.
 */
export interface DurationTable {
  pair: Record<string, number>
  byType: Record<string, number>
  global: number | undefined
}

export function createDurationTable(): DurationTable {
  return { pair: {}, byType: {}, global: undefined }
}

const pairKey = (agentId: string, taskType: string): string => `${agentId}\u0000${taskType}`
const ewma = (mean: number | undefined, sample: number): number =>
  mean === undefined ? sample : mean + DURATION_ALPHA * (sample - mean)

/** Folds one observed duration into the table (mutates it: the table is owned by its coordinator). */
export function recordDuration(t: DurationTable, agentId: string, taskType: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return
  const k = pairKey(agentId, taskType)
  t.pair[k] = ewma(t.pair[k], ms)
  t.byType[taskType] = ewma(t.byType[taskType], ms)
  t.global = ewma(t.global, ms)
}

/**
 * The expected duration of `taskType` on `agentId`: the pair's mean when known, else the task
 * type's mean across agents, else the global mean, else {@link DEFAULT_DURATION_MS}. Falling back
 * to a shared mean (rather than zero) lets a new agent get work without being flooded by it.
 */
export function expectedDuration(t: DurationTable, agentId: string, taskType: string): number {
  return t.pair[pairKey(agentId, taskType)] ?? t.byType[taskType] ?? t.global ?? DEFAULT_DURATION_MS
}

/** Predictive: the smallest expected completion, (load + 1) × expected duration; ties by load, then id. */
export const predictive: Strategy = (candidates, task, ctx) => {
  let best: AgentCandidate | undefined
  let bestEta = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const eta = (c.load + 1) * ctx.expectedDuration(c.id, task.task_type)
    if (
      best === undefined ||
      eta < bestEta ||
      (eta === bestEta && (c.load < best.load || (c.load === best.load && c.id < best.id)))
    ) {
      best = c
      bestEta = eta
    }
  }
  return best?.id
}
