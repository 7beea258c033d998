/**
 * The agent's batch events: a host hands several assignments (one `task.assign.batch` message)
 * or several finished runs (one pass) to the machine as one transition. Property: any script in
 * which groups of assignments and finishes go in as batches leaves the agent in the same state
 * and context, and makes it emit the same events in the same order, as the same script sent one
 * event at a time — except that a `stateChanged` comes after a batch's other events instead of
 * between them. Mutant check: a batch that checks capacity once for all its items, one that
 * never leaves idle, and one that never returns to idle are each caught.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createActor, enqueueActions } from 'xstate'
import { assignAll, decideAssign } from '../../src/machines/agentBatch.ts'
import {
  type AgentContext,
  type AgentEmitted,
  type AgentEvent,
  type AgentMachine,
  agentMachine,
} from '../../src/machines/agentMachine.ts'
import type { Task } from '../../src/schema/domain.ts'

const task = (id: string): Task => ({
  task_id: id,
  task_type: 'test',
  required_capabilities: ['x'],
  priority: 5,
})

type Step =
  | { k: 'assign'; items: { t: number; a: number }[] }
  | { k: 'finish'; items: { pick: number; unknown: boolean; status: 'success' | 'failed' }[] }
  | { k: 'single'; ev: 'registered' | 'drain' | 'stop' | 'tick' | 'cancel'; t: number }

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('assign' as const),
      items: fc.array(fc.record({ t: fc.nat(6), a: fc.integer({ min: 1, max: 2 }) }), {
        minLength: 1,
        maxLength: 5,
      }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('finish' as const),
      items: fc.array(
        fc.record({
          pick: fc.nat(),
          unknown: fc.boolean(),
          status: fc.constantFrom('success' as const, 'failed' as const),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('single' as const),
      ev: fc.constantFrom(
        'registered' as const,
        'drain' as const,
        'stop' as const,
        'tick' as const,
        'cancel' as const,
      ),
      t: fc.nat(6),
    }),
  },
)

function start(machine: AgentMachine, max: number) {
  const actor = createActor(machine, {
    input: { info: { agent_id: 'a1', agent_type: 't', capabilities: ['x'], max_tasks: max }, now: 0 },
  })
  let out: AgentEmitted[] = []
  actor.on('*', (e) => out.push(e as AgentEmitted))
  actor.start()
  return {
    send: (e: AgentEvent) => actor.send(e),
    ctx: () => actor.getSnapshot().context,
    value: () => actor.getSnapshot().value,
    take() {
      const taken = out
      out = []
      return taken
    },
  }
}

/** Emitted events with every `stateChanged` moved to the end (its place within a batch differs). */
const normalized = (events: AgentEmitted[]) => [
  ...events.filter((e) => e.type !== 'stateChanged'),
  ...events.filter((e) => e.type === 'stateChanged'),
]

const property = (batched: AgentMachine) =>
  fc.property(fc.integer({ min: 1, max: 3 }), fc.array(stepArb, { maxLength: 30 }), (max, steps) => {
    const a = start(batched, max)
    const b = start(agentMachine, max)
    let now = 0
    for (const step of steps) {
      now += 10
      if (step.k === 'assign') {
        const items = step.items.map((it) => ({ task: task(`t${it.t}`), attempt: it.a }))
        a.send({ type: 'task.assign.batch', items, now })
        for (const it of items) b.send({ type: 'task.assign', ...it, now })
      } else if (step.k === 'finish') {
        const running = b.ctx().running
        const items = step.items.map((it) => {
          const r = running.length > 0 && !it.unknown ? running[it.pick % running.length] : undefined
          return {
            taskId: r?.task.task_id ?? `t${it.pick % 7}`,
            attempt: r?.attempt ?? 1,
            result: { status: r?.cancelling ? ('cancelled' as const) : it.status },
          }
        })
        a.send({ type: 'task.finished.batch', items, now })
        for (const it of items) b.send({ type: 'task.finished', ...it, now })
      } else {
        const ev: AgentEvent =
          step.ev === 'cancel'
            ? { type: 'task.cancel', taskId: `t${step.t}`, now }
            : { type: step.ev, now: step.ev === 'tick' ? now + 5000 : now }
        a.send(ev)
        b.send(ev)
      }
      expect(a.value()).toEqual(b.value())
      expect(a.ctx()).toEqual(b.ctx())
      expect(normalized(a.take())).toEqual(normalized(b.take()))
    }
  })

describe('agentMachine batches', () => {
  it('agentMachine - property: a batch of assignments or finishes equals its events one by one', () => {
    fc.assert(property(agentMachine), { numRuns: 300 })
  })

  it('agentMachine - mutant check: the property catches a batch that checks capacity once, and batches that never change state', () => {
    // Decides every item against the attempts running before the batch.
    const capacityOnce = agentMachine.provide({
      actions: {
        assignBatch: enqueueActions(({ context, event, enqueue }, params: { mode: 'take' }) => {
          const e = event as AgentEvent & { type: 'task.assign.batch' }
          const out = assignAll(
            context as AgentContext,
            e.items,
            e.now,
            params.mode,
            (c, _running, id, attempt, mode) => decideAssign(c, c.running, id, attempt, mode),
          )
          for (const x of out.emitted) enqueue.emit(x)
          if (out.count > 0) enqueue.assign({ running: out.running })
        }) as never,
      },
    })
    const neverBusy = agentMachine.provide({ guards: { batchTakesAny: () => false } })
    const neverIdle = agentMachine.provide({ guards: { batchFinishesAll: () => false } })
    for (const mutant of [capacityOnce, neverBusy, neverIdle]) {
      expect(fc.check(property(mutant), { numRuns: 300 }).failed).toBe(true)
    }
  })
})
