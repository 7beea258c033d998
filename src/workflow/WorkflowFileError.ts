/** A workflow or template file that cannot be read at all (missing, unreadable, not a file). */
export class WorkflowFileError extends Error {
  readonly path: string
  readonly retryable = false
  readonly code = 'WORKFLOW_FILE'

  constructor(message: string, path: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'WorkflowFileError'
    this.path = path
  }
}
