// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow expressions are written as ${{ }} in plain strings
/** fast-check generators of workflow run scenarios for the simulator. */
import fc from 'fast-check'
import type { WorkflowTaskDef } from '../../src/schema/workflow.ts'
import { workflow } from './workflowHarness.ts'
import type { Crash, Outcome, Scenario } from './workflowSimulator.ts'

/** `null` four times out of five (or as weighted). */
const sometimes = <T>(weight: number, arb: fc.Arbitrary<T>, none = 4): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: none, arbitrary: fc.constant(null) }, { weight, arbitrary: arb })

const arbTask = (i: number) =>
  fc.record({
    deps: i === 0 ? fc.constant<number[]>([]) : fc.uniqueArray(fc.nat(i - 1), { maxLength: 3 }),
    max_retries: fc.nat(2),
    backoff: fc.constantFrom('fixed' as const, 'exponential' as const),
    initial_delay: fc.constantFrom(0, 0.5, 1, 2),
    max_delay: fc.constantFrom(1, 3),
    when: fc.constantFrom(undefined, undefined, undefined, '${{ true }}', '${{ false }}'),
    gate: sometimes(1, fc.constantFrom(true, true, true, false)),
    priority: fc.integer({ min: 1, max: 10 }),
    outcomes: fc.array(fc.constantFrom<Outcome>('success', 'success', 'success', 'failed', 'timeout'), {
      minLength: 4,
      maxLength: 4,
    }),
  })

/** Up to 12 tasks, edges only to earlier tasks, random budgets, conditions, gates and outcomes. */
export const arbScenario: fc.Arbitrary<Scenario> = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.record({
      tasks: fc.tuple(...Array.from({ length: n }, (_, i) => arbTask(i))),
      max_parallel: fc.integer({ min: 1, max: 4 }),
      on_failure: fc.constantFrom('fail_fast' as const, 'continue' as const),
      timeout: sometimes(1, fc.integer({ min: 3, max: 20 })),
      cancelAtStep: sometimes(1, fc.nat(40)),
      seed: fc.integer(),
    }),
  )
  .map((g) => {
    const tasks: (Partial<WorkflowTaskDef> & { task_id: string })[] = g.tasks.map((t, i) => ({
      task_id: `t${i}`,
      depends_on: t.deps.map((d) => `t${d}`),
      retry: {
        max_retries: t.max_retries,
        backoff: t.backoff,
        initial_delay: t.initial_delay,
        max_delay: t.max_delay,
      },
      priority: t.priority,
      // Results flow to dependants: the input names the first dependency's output.
      input: t.deps.length > 0 ? { from: `\${{ tasks.t${t.deps[0]}.output }}` } : { n: i },
      ...(t.when === undefined ? {} : { when: t.when }),
      ...(t.gate === null ? {} : { approval: { required: true } }),
    }))
    return {
      def: workflow(tasks, {
        max_parallel: g.max_parallel,
        on_failure: g.on_failure,
        ...(g.timeout === null ? {} : { timeout: g.timeout }),
      }),
      outcomes: Object.fromEntries(g.tasks.map((t, i) => [`t${i}`, t.outcomes])),
      approvals: Object.fromEntries(g.tasks.flatMap((t, i) => (t.gate === null ? [] : [[`t${i}`, t.gate]]))),
      ...(g.cancelAtStep === null ? {} : { cancelAtStep: g.cancelAtStep }),
      seed: g.seed,
    }
  })

/** A crash before a random step, with a random coordinator behaviour on resubmission. */
export const arbCrash: fc.Arbitrary<Crash> = fc.record({
  atStep: fc.nat(10),
  mode: fc.constantFrom('dedupe' as const, 'rerun' as const, 'lostEmits' as const, 'replay' as const),
  lag: fc.integer({ min: 1, max: 5 }),
})
