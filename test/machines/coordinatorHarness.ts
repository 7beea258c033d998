/** A synchronous harness around a coordinator actor: send events, read what it emitted. */
import { createActor } from 'xstate'
import {
  type CoordinatorContext,
  type CoordinatorEmitted,
  type CoordinatorEvent,
  type CoordinatorInput,
  coordinatorMachine,
} from '../../src/machines/coordinatorMachine.ts'
import type { AgentInfo, Task, TaskResult } from '../../src/schema/domain.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export interface Harness {
  /** Sends an event at the harness clock and returns what it emitted. */
  send(ev: DistributiveOmit<CoordinatorEvent, 'now'> & { now?: number }): CoordinatorEmitted[]
  /** Moves the clock to `t` and sends a tick. */
  at(t: number): CoordinatorEmitted[]
  ctx(): CoordinatorContext
  now: number
  all: CoordinatorEmitted[]
}

export function harness(input: CoordinatorInput = {}, machine = coordinatorMachine): Harness {
  const actor = createActor(machine, { input })
  const all: CoordinatorEmitted[] = []
  let batch: CoordinatorEmitted[] = []
  actor.on('*', (e) => {
    all.push(e as CoordinatorEmitted)
    batch.push(e as CoordinatorEmitted)
  })
  actor.start()
  const h: Harness = {
    now: 0,
    all,
    send(ev) {
      batch = []
      if (ev.now !== undefined) h.now = ev.now
      actor.send({ ...ev, now: h.now } as CoordinatorEvent)
      return batch
    },
    at(t) {
      h.now = t
      return h.send({ type: 'tick' })
    },
    ctx: () => actor.getSnapshot().context,
  }
  return h
}

export function agentInfo(id: string, over: Partial<AgentInfo> = {}): AgentInfo {
  return { agent_id: id, agent_type: 'worker', capabilities: ['code'], max_tasks: 1, weight: 50, ...over }
}

export function taskOf(id: string, over: Partial<Task> = {}): Task {
  return { task_id: id, task_type: 'build', required_capabilities: ['code'], priority: 5, ...over }
}

export function resultOf(
  taskId: string,
  attempt: number,
  agentId: string,
  status: TaskResult['status'] = 'success',
  over: Partial<TaskResult> = {},
): TaskResult {
  return { task_id: taskId, attempt, agent_id: agentId, status, started_at: 0, finished_at: 0, ...over }
}

export const ofType = <T extends CoordinatorEmitted['type']>(out: CoordinatorEmitted[], type: T) =>
  out.filter((e): e is Extract<CoordinatorEmitted, { type: T }> => e.type === type)
