/** Builders and a driver for workflow run machine tests. */
import { type Actor, createActor } from 'xstate'
import { type WorkflowMachine, workflowMachine } from '../../src/machines/workflowMachine.ts'
import type { WorkflowEmitted, WorkflowEvent } from '../../src/machines/workflowTypes.ts'
import type { WorkflowDef, WorkflowTaskDef } from '../../src/schema/workflow.ts'

export type TaskInput = Partial<Omit<WorkflowTaskDef, 'retry'>> & {
  task_id: string
  retry?: Partial<WorkflowTaskDef['retry']>
}

export function task(t: TaskInput): WorkflowTaskDef {
  return {
    depends_on: [],
    capabilities: ['work'],
    priority: 5,
    ...t,
    retry: { max_retries: 0, backoff: 'fixed', initial_delay: 1, max_delay: 60, ...t.retry },
  }
}

export function workflow(tasks: TaskInput[], opts: Partial<WorkflowDef> = {}): WorkflowDef {
  return {
    id: 'wf',
    name: 'Test workflow',
    priority: 5,
    max_parallel: 10,
    on_failure: 'continue',
    agents: [],
    notification: { on_complete: [], on_failure: [], on_approval_needed: [] },
    vars: {},
    ...opts,
    tasks: tasks.map(task),
  }
}

export interface Run {
  actor: Actor<WorkflowMachine>
  emitted: WorkflowEmitted[]
  send(e: WorkflowEvent): WorkflowEmitted[]
  /** Emitted events of one type. */
  of<T extends WorkflowEmitted['type']>(type: T): Extract<WorkflowEmitted, { type: T }>[]
  status(id: string): string
  /** Persists, drops the actor and restores it from the JSON round-tripped snapshot. */
  crash(): void
}

export function startRun(
  def: WorkflowDef,
  machine: WorkflowMachine = workflowMachine,
  now = 0,
  sendStart = true,
): Run {
  const emitted: WorkflowEmitted[] = []
  const input = { def, runId: 'run1', now }
  let actor = createActor(machine, { input })
  const listen = (a: Actor<WorkflowMachine>) => a.on('*', (e) => emitted.push(e as WorkflowEmitted))
  listen(actor)
  actor.start()
  const run: Run = {
    get actor() {
      return actor
    },
    emitted,
    send(e) {
      const from = emitted.length
      actor.send(e)
      return emitted.slice(from)
    },
    of: (type) => emitted.filter((e) => e.type === type) as never,
    status: (id) => actor.getSnapshot().context.tasks[id].status,
    crash() {
      const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))
      actor.stop()
      // input is ignored when a snapshot is given; the types ask for it anyway.
      actor = createActor(machine, { snapshot: saved, input })
      listen(actor)
      actor.start()
    },
  }
  if (sendStart) run.send({ type: 'start', now })
  return run
}

/** A `task.result` for the task's current attempt. */
export function result(
  run: Run,
  taskId: string,
  status: 'success' | 'failed' | 'timeout' | 'cancelled',
  now: number,
  extra: { output?: unknown; error?: string; attempt?: number; agent_id?: string } = {},
): WorkflowEvent {
  const attempt = extra.attempt ?? run.actor.getSnapshot().context.tasks[taskId].attempts
  return {
    type: 'task.result',
    taskId,
    attempt,
    status,
    started_at: now - 1,
    finished_at: now,
    now,
    ...extra,
  }
}
