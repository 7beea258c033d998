/**
 * Domain shapes shared by the bus catalogue and the machines: tasks, agents, resources.
 * Runtime schemas (zod); the TypeScript types derive from them. Wire fields are snake_case,
 * matching the task files users write.
 */
import { z } from 'zod'

export const id = z.string().min(1).max(256)
/** An id that also names subjects (task and agent ids): no dots, spaces or wildcards. */
export const tokenId = z
  .string()
  .min(1)
  .max(256)
  .regex(
    /^[A-Za-z0-9_\-:@+=~%]+$/,
    'use letters, digits and - _ : @ + = ~ % only (no dots, spaces or wildcards)',
  )
const capability = z.string().trim().toLowerCase().min(1, 'a capability cannot be empty')
const seconds = z.number().positive()

export const errorBody = z.object({
  name: z.string(),
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  data: z.record(z.string(), z.unknown()).optional(),
})

export const retryPolicy = z.object({
  max_retries: z.number().int().min(0).max(100).default(0),
  backoff: z.enum(['fixed', 'exponential']).default('exponential'),
  initial_delay: z.number().min(0).default(1),
  max_delay: z.number().min(0).default(60),
})
export type RetryPolicy = z.infer<typeof retryPolicy>

export const resources = z.object({
  cpu_cores: z.number().min(0).default(0),
  memory_mb: z.number().min(0).default(0),
  disk_mb: z.number().min(0).default(0),
  network_mbps: z.number().min(0).default(0),
})
export type Resources = z.infer<typeof resources>

/** A task as a client submits it (the seeds' shape; `task_id` is generated when absent). */
export const taskSpec = z.object({
  task_id: tokenId.optional(),
  task_type: z.string().min(1),
  description: z.string().optional(),
  required_capabilities: z.array(capability).min(1, 'a task needs at least one required capability'),
  required_agent_type: z.string().optional(),
  exclude_agents: z.array(id).optional(),
  priority: z.number().int().min(1).max(10).default(5),
  timeout: seconds.optional(),
  input: z.unknown().optional(),
  retry: retryPolicy.optional(),
  resources: resources.partial().optional(),
  workflow_id: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
})
export type TaskSpec = z.input<typeof taskSpec>
export type Task = z.output<typeof taskSpec> & { task_id: string }

export const taskStatus = z.enum([
  'queued',
  'assigned',
  'running',
  'success',
  'failed',
  'timeout',
  'cancelled',
])
export type TaskStatus = z.infer<typeof taskStatus>

/** Whether a task status is final: the task will not run again. */
export function isFinalTaskState(status: string): boolean {
  return status === 'success' || status === 'failed' || status === 'timeout' || status === 'cancelled'
}

export const taskResult = z.object({
  task_id: id,
  attempt: z.number().int().min(1),
  agent_id: id,
  status: z.enum(['success', 'failed', 'timeout', 'cancelled']),
  output: z.unknown().optional(),
  error: z.string().optional(),
  started_at: z.number(),
  finished_at: z.number(),
})
export type TaskResult = z.infer<typeof taskResult>

export const taskRecord = z.object({
  task_id: id,
  task: z.record(z.string(), z.unknown()),
  status: taskStatus,
  attempts: z.number().int().min(0),
  agent_id: z.string().optional(),
  output: z.unknown().optional(),
  error: z.string().optional(),
  submitted_at: z.number(),
  started_at: z.number().optional(),
  finished_at: z.number().optional(),
})
export type TaskRecord = z.infer<typeof taskRecord>

export const agentInfo = z.object({
  agent_id: tokenId,
  agent_type: z.string().min(1),
  capabilities: z.array(capability).min(1, 'an agent needs at least one capability'),
  max_tasks: z.number().int().min(1).default(1),
  weight: z.number().int().min(1).max(100).default(50),
  resources: resources.partial().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  node: z.string().optional(),
})
export type AgentInfo = z.output<typeof agentInfo>

export const agentView = agentInfo.extend({
  state: z.string(),
  load: z.number().int().min(0),
  available: z.boolean(),
  last_heartbeat: z.number(),
  breaker: z.string().optional(),
})
export type AgentView = z.infer<typeof agentView>
