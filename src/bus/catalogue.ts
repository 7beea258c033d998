/**
 * The message catalogue: every message type Hive sends, declared once with its runtime schema.
 * TypeScript types are derived from the schemas ({@link Body}), so they cannot drift.
 *
 * Wire names use snake_case fields, matching the task and workflow files users write.
 */
import { z } from 'zod'
import {
  agentInfo,
  agentView,
  errorBody,
  taskRecord,
  taskResult,
  taskSpec,
  taskStatus,
} from '../schema/domain.ts'

export * from '../schema/domain.ts'

const id = z.string().min(1).max(256)

const taskAssign = z.object({ task: taskSpec.extend({ task_id: id }), attempt: z.number().int().min(1) })

const workflowRunView = z.object({
  run_id: id,
  workflow_id: id,
  name: z.string().optional(),
  status: z.string(),
  started_at: z.number().optional(),
  finished_at: z.number().optional(),
  error: z.string().optional(),
  /** Whether the answering service hosts the run (false: read from the snapshot store). */
  live: z.boolean().optional(),
  tasks: z.record(
    z.string(),
    z.object({
      status: z.string(),
      attempts: z.number(),
      agent_id: z.string().optional(),
      output: z.unknown().optional(),
      error: z.string().optional(),
      started_at: z.number().optional(),
      finished_at: z.number().optional(),
    }),
  ),
})

const eventBody = z.object({
  actor: z.string(),
  id: z.string(),
  event: z.string(),
  state: z.unknown().optional(),
  data: z.unknown().optional(),
})

/** Every message type: its wire name and its body schema. */
export const catalogue = {
  // bus
  error: errorBody,
  'dead.letter': z.object({
    reason: z.string(),
    code: z.string(),
    subject: z.string(),
    size: z.number().int().min(0),
    bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes'),
    truncated: z.boolean(),
  }),
  ping: z.object({ note: z.string().optional() }),
  pong: z.object({ node: z.string().optional(), note: z.string().optional() }),
  ack: z.object({ ok: z.boolean().default(true), id: z.string().optional() }),
  /** A state change or notable happening of an actor, broadcast on `hive.<ns>.evt.…`. */
  event: eventBody,
  /**
   * Several events from one step of an actor, in the order they happened, on
   * `hive.<ns>.evt.batch.<actor id>.events`. Each item is what would otherwise be its own message
   * on `subject`; `client.events()` hands them out one by one.
   */
  'event.batch': z.object({
    items: z
      .array(
        z.discriminatedUnion('type', [
          z.object({ subject: z.string(), type: z.literal('event'), body: eventBody }),
          z.object({ subject: z.string(), type: z.literal('task.done'), body: taskRecord }),
        ]),
      )
      .min(1),
  }),

  // agents
  'agent.register': agentInfo,
  'agent.heartbeat': z.object({
    agent_id: id,
    state: z.string(),
    load: z.number().int().min(0),
    running: z.array(z.object({ task_id: id, attempt: z.number().int() })).default([]),
  }),
  'agent.deregister': z.object({ agent_id: id, reason: z.string().optional() }),
  'agent.drain': z.object({ agent_id: id }),
  /** Sent by a coordinator to an agent it does not know (it restarted, or declared the agent dead). */
  'agent.reregister': z.object({ reason: z.string() }),
  'agent.list': z.object({
    agent_type: z.string().optional(),
    available: z.boolean().optional(),
    has_capacity: z.boolean().optional(),
  }),
  'agent.list.result': z.object({ agents: z.array(agentView) }),
  'agent.status': z.object({ agent_id: id }),
  'agent.status.result': z.object({ agent: agentView }),

  // tasks
  'task.submit': taskSpec,
  /** Submit and wait: the reply is the final `task.done` record (4 messages per task, the minimum). */
  'task.run': taskSpec,
  /**
   * Submit several and wait: acknowledged at once; each final record then goes to `notify` (the
   * sender's mailbox) in `task.done.batch` messages, or `task.done` ones when a batch is too large.
   */
  'task.run.batch': z.object({
    items: z.array(taskSpec).min(1),
    notify: z.string().regex(/^[^\s*>]+$/, 'a subject without spaces or wildcards'),
  }),
  /** Final records for a `task.run.batch` sender, as many as finished together. */
  'task.done.batch': z.object({ items: z.array(taskRecord).min(1) }),
  'task.accepted': z.object({ task_id: id }),
  'task.assign': taskAssign,
  /** Several assignments to one agent at once (what one coordinator step gave it), in order. */
  'task.assign.batch': z.object({ items: z.array(taskAssign).min(1) }),
  'task.cancel': z.object({ task_id: id, attempt: z.number().int().min(1).optional() }),
  'task.result': taskResult,
  /** Several results from one agent at once (what finished while it handled one delivery). */
  'task.result.batch': z.object({ items: z.array(taskResult).min(1) }),
  /** An agent gives an attempt back unrun (at capacity, draining, stopping): requeue it elsewhere. */
  'task.rejected': z.object({
    task_id: id,
    attempt: z.number().int().min(1),
    agent_id: id,
    reason: z.string(),
  }),
  'task.status': z.object({ task_id: id }),
  'task.status.result': z.object({ task: taskRecord }),
  'task.list': z.object({
    status: taskStatus.optional(),
    task_ids: z.array(id).optional(),
    limit: z.number().int().min(1).optional(),
  }),
  'task.list.result': z.object({ tasks: z.array(taskRecord) }),
  /** Broadcast when a task reaches a final state (once per task). */
  'task.done': taskRecord,

  // workflows
  /** Starts a run of a workflow definition (already validated by the sender's loader, checked again). */
  'workflow.start': z.object({
    definition: z.record(z.string(), z.unknown()),
    file: z.string().optional(),
    fresh: z.boolean().default(false),
  }),
  'workflow.started': z.object({ run_id: id, workflow_id: id, resumed: z.boolean() }),
  'workflow.approve': z.object({ run_id: id, task_id: id, by: z.string().optional() }),
  'workflow.reject': z.object({ run_id: id, task_id: id, reason: z.string().optional() }),
  'workflow.cancel': z.object({ run_id: id, reason: z.string().optional() }),
  'workflow.status': z.object({ run_id: id }),
  'workflow.list': z.object({ status: z.string().optional() }),
  'workflow.status.result': workflowRunView,
  'workflow.list.result': z.object({ runs: z.array(workflowRunView) }),
  /** Asks for the normalized definition a run was started with. */
  'workflow.export': z.object({ run_id: id }),
  'workflow.definition': z.object({
    run_id: id,
    workflow_id: id,
    definition: z.record(z.string(), z.unknown()),
  }),
} as const

export type Catalogue = typeof catalogue
export type MessageType = keyof Catalogue
/** The body type of a message type, as a handler receives it (defaults applied). */
export type Body<T extends MessageType> = z.output<Catalogue[T]>
/** The body type of a message type, as a sender may write it (defaults optional). */
export type BodyIn<T extends MessageType> = z.input<Catalogue[T]>

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(catalogue, type)
}
