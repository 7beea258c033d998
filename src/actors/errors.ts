import { HiveError } from '../bus/errors.ts'

/** A task id the coordinator has never seen. */
export class UnknownTaskError extends HiveError {
  constructor(taskId: string) {
    super(`unknown task ${JSON.stringify(taskId)}: check the id with \`hive task list\``, {
      code: 'UNKNOWN_TASK',
      data: { task_id: taskId },
    })
    this.name = 'UnknownTaskError'
  }
}

/** An agent id the coordinator does not know. */
export class UnknownAgentError extends HiveError {
  constructor(agentId: string) {
    super(`unknown agent ${JSON.stringify(agentId)}: check the id with \`hive agent list\``, {
      code: 'UNKNOWN_AGENT',
      data: { agent_id: agentId },
    })
    this.name = 'UnknownAgentError'
  }
}

/** A message that is valid on the wire but not something this actor answers. */
export class UnsupportedMessageError extends HiveError {
  constructor(type: string, actor: string) {
    super(`${actor} does not handle ${type} messages`, { code: 'UNSUPPORTED_MESSAGE', data: { type, actor } })
    this.name = 'UnsupportedMessageError'
  }
}
