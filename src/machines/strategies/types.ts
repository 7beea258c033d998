/**
 * The routing strategy contract. A strategy is a pure function: it picks one agent among the
 * candidates the coordinator has already filtered to eligible ones (alive, not draining, below
 * max_tasks, all required capabilities, agent type, exclusions, breaker). Anything a strategy
 * needs beyond the candidates and the task (a round-robin cursor, learned durations, randomness)
 * arrives in the {@link StrategyContext}, so every choice is reproducible in tests.
 */
import type { AgentInfo, Task } from '../../schema/domain.ts'

/** What a strategy sees of an eligible agent. The coordinator's registry entries satisfy it directly. */
export interface AgentCandidate {
  readonly id: string
  readonly info: AgentInfo
  /** Tasks in flight on this agent as the coordinator counts them. */
  readonly load: number
}

export interface StrategyContext {
  readonly now: number
  /** The agent the round-robin strategy picked last (its cursor). */
  readonly lastRoundRobin?: string
  /** Expected duration in ms of `taskType` on `agentId` (learned, or a fallback mean). */
  readonly expectedDuration: (agentId: string, taskType: string) => number
  /** A source of randomness in [0, 1); strategies are deterministic when it is absent. */
  readonly random?: () => number
}

/** Picks one candidate's id; `undefined` only when there are no candidates. */
export type Strategy = (
  candidates: readonly AgentCandidate[],
  task: Task,
  ctx: StrategyContext,
) => string | undefined

export const STRATEGY_NAMES = [
  'round_robin',
  'least_loaded',
  'capability_match',
  'priority_weighted',
  'predictive',
] as const
export type StrategyName = (typeof STRATEGY_NAMES)[number]
