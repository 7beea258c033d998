/**
 * The resource allocator as an XState v5 machine: the context is an {@link AllocationLedger} and
 * every event runs {@link allocatorStep}, emitting its results. One allocator serves many agents.
 *
 * Protocol (all events carry `now`, epoch ms):
 * - in: `capacity` (register, replace, or with `null` remove an agent), `allocate`, `confirm`,
 *   `release`, `tick`.
 * - out: `granted`, `queued`, `denied`, `preempted`, `revoked`, `expired`, `released`,
 *   `confirmed`, `ignored`, `deadlock` (shapes in {@link AllocatorEmitted}).
 *
 * The host arms one timer at {@link allocatorDeadline}(context) and sends `tick` when it fires.
 *
 * @example
 * const actor = createActor(allocatorMachine, { input: { capacity: { a1: { cpu_cores: 4, task_slots: 2 } } } })
 * actor.on('*', (e) => toBus(e))
 * actor.start()
 * actor.send({ type: 'allocate', requestId: 't1#1', owner: 't1', agentId: 'a1', priority: 5,
 *   resources: { cpu_cores: 2 }, now: clock.now() })
 */
import { enqueueActions, setup } from 'xstate'
import {
  type AllocationLedger,
  allocatorDeadline,
  capacityVector,
  emptyLedger,
  type ResourceAmounts,
} from './allocation.ts'
import {
  type AllocatorEmitted,
  type AllocatorEvent,
  type AllocatorStep,
  allocatorStep,
} from './allocatorStep.ts'

export type { AllocatorEmitted, AllocatorEvent }
export { allocatorDeadline }

export interface AllocatorInput {
  /** Agents known from the start, by id. */
  capacity?: Record<string, ResourceAmounts>
}

/** Builds the allocator machine; `step` defaults to {@link allocatorStep} (tests pass mutants). */
export function createAllocatorMachine(step: AllocatorStep = allocatorStep) {
  return setup({
    types: {
      context: {} as AllocationLedger,
      input: {} as AllocatorInput | undefined,
      events: {} as AllocatorEvent,
      emitted: {} as AllocatorEmitted,
    },
    actions: {
      step: enqueueActions(({ context, event, enqueue }) => {
        const { ledger, emitted } = step(context, event)
        enqueue.assign(() => ledger)
        for (const e of emitted) enqueue.emit(e)
      }),
    },
  }).createMachine({
    id: 'allocator',
    context: ({ input }) => {
      const ledger = emptyLedger()
      for (const [agentId, amounts] of Object.entries(input?.capacity ?? {})) {
        ledger.capacity[agentId] = capacityVector(amounts)
      }
      return ledger
    },
    initial: 'running',
    states: { running: {} },
    on: {
      capacity: { actions: 'step' },
      allocate: { actions: 'step' },
      confirm: { actions: 'step' },
      release: { actions: 'step' },
      tick: { actions: 'step' },
    },
  })
}

export const allocatorMachine = createAllocatorMachine()
export type AllocatorMachine = typeof allocatorMachine
