/**
 * An agent described wrongly (no capabilities, a bad max_tasks, a non-positive interval). Never
 * retryable: the same description fails the same way.
 */
export class AgentConfigError extends Error {
  readonly retryable = false
  readonly code = 'AGENT_CONFIG'

  constructor(message: string) {
    super(message)
    this.name = 'AgentConfigError'
  }
}
