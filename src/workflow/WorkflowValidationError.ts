/** One problem in a workflow file, located at a 1-based line and column. */
export interface WorkflowIssue {
  file: string
  line: number
  column: number
  message: string
  /** What to change to make the problem go away. */
  fix: string
}

/** Renders an issue as `file:line:col: message (fix: …)`, the form editors and terminals link. */
export function formatIssue(i: WorkflowIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.message} (fix: ${i.fix})`
}

/**
 * A workflow file that does not load: every problem found, not just the first, so one edit pass
 * fixes them all. Never retryable: the file has to change.
 */
export class WorkflowValidationError extends Error {
  readonly errors: WorkflowIssue[]
  readonly retryable = false
  readonly code = 'WORKFLOW_INVALID'

  constructor(errors: WorkflowIssue[]) {
    const n = errors.length
    super(
      `workflow is invalid (${n} problem${n === 1 ? '' : 's'}):\n${errors.map((e) => `  ${formatIssue(e)}`).join('\n')}`,
    )
    this.name = 'WorkflowValidationError'
    this.errors = errors
  }
}
