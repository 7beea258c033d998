/**
 * Errors of the workflow service. Each crosses the bus as a tagged error reply (name, code, data),
 * so a client can tell them apart by `code`.
 */
import { HiveError } from '../bus/errors.ts'

/** A run id the workflow service neither hosts nor finds in its snapshot store. */
export class UnknownRunError extends HiveError {
  constructor(runId: string) {
    super(`unknown workflow run ${JSON.stringify(runId)}: check the id with \`hive workflow list\``, {
      code: 'UNKNOWN_RUN',
      data: { run_id: runId },
    })
    this.name = 'UnknownRunError'
  }
}

/** A definition sent with `workflow.start` that does not validate. */
export class InvalidWorkflowError extends HiveError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'INVALID_WORKFLOW', cause })
    this.name = 'InvalidWorkflowError'
  }
}

/** A start of a workflow id that already has an unfinished run somewhere (its snapshot key is per id). */
export class WorkflowRunningError extends HiveError {
  constructor(workflowId: string, runId: string) {
    super(
      `workflow ${JSON.stringify(workflowId)} already has a live run ${runId}: watch it with \`hive workflow monitor ${runId}\` or stop it with \`hive workflow cancel ${runId}\``,
      { code: 'WORKFLOW_RUNNING', data: { workflow_id: workflowId, run_id: runId } },
    )
    this.name = 'WorkflowRunningError'
  }
}

/** A control message (cancel, approve, reject) for a run that has already ended. */
export class RunFinishedError extends HiveError {
  constructor(runId: string, status: string) {
    super(`workflow run ${runId} has already ended (${status})`, {
      code: 'RUN_FINISHED',
      data: { run_id: runId, status },
    })
    this.name = 'RunFinishedError'
  }
}

/** An approve or reject naming a task that is not waiting for approval (or not in the run at all). */
export class NotAwaitingApprovalError extends HiveError {
  constructor(runId: string, taskId: string, status: string | undefined) {
    super(
      status === undefined
        ? `workflow run ${runId} has no task ${JSON.stringify(taskId)}`
        : `task ${taskId} of run ${runId} is not waiting for approval (it is ${status})`,
      {
        code: status === undefined ? 'UNKNOWN_TASK' : 'NOT_AWAITING_APPROVAL',
        data: { run_id: runId, task_id: taskId },
      },
    )
    this.name = 'NotAwaitingApprovalError'
  }
}

/** A control message for a run that is stored unfinished but hosted by no process right now. */
export class RunNotLiveError extends HiveError {
  constructor(runId: string) {
    super(
      `workflow run ${runId} is stored unfinished but no process runs it: start its workflow again (without --fresh) to resume it`,
      { code: 'RUN_NOT_LIVE', data: { run_id: runId } },
    )
    this.name = 'RunNotLiveError'
  }
}
