/** The strategy registry: name → strategy. */
import { capabilityMatch } from './capabilityMatch.ts'
import { leastLoaded } from './leastLoaded.ts'
import { predictive } from './predictive.ts'
import { priorityWeighted } from './priorityWeighted.ts'
import { roundRobin } from './roundRobin.ts'
import type { Strategy, StrategyName } from './types.ts'

export const strategies: Readonly<Record<StrategyName, Strategy>> = {
  round_robin: roundRobin,
  least_loaded: leastLoaded,
  capability_match: capabilityMatch,
  priority_weighted: priorityWeighted,
  predictive,
}

export { capabilityMatch, capabilityScore } from './capabilityMatch.ts'
export { leastLoaded } from './leastLoaded.ts'
export {
  createDurationTable,
  DEFAULT_DURATION_MS,
  DURATION_ALPHA,
  type DurationTable,
  expectedDuration,
  predictive,
  recordDuration,
} from './predictive.ts'
export { priorityWeighted, weightedScore } from './priorityWeighted.ts'
export { roundRobin } from './roundRobin.ts'
export {
  type AgentCandidate,
  STRATEGY_NAMES,
  type Strategy,
  type StrategyContext,
  type StrategyName,
} from './types.ts'
