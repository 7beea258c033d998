/**
 * The coordinator: the registry of agents (liveness, load, breakers), the priority queue of tasks,
 * routing by strategy, retries with backoff, timeouts, resource allocation and requeueing of the
 * work of dead agents. A pure XState v5 machine: time arrives in events (`now`), deadlines live in
 * the context, and the outside world hears only emitted events, which the host maps to bus
 * messages. See coordinatorTypes.ts for the events in and out.
 *
 * @example
 * const actor = createActor(coordinatorMachine, { input: { strategy: 'predictive' } })
 * actor.on('assign', (e) => bus.publish(subjectOf(e.agentId), ...))
 * actor.start()
 * actor.send({ type: 'task.submit', task, now: clock.now() })
 * const at = coordinatorDeadline(actor.getSnapshot().context) // arm one timer, then send `tick`
 */
import { enqueueActions, setup } from 'xstate'
import { coordinatorStep } from './coordinatorStep.ts'
import type {
  CoordinatorContext,
  CoordinatorEmitted,
  CoordinatorEvent,
  CoordinatorInput,
  CoordinatorRules,
} from './coordinatorTypes.ts'
import { CORRECT_RULES } from './coordinatorTypes.ts'
import { createCoordinatorContext } from './createCoordinatorContext.ts'

/**
 * Builds a coordinator machine. `rules` and `step` exist for mutant checks in tests only.
 * @internal
 */
export function createCoordinatorMachine(
  rules: CoordinatorRules = CORRECT_RULES,
  step: typeof coordinatorStep = coordinatorStep,
) {
  return setup({
    types: {
      context: {} as CoordinatorContext,
      events: {} as CoordinatorEvent,
      input: {} as CoordinatorInput | undefined,
      emitted: {} as CoordinatorEmitted,
    },
    actions: {
      // One action for every event: the handling is plain functions over the context (fast, and
      // testable without an actor); XState owns the lifecycle, inspection and emission.
      step: enqueueActions(({ context, event, enqueue }) => {
        for (const out of step(context, event, rules)) enqueue.emit(out)
      }),
    },
  }).createMachine({
    id: 'coordinator',
    context: ({ input }) => createCoordinatorContext(input ?? {}),
    on: { '*': { actions: 'step' } },
  })
}

export type CoordinatorMachine = ReturnType<typeof createCoordinatorMachine>

/** The coordinator machine (see the module doc). */
export const coordinatorMachine: CoordinatorMachine = createCoordinatorMachine()

export {
  type AgentFilter,
  coordinatorDeadline,
  getTask,
  listAgents,
  listTasks,
  type TaskFilter,
  taskRecord,
} from './coordinatorQueries.ts'
export { coordinatorStep } from './coordinatorStep.ts'
export type {
  AgentEntry,
  AgentEventName,
  CoordinatorContext,
  CoordinatorEmitted,
  CoordinatorEvent,
  CoordinatorInput,
  CoordinatorRules,
  TaskEntry,
  TaskEventName,
} from './coordinatorTypes.ts'
export { CORRECT_RULES } from './coordinatorTypes.ts'
export { createCoordinatorContext, resolveCoordinatorConfig } from './createCoordinatorContext.ts'
