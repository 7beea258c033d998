/** Shapes of the agent machine: its input, context, the events it takes and the events it emits. */
import type { z } from 'zod'
import type { AgentInfo, agentInfo, Task, TaskResult } from '../schema/domain.ts'

export type AgentPhase = 'registering' | 'idle' | 'busy' | 'draining' | 'stopped'

export interface AgentMachineInput {
  /** Capabilities are lower-cased; at least one is required. */
  info: z.input<typeof agentInfo>
  /** Default 5000. */
  heartbeatIntervalMs?: number
  /** Default 30000. */
  healthCheckIntervalMs?: number
  /** Consecutive failed health checks that restart the executor. Default 3. */
  maxHealthFailures?: number
  /** When the agent starts; its first heartbeat (registration retry) is due one interval later. Default 0. */
  now?: number
}

/** One accepted (task, attempt) that has not yet produced its outcome. */
export interface RunningTask {
  task: Task
  attempt: number
  started_at: number
  /** An abort was sent; the slot stays taken until the executor reports back. */
  cancelling: boolean
}

export interface AgentContext {
  info: AgentInfo
  /** The state the machine is in, kept in context for heartbeats and `stateChanged`. */
  phase: AgentPhase
  running: RunningTask[]
  heartbeatIntervalMs: number
  healthCheckIntervalMs: number
  maxHealthFailures: number
  healthFailures: number
  /**
   * Keys (`attempt:task_id`) of the last attempts finished here, newest last, at most
   * {@link RECENT_LIMIT}: a redelivered assignment of one of them is ignored, not run again.
   */
  recentlyFinished: string[]
  /** Absolute deadlines; undefined when nothing is due (stopped; no health checks before registration). */
  nextHeartbeatAt?: number
  nextHealthCheckAt?: number
}

/** What the executor reported: an `ExecutionResult` or anything shaped like it. */
export interface AgentTaskOutcome {
  status: TaskResult['status']
  output?: unknown
  error?: string
}

export type AgentEvent =
  | { type: 'registered'; now: number }
  | { type: 'task.assign'; task: Task; attempt: number; now: number }
  | { type: 'task.finished'; taskId: string; attempt: number; result: AgentTaskOutcome; now: number }
  /** Several assignments at once: exactly as if each were sent as a `task.assign`, in order. */
  | { type: 'task.assign.batch'; items: { task: Task; attempt: number }[]; now: number }
  /** Several finishes at once: exactly as if each were sent as a `task.finished`, in order. */
  | {
      type: 'task.finished.batch'
      items: { taskId: string; attempt: number; result: AgentTaskOutcome }[]
      now: number
    }
  /** Without `attempt`, every running attempt of the task is cancelled. */
  | { type: 'task.cancel'; taskId: string; attempt?: number; now: number }
  | { type: 'tick'; now: number }
  | { type: 'health.ok'; now: number }
  | { type: 'health.failed'; now: number; error?: string }
  | { type: 'drain'; now: number }
  | { type: 'stop'; now: number; reason?: string }

export type AgentEmitted =
  | { type: 'register'; info: AgentInfo }
  /** Run this attempt: the host calls the executor and answers with `task.finished`. */
  | { type: 'execute'; task: Task; attempt: number }
  /** Stop this attempt (cancellation, or the agent stopping): the host aborts the executor's signal. */
  | { type: 'abort'; taskId: string; attempt: number }
  /** The one outcome of an accepted attempt (`task.result` on the bus). */
  | ({ type: 'result' } & TaskResult)
  /** The agent did not take, or gives back, this attempt: the coordinator should requeue it. */
  | { type: 'rejected'; task_id: string; attempt: number; agent_id: string; reason: string }
  | {
      type: 'heartbeat'
      agent_id: string
      state: AgentPhase
      load: number
      running: Array<{ task_id: string; attempt: number }>
    }
  | { type: 'healthCheck' }
  | { type: 'restartExecutor'; failures: number }
  | { type: 'stateChanged'; from: AgentPhase; to: AgentPhase; now: number }
