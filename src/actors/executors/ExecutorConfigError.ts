import { HiveError } from '../../bus/errors.ts'

/**
 * A mistake in how an executor was configured (a malformed command line, a missing module
 * spec). Raised when the executor is built, never for a task that fails while running.
 */
export class ExecutorConfigError extends HiveError {
  constructor(message: string, opts: { data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { ...opts, code: 'EXECUTOR_CONFIG', retryable: false })
    this.name = 'ExecutorConfigError'
  }
}
