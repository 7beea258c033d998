/**
 * One actor per workflow run: a DAG of tasks with dependencies, `when` conditions, approval gates,
 * retries with backoff, `max_parallel`, `on_failure`, a run timeout and cancellation.
 *
 * Pure and durable: no timers and no invoked actors. Time arrives in events (`now`); the host
 * sends `tick` at {@link workflowDeadline}. The host persists `actor.getPersistedSnapshot()` after
 * every transition and restores with `createActor(workflowMachine, { snapshot })`, then sends
 * `resume`, which resubmits every running task under the same attempt id (the coordinator dedupes
 * it or runs it again; either result is accepted once).
 *
 * Side effects are emitted (`actor.on('*', …)`): `submit`, `cancelTask`, `approvalNeeded`,
 * `taskChanged`, and `runFinished` exactly once, on entering the final state of the same name.
 *
 * @example
 * const run = createActor(workflowMachine, { input: { def, runId, now: clock.now() } })
 * run.on('submit', (e) => coordinator.submit(e.spec))
 * run.start()
 * run.send({ type: 'start', now: clock.now() })
 */
import { emit, enqueueActions, setup } from 'xstate'
import {
  defaultWorkflowRules,
  initialWorkflowContext,
  reduceWorkflow,
  type WorkflowRules,
} from './reduceWorkflow.ts'
import { summariseTasks } from './workflowSummary.ts'
import type {
  WorkflowEmitted,
  WorkflowEvent,
  WorkflowRunContext,
  WorkflowRunInput,
  WorkflowRunStatus,
} from './workflowTypes.ts'

export { workflowDeadline, workflowScope, workflowSummary } from './workflowSummary.ts'
export type * from './workflowTypes.ts'

const ended =
  (status: WorkflowRunStatus) =>
  ({ context }: { context: WorkflowRunContext }): boolean =>
    context.outcome === status

/** Moves to the final state named by `context.outcome` as soon as it is set. */
const toFinal = [
  { guard: ended('success'), target: 'success' },
  { guard: ended('failed'), target: 'failed' },
  { guard: ended('cancelled'), target: 'cancelled' },
  { guard: ended('timeout'), target: 'timeout' },
] as const

/**
 * Builds the machine. `rules` exist so tests can check that the properties catch broken variants;
 * everything else uses {@link workflowMachine}.
 */
export function createWorkflowMachine(rules: WorkflowRules = defaultWorkflowRules) {
  return setup({
    types: {} as {
      context: WorkflowRunContext
      input: WorkflowRunInput
      events: WorkflowEvent
      emitted: WorkflowEmitted
    },
    actions: {
      apply: enqueueActions(({ context, event, enqueue }) => {
        const next = reduceWorkflow(context, event, rules)
        if (next.context !== context) enqueue.assign(() => next.context)
        for (const e of next.emitted) enqueue.emit(e)
      }),
      // Its own name so a host (or a test) can see resubmissions apart from the rest.
      resume: enqueueActions(({ context, event, enqueue }) => {
        const next = reduceWorkflow(context, event, rules)
        if (next.context !== context) enqueue.assign(() => next.context)
        for (const e of next.emitted) enqueue.emit(e)
      }),
      announceEnd: emit(({ context }) => ({
        type: 'runFinished' as const,
        status: context.outcome!,
        tasks: summariseTasks(context),
      })),
    },
  }).createMachine({
    id: 'workflowRun',
    context: ({ input }) => initialWorkflowContext(input),
    initial: 'pending',
    states: {
      pending: {
        always: [...toFinal],
        on: {
          start: { target: 'running', actions: 'apply' },
          resume: { target: 'running', actions: 'resume' },
          cancel: { actions: 'apply' },
        },
      },
      running: {
        always: [...toFinal],
        on: {
          'task.result': { actions: 'apply' },
          approve: { actions: 'apply' },
          reject: { actions: 'apply' },
          cancel: { actions: 'apply' },
          tick: { actions: 'apply' },
          resume: { actions: 'resume' },
        },
      },
      success: { type: 'final', entry: 'announceEnd' },
      failed: { type: 'final', entry: 'announceEnd' },
      cancelled: { type: 'final', entry: 'announceEnd' },
      timeout: { type: 'final', entry: 'announceEnd' },
    },
  })
}

/** The workflow run machine. */
export const workflowMachine: WorkflowMachine = createWorkflowMachine()
export type WorkflowMachine = ReturnType<typeof createWorkflowMachine>
