import { DEFAULT_BREAKER } from './breaker.ts'
import type { CoordinatorConfig, CoordinatorContext, CoordinatorInput } from './coordinatorTypes.ts'
import { createDurationTable } from './strategies/index.ts'
import { createTaskQueue } from './taskQueue.ts'

/** Fills the coordinator's input defaults (see {@link CoordinatorInput}). */
export function resolveCoordinatorConfig(input: CoordinatorInput = {}): CoordinatorConfig {
  const interval = input.heartbeatIntervalMs ?? 1000
  const suspectAfterMs = input.suspectAfterMs ?? 3 * interval
  return {
    strategy: input.strategy ?? 'least_loaded',
    heartbeatIntervalMs: interval,
    suspectAfterMs,
    deadAfterMs: Math.max(input.deadAfterMs ?? 6 * interval, suspectAfterMs),
    breaker: { ...DEFAULT_BREAKER, ...input.breaker },
    defaultRetry: {
      max_retries: 0,
      backoff: 'exponential',
      initial_delay: 1,
      max_delay: 60,
      ...input.defaultRetry,
    },
    allocationRetryMs: input.allocationRetryMs ?? interval,
    retainFinished: input.retainFinished ?? 10_000,
  }
}

/** A coordinator context with no agents and no tasks. */
export function createCoordinatorContext(input: CoordinatorInput = {}): CoordinatorContext {
  return {
    config: resolveCoordinatorConfig(input),
    agents: Object.create(null),
    tasks: Object.create(null),
    queue: createTaskQueue(),
    timers: [],
    durations: createDurationTable(),
    seq: 0,
    lastRoundRobin: undefined,
    finished: [],
    finishedHead: 0,
  }
}
