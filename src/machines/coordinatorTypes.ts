/**
 * Shapes of the coordinator machine: its input, context, events in and events out.
 *
 * Ownership: the context's tables (`agents`, `tasks`, the queue, the timer heap) are owned by
 * the machine and updated in place, because copying a table of tens of thousands of tasks on
 * every event would make each event O(n). So a snapshot shows the latest state, not a frozen
 * past: to keep one, serialise it (`getPersistedSnapshot`) at that moment. Tables are plain
 * null-prototype records and arrays, so that serialisation needs nothing special.
 */

import type { AgentInfo, RetryPolicy, Task, TaskRecord, TaskResult, TaskStatus } from '../schema/domain.ts'
import type { BreakerConfig, BreakerState } from './breaker.ts'
import type { AgentCandidate, DurationTable, StrategyName } from './strategies/index.ts'

export interface CoordinatorInput {
  /** Routing strategy; default `least_loaded`. */
  strategy?: StrategyName
  /** Expected heartbeat period of agents; default 1000 ms. */
  heartbeatIntervalMs?: number
  /** Silence after which an agent is suspect (gets no new work); default 3 × interval. */
  suspectAfterMs?: number
  /** Silence after which an agent is dead (its tasks are requeued); default 6 × interval. */
  deadAfterMs?: number
  breaker?: Partial<BreakerConfig>
  /** Retry policy for tasks without one; default no retries. */
  defaultRetry?: Partial<RetryPolicy>
  /** Wait before a task whose resource allocation was denied is tried again; default the heartbeat interval. */
  allocationRetryMs?: number
  /** Finished tasks kept for queries and de-duplication; the oldest beyond this are pruned. Default 10 000. */
  retainFinished?: number
}

export interface CoordinatorConfig {
  strategy: StrategyName
  heartbeatIntervalMs: number
  suspectAfterMs: number
  deadAfterMs: number
  breaker: BreakerConfig
  defaultRetry: RetryPolicy
  allocationRetryMs: number
  retainFinished: number
}

export type Liveness = 'alive' | 'suspect' | 'dead'

/** One registered agent. Satisfies {@link AgentCandidate}, so strategies see entries without copies. */
export interface AgentEntry extends AgentCandidate {
  id: string
  info: AgentInfo
  load: number
  /** Capabilities (lower-cased) as a set. */
  caps: Record<string, true>
  liveness: Liveness
  draining: boolean
  /** In-flight tasks: task id → attempt. */
  running: Record<string, number>
  /**
   * Cancelled attempts (`task#attempt`) still dying on the agent: they keep their slot (counted in
   * `load`) until the agent reports them or stops listing them, so a retry is not sent to an
   * agent that is still full and bounced back and forth.
   */
  dying: Record<string, true>
  lastHeartbeat: number
  /** The load the agent itself last reported (informational; the coordinator's own count routes). */
  reportedLoad: number
  breaker: BreakerState
  /** When the pending liveness check fires (one per agent at most). */
  livenessTimer: number | undefined
}

/** A task's internal phase: its public status, plus `allocating` (agent chosen, waiting for resources). */
export type TaskPhase = TaskStatus | 'allocating'

export interface TaskEntry {
  id: string
  task: Task
  status: TaskPhase
  /** The current attempt; every requeue moves it on, so stale results and grants are recognisable. */
  attempt: number
  /** Whether the current attempt has been handed to an agent (for the record's `attempts`). */
  dispatched: boolean
  agentId: string | undefined
  submittedAt: number
  assignedAt: number | undefined
  startedAt: number | undefined
  finishedAt: number | undefined
  notBefore: number
  deadline: number | undefined
  output?: unknown
  error?: string
  /** Failures counted against the retry budget (agent deaths and preemptions are not). */
  failures: number
  /** Submission order, for FIFO within a priority; kept across requeues so a retry keeps its place. */
  seq: number
  /** Eligibility class (see taskQueue). */
  classKey: string
  /** Whether the task sits in the ready queue right now. */
  inReady: boolean
  /** Whether this attempt is its agent's half-open breaker probe. */
  probe: boolean
  /** An agent whose allocator denied this task: tried last. */
  avoid: string | undefined
}

/** Tasks with identical eligibility (capabilities, agent type, exclusions) share a class and a heap. */
export interface ReadyClass {
  key: string
  caps: string[]
  agentType: string | undefined
  exclude: string[]
  /** Task ids, a heap on (priority desc, seq asc); entries no longer ready are skipped lazily. */
  heap: string[]
}

export interface TaskQueue {
  classes: Record<string, ReadyClass>
  /** Tasks in the ready queue (entries with `inReady`). */
  size: number
}

export type TimerKind = 'ready' | 'deadline' | 'liveness' | 'breaker'

/** A point in time the coordinator must look at; checked against the entry when it fires, so stale timers are harmless. */
export interface Timer {
  at: number
  kind: TimerKind
  id: string
  attempt: number
}

export interface CoordinatorContext {
  config: CoordinatorConfig
  agents: Record<string, AgentEntry>
  tasks: Record<string, TaskEntry>
  queue: TaskQueue
  timers: Timer[]
  durations: DurationTable
  seq: number
  lastRoundRobin: string | undefined
  /** Ids of finished tasks, oldest first from `finishedHead`, for pruning. */
  finished: string[]
  finishedHead: number
}

export type CoordinatorEvent =
  | { type: 'agent.register'; info: AgentInfo; now: number }
  | {
      type: 'agent.heartbeat'
      agentId: string
      load: number
      running: { task_id: string; attempt: number }[]
      now: number
    }
  | { type: 'agent.deregister'; agentId: string; now: number }
  | { type: 'agent.drain'; agentId: string; now: number }
  | { type: 'task.submit'; task: Task; now: number }
  | { type: 'task.result'; result: TaskResult; now: number }
  | { type: 'task.cancel'; taskId: string; now: number }
  | { type: 'task.started'; taskId: string; attempt: number; agentId: string; now: number }
  | { type: 'task.rejected'; taskId: string; attempt: number; agentId: string; reason: string; now: number }
  | { type: 'allocation.granted'; requestId: string; now: number }
  | { type: 'allocation.denied'; requestId: string; reason: string; now: number }
  | { type: 'allocation.preempted'; requestId: string; now: number }
  | { type: 'tick'; now: number }
  /**
   * Several events at once, applied in order exactly as if sent one by one: a host hands over
   * everything one delivery pass brought in a single transition.
   */
  | { type: 'batch'; events: CoordinatorEvent[]; now: number }

export type TaskEventName =
  | 'queued'
  | 'allocating'
  | 'assigned'
  | 'started'
  | 'retrying'
  | 'requeued'
  | 'timedOut'
  | 'staleResult'

export type AgentEventName =
  | 'registered'
  | 'revived'
  | 'suspect'
  | 'dead'
  | 'deregistered'
  | 'draining'
  | 'drained'
  | 'breakerOpened'
  | 'breakerHalfOpen'
  | 'breakerClosed'

export type CoordinatorEmitted =
  | { type: 'assign'; agentId: string; task: Task; attempt: number }
  | { type: 'cancel'; agentId: string; taskId: string; attempt: number }
  | { type: 'taskDone'; record: TaskRecord }
  | { type: 'taskEvent'; taskId: string; event: TaskEventName; data: Record<string, unknown> }
  | { type: 'agentEvent'; agentId: string; event: AgentEventName; data: Record<string, unknown> }
  | {
      type: 'allocate'
      requestId: string
      owner: string
      agentId: string
      priority: number
      resources: NonNullable<Task['resources']>
    }
  | { type: 'release'; requestId: string }

/**
 * Switches that break the coordinator on purpose, so property tests can show they catch each
 * fault (mutant checks). Production code never sets them.
 * @internal
 */
export interface CoordinatorRules {
  /** Requeue the in-flight tasks of a dead, restarted or deregistered agent. */
  requeueOnAgentLoss: boolean
  /** Apply results of attempts that are not current (or of finished tasks). */
  acceptStaleResults: boolean
  /** Keep an agent's load below its max_tasks. */
  enforceMaxTasks: boolean
  /** Merge the eligibility classes by priority when dispatching (else take them one after another). */
  dispatchInPriorityOrder: boolean
}

export const CORRECT_RULES: CoordinatorRules = {
  requeueOnAgentLoss: true,
  acceptStaleResults: false,
  enforceMaxTasks: true,
  dispatchInPriorityOrder: true,
}

/** What one event's handling works with: the context (updated in place), the outbox, the time. @internal */
export interface Step {
  ctx: CoordinatorContext
  out: CoordinatorEmitted[]
  now: number
  rules: CoordinatorRules
}
