/**
 * The workflow FILE format, as users write it (YAML or JSON): shorthands allowed, unknown keys
 * rejected so a typo never silently drops a setting. `normalizeWorkflow` turns the parsed value into
 * the `WorkflowDef` the run machine consumes.
 */
import { z } from 'zod'

const nonEmpty = z.string().trim().min(1, 'must not be empty')
const idString = z
  .string()
  .min(1, 'must not be empty')
  .max(256)
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/,
    'may hold only letters, digits, `_`, `-` and `.` (and not start with `-` or `.`)',
  )
const stringOrList = z.union([nonEmpty, z.array(nonEmpty)])
const seconds = z.number().positive('must be a positive number of seconds')

export const PRIORITY_NAMES = { low: 3, medium: 5, high: 7, critical: 9 } as const
export const priorityField = z.union([
  z.enum(['low', 'medium', 'high', 'critical']),
  z.number().int('must be a whole number').min(1, 'must be 1-10').max(10, 'must be 1-10'),
])

export const retryLongForm = z.strictObject({
  max: z.number().int().min(0).max(100).optional(),
  max_retries: z.number().int().min(0).max(100).optional(),
  backoff: z.enum(['fixed', 'exponential']).optional(),
  initial: z.number().min(0).optional(),
  initial_delay: z.number().min(0).optional(),
  max_delay: z.number().min(0).optional(),
})
const retryField = z.union([z.number().int('must be a whole number').min(0).max(100), retryLongForm])

export const approvalLongForm = z.strictObject({
  required: z.boolean().optional(),
  message: z.string().optional(),
})
const approvalField = z.union([z.boolean(), nonEmpty, approvalLongForm])

export const taskFileSchema = z
  .strictObject({
    task_id: idString,
    description: z.string().optional(),
    depends_on: z.union([idString, z.array(idString)]).optional(),
    agent_type: nonEmpty.optional(),
    agent_capabilities: stringOrList.optional(),
    capabilities: stringOrList.optional(),
    run: nonEmpty.optional(),
    exec: z.union([nonEmpty, z.array(z.string()).min(1, 'must name a program')]).optional(),
    input: z.unknown().optional(),
    timeout: seconds.optional(),
    retry: retryField.optional(),
    when: z.union([nonEmpty, z.boolean()]).optional(),
    approval: approvalField.optional(),
    priority: priorityField.optional(),
  })
  .superRefine((t, ctx) => {
    if (t.run !== undefined && t.exec !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['exec'],
        message: 'a task has `run` (a shell line) or `exec` (an argv), not both',
      })
    }
    if (t.agent_capabilities !== undefined && t.capabilities !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['capabilities'],
        message: '`capabilities` and `agent_capabilities` are the same setting; give one',
      })
    }
  })
export type TaskFile = z.output<typeof taskFileSchema>

export const agentFileSchema = z.strictObject({
  id: idString,
  type: nonEmpty,
  capabilities: stringOrList,
  max_tasks: z.number().int().min(1).optional(),
  weight: z.number().int().min(1).max(100).optional(),
  exec: z.union([nonEmpty, z.array(z.string()).min(1, 'must name a program')]).optional(),
  function: z
    .string()
    .regex(/^[^#]+#[A-Za-z_$][\w$]*$/, 'must be `module#export`')
    .optional(),
})
export type AgentFile = z.output<typeof agentFileSchema>

export const notificationTargetSchema = z.union([
  nonEmpty,
  z
    .strictObject({
      command: z.union([nonEmpty, z.array(z.string()).min(1)]).optional(),
      url: z
        .string()
        .regex(/^https?:\/\//, 'must start with http:// or https://')
        .optional(),
      email: z
        .string()
        .regex(/^[^@\s]+@[^@\s]+$/, 'must be an address such as ops@example.com')
        .optional(),
    })
    .refine((t) => [t.command, t.url, t.email].filter((v) => v !== undefined).length === 1, {
      message: 'a notification target has exactly one of `command`, `url` or `email`',
    }),
])
const targets = z.union([notificationTargetSchema, z.array(notificationTargetSchema)])
export const notificationFileSchema = z.strictObject({
  on_complete: targets.optional(),
  on_failure: targets.optional(),
  on_approval_needed: targets.optional(),
})

export const workflowFileSchema = z.strictObject({
  id: idString.optional(),
  name: nonEmpty.optional(),
  description: z.string().optional(),
  priority: priorityField.optional(),
  timeout: seconds.optional(),
  max_parallel: z.number().int().min(1).optional(),
  on_failure: z.enum(['fail_fast', 'continue']).optional(),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  agents: z.array(agentFileSchema).optional(),
  tasks: z.array(taskFileSchema).min(1, 'a workflow needs at least one task'),
  notification: notificationFileSchema.optional(),
})
export type WorkflowFile = z.output<typeof workflowFileSchema>

/**
 * Known keys of each mapping in the file, by path pattern (`*` for a list index), for "did you
 * mean" suggestions on unknown keys. @internal
 */
export const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(workflowFileSchema.shape),
  'tasks.*': Object.keys(taskFileSchema.shape),
  'tasks.*.retry': Object.keys(retryLongForm.shape),
  'tasks.*.approval': Object.keys(approvalLongForm.shape),
  'agents.*': Object.keys(agentFileSchema.shape),
  notification: Object.keys(notificationFileSchema.shape),
  'notification.*': ['command', 'url', 'email'],
  'notification.*.*': ['command', 'url', 'email'],
}
