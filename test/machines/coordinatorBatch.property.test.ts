/**
 * The coordinator's `batch` event: a host hands everything one delivery pass brought over as one
 * transition. Property: any script of events, cut into batches anywhere, leaves the coordinator
 * in the same state and makes it emit the same things, in the same order, as sending the events
 * one by one. Mutant check: a coordinator that applies a batch out of order is caught.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CORRECT_RULES,
  type CoordinatorEvent,
  type CoordinatorInput,
  coordinatorMachine,
  coordinatorStep,
  createCoordinatorMachine,
} from '../../src/machines/coordinatorMachine.ts'
import { agentInfo, harness, resultOf, taskOf } from './coordinatorHarness.ts'

const AGENTS = ['a1', 'a2', 'a3']
const TASKS = ['t1', 't2', 't3', 't4', 't5', 't6']

type Timed = CoordinatorEvent & { type: Exclude<CoordinatorEvent['type'], 'batch'> }

/** One event of a script, without its time (the script adds increasing times). */
const eventArb: fc.Arbitrary<Omit<Timed, 'now'>> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...AGENTS), fc.integer({ min: 1, max: 2 }))
    .map(([id, max]) => ({ type: 'agent.register' as const, info: agentInfo(id, { max_tasks: max }) })),
  fc
    .tuple(fc.constantFrom(...TASKS), fc.integer({ min: 1, max: 10 }), fc.boolean())
    .map(([id, priority, retry]) => ({
      type: 'task.submit' as const,
      task: taskOf(id, {
        priority,
        retry: retry ? { max_retries: 1, backoff: 'fixed', initial_delay: 0.005, max_delay: 1 } : undefined,
      }),
    })),
  fc
    .tuple(
      fc.constantFrom(...TASKS),
      fc.constantFrom(...AGENTS),
      fc.constantFrom('success', 'failed'),
      fc.integer({ min: 1, max: 2 }),
    )
    .map(([id, agent, status, attempt]) => ({
      type: 'task.result' as const,
      result: resultOf(id, attempt, agent, status as 'success' | 'failed'),
    })),
  fc.constantFrom(...TASKS).map((id) => ({ type: 'task.cancel' as const, taskId: id })),
  fc.constantFrom(...AGENTS).map((id) => ({ type: 'agent.deregister' as const, agentId: id })),
  fc.constant({ type: 'tick' as const }),
)

const scriptArb = fc
  .array(fc.tuple(eventArb, fc.integer({ min: 0, max: 20 })), { minLength: 1, maxLength: 40 })
  .map((steps) => {
    let now = 1000
    return steps.map(([ev, dt]) => {
      now += dt
      return { ...ev, now } as Timed
    })
  })

/** Where the script is cut into batches: sizes of consecutive batches (the rest goes last). */
const cutsArb = fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 20 })

function batches(script: Timed[], cuts: number[]): Timed[][] {
  const out: Timed[][] = []
  let i = 0
  for (const n of cuts) {
    if (i >= script.length) break
    out.push(script.slice(i, i + n))
    i += n
  }
  if (i < script.length) out.push(script.slice(i))
  return out
}

const INPUT: CoordinatorInput = { heartbeatIntervalMs: 10 }

/** Runs the script one event at a time, then in batches on `machine`; compares state and output. */
function sameAsOneByOne(machine: typeof coordinatorMachine) {
  return fc.property(scriptArb, cutsArb, (script, cuts) => {
    const one = harness(INPUT)
    for (const ev of script) one.send(ev)
    const many = harness(INPUT, machine)
    for (const b of batches(script, cuts)) many.send({ type: 'batch', events: b, now: b[b.length - 1].now })
    expect(JSON.stringify(many.all)).toBe(JSON.stringify(one.all))
    expect(JSON.stringify(many.ctx())).toBe(JSON.stringify(one.ctx()))
  })
}

/** A coordinator that applies a batch's events last first. */
const createOutOfOrderMachine = () =>
  createCoordinatorMachine(CORRECT_RULES, (ctx, ev, rules, out = []) => {
    if (ev.type !== 'batch') return coordinatorStep(ctx, ev, rules, out)
    for (const e of [...ev.events].reverse()) coordinatorStep(ctx, e, rules, out)
    return out
  })

describe('coordinator batch', () => {
  it('coordinator batch - any cut of a script into batches gives the same state and output as one by one', () => {
    fc.assert(sameAsOneByOne(coordinatorMachine), { numRuns: 300 })
  })

  it('coordinator batch - the property catches a coordinator that applies a batch out of order', () => {
    const mutant = createOutOfOrderMachine()
    expect(fc.check(sameAsOneByOne(mutant), { numRuns: 300 }).failed).toBe(true)
  })
})
