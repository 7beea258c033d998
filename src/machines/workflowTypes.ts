/**
 * Shapes of the workflow run machine: its input, context, events in and events out.
 * The machine is in `workflowMachine.ts`; its transition logic in `reduceWorkflow.ts`.
 */
import type { TaskSpec } from '../schema/domain.ts'
import type { WorkflowDef } from '../schema/workflow.ts'

/** Where one task of a run stands. `success`, `failed`, `timeout`, `skipped` and `cancelled` are final. */
export type WorkflowTaskStatus =
  | 'pending'
  | 'waiting_approval'
  | 'ready'
  | 'running'
  | 'success'
  | 'failed'
  | 'timeout'
  | 'skipped'
  | 'cancelled'

/** How a whole run ended. */
export type WorkflowRunStatus = 'success' | 'failed' | 'cancelled' | 'timeout'

/** Statuses after which a task never changes again. */
export const FINAL_TASK_STATUSES: readonly WorkflowTaskStatus[] = [
  'success',
  'failed',
  'timeout',
  'skipped',
  'cancelled',
]

/** Whether a task status is final. */
export function isFinalTaskStatus(s: WorkflowTaskStatus): boolean {
  return FINAL_TASK_STATUSES.includes(s)
}

/** The run's record of one task. */
export interface TaskRun {
  status: WorkflowTaskStatus
  /** Attempts submitted so far; the current attempt is number `attempts`. */
  attempts: number
  /** `task_id` of the current attempt's submission (`${runId}:${taskId}:${attempt}`). */
  attemptId?: string
  /** The spec submitted for the current attempt, kept so `resume` resends exactly the same one. */
  spec?: WorkflowTaskSpec
  output?: unknown
  error?: string
  agent_id?: string
  /** From the accepted result of the latest attempt. */
  started_at?: number
  finished_at?: number
  submitted_at?: number
  /** A retry waits in `ready` until this time. */
  notBefore?: number
  /** An approval gate was passed (set once; retries do not ask again). */
  approved?: boolean
  approvedBy?: string
}

/** A submission for the coordinator: a `TaskSpec` with the id and workflow metadata always set. */
export type WorkflowTaskSpec = TaskSpec & {
  task_id: string
  metadata: {
    workflow_id: string
    run_id: string
    task_id: string
    attempt: number
    run?: string
    exec?: string[]
  }
}

export interface WorkflowRunInput {
  def: WorkflowDef
  runId: string
  now: number
}

export interface WorkflowRunContext {
  def: WorkflowDef
  runId: string
  createdAt: number
  startedAt?: number
  /** Absolute time the whole run times out (from `def.timeout`). */
  deadline?: number
  /** Time of the latest event handled. */
  now: number
  tasks: Record<string, TaskRun>
  /** Set once the run has ended; the machine then moves to the final state of that name. */
  outcome?: WorkflowRunStatus
  finishedAt?: number
  /** Why the run ended early (cancel reason, invalid definition, run timeout). */
  error?: string
}

export type TaskResultStatus = 'success' | 'failed' | 'timeout' | 'cancelled'

export type WorkflowEvent =
  | { type: 'start'; now: number }
  | {
      type: 'task.result'
      taskId: string
      attempt: number
      status: TaskResultStatus
      output?: unknown
      error?: string
      agent_id?: string
      started_at: number
      finished_at: number
      now: number
    }
  | { type: 'approve'; taskId: string; by?: string; now: number }
  | { type: 'reject'; taskId: string; reason?: string; now: number }
  | { type: 'cancel'; reason?: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'resume'; now: number }

/** One task in a summary or in `runFinished`. */
export interface WorkflowTaskSummary {
  status: WorkflowTaskStatus
  attempts: number
  agent_id?: string
  output: unknown
  error: string | undefined
  started_at: number | undefined
  finished_at: number | undefined
}

export type WorkflowEmitted =
  | { type: 'submit'; taskId: string; attempt: number; spec: WorkflowTaskSpec }
  | { type: 'cancelTask'; taskId: string; attempt: number; attemptId: string }
  | { type: 'approvalNeeded'; taskId: string; message: string }
  | { type: 'taskChanged'; taskId: string; from: WorkflowTaskStatus; to: WorkflowTaskStatus }
  | { type: 'runFinished'; status: WorkflowRunStatus; tasks: Record<string, WorkflowTaskSummary> }
