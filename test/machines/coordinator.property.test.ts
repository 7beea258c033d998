import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CORRECT_RULES,
  type CoordinatorMachine,
  type CoordinatorRules,
  coordinatorMachine,
  createCoordinatorMachine,
} from '../../src/machines/coordinatorMachine.ts'
import type { Task } from '../../src/schema/domain.ts'
import { type SimAgentSpec, World } from './coordinatorWorld.ts'

const CAPS = ['x', 'y']
const capsArb = fc.subarray(CAPS, { minLength: 1 })

const agentsArb = fc
  .array(fc.record({ caps: capsArb, maxTasks: fc.integer({ min: 1, max: 3 }) }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((as): SimAgentSpec[] => as.map((a, i) => ({ id: `a${i}`, ...a })))

const taskArb = fc.record({
  caps: capsArb,
  priority: fc.integer({ min: 1, max: 10 }),
  retries: fc.integer({ min: 0, max: 2 }),
  delay: fc.constantFrom(0, 0.5, 1),
  // Mostly without a timeout: a timeout would rescue a task a broken coordinator lost.
  timeout: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) },
  ),
})

type Model = { tasks: number; agents: number }
type Cmd = fc.AsyncCommand<Model, World>

const cmd = (name: string, run: (w: World, m: Model) => unknown): Cmd => ({
  check: () => true,
  run: async (m, w) => {
    await run(w, m)
    // Fail at the first command that breaks an invariant, so shrinking points at it.
    if (w.violations.length > 0) throw new Error(w.violations.join('; '))
  },
  toString: () => name,
})

function commandsArb() {
  const agentIdx = fc.integer({ min: 0, max: 2 })
  const submit = taskArb.map((t) =>
    cmd(`submit(${JSON.stringify(t)})`, (w, m) => {
      const task: Task = {
        task_id: `t${m.tasks++}`,
        task_type: 'job',
        required_capabilities: t.caps,
        priority: t.priority,
        timeout: t.timeout,
        retry: { max_retries: t.retries, backoff: 'fixed', initial_delay: t.delay, max_delay: 60 },
      }
      w.submit(task)
    }),
  )
  const deliver = fc.integer({ min: 1, max: 6 }).map((n) => cmd(`deliver(${n})`, (w) => w.deliver(n)))
  const start = agentIdx.map((i) => cmd(`start(a${i})`, (w, m) => i < m.agents && w.start(`a${i}`)))
  return fc.commands(
    [
      submit,
      submit,
      submit,
      deliver,
      deliver,
      deliver,
      start,
      agentIdx.map((i) => cmd(`start(a${i})`, (w, m) => i < m.agents && w.start(`a${i}`))),
      agentIdx.map((i) => cmd(`crash(a${i})`, (w, m) => i < m.agents && w.crash(`a${i}`))),
      agentIdx.map((i) => cmd(`silence(a${i})`, (w, m) => i < m.agents && w.silence(`a${i}`))),
      fc.integer({ min: 100, max: 8000 }).map((ms) => cmd(`advance(${ms})`, (w) => w.advance(ms))),
      fc
        .nat()
        .map((k) =>
          cmd(`cancel(#${k})`, (w, m) => m.tasks > 0 && k % 7 === 0 && w.cancel(`t${k % m.tasks}`)),
        ),
    ],
    { maxCommands: 60, size: '+1' },
  )
}

/**
 * The property: after any history of submissions, registrations, crashes, partitions, clock jumps,
 * cancellations and reordered deliveries, followed by a phase where one reliable capable agent
 * stays alive long enough (the others fall silent), every submitted task completes exactly once,
 * no agent exceeds max_tasks, dispatch respects priority order and stale results never change a
 * finished task.
 */
function coordinatorProperty(machine: CoordinatorMachine, seen?: Record<string, number>) {
  return fc.asyncProperty(
    agentsArb,
    commandsArb(),
    fc.scheduler(),
    fc.integer(),
    async (agents, cmds, s, seed) => {
      const world = new World(machine, agents, s, seed)
      await fc.asyncModelRun(() => ({ model: { tasks: 0, agents: agents.length }, real: world }), cmds)
      world.addAgent({ id: 'rescuer', caps: CAPS, maxTasks: 3 })
      world.start('rescuer', true)
      for (let round = 0; round < 40 && !world.allDone(); round++) {
        await world.deliverAll()
        world.advance(1000, 'rescuer')
      }
      await world.deliverAll()
      if (seen) for (const [k, v] of Object.entries(world.stats)) seen[k] = (seen[k] ?? 0) + v
      if (world.violations.length > 0) throw new Error(world.violations.join('; '))
      const missing = world.submitted.filter((t) => world.done.get(t.task_id) !== 1).map((t) => t.task_id)
      if (missing.length > 0) throw new Error(`not completed exactly once: ${missing.join(', ')}`)
    },
  )
}

/** Runs the same property against a broken coordinator; returns why it failed ('' if it passed). */
const mutantFailure = async (over: Partial<CoordinatorRules>): Promise<string> => {
  const broken = createCoordinatorMachine({ ...CORRECT_RULES, ...over })
  const r = await fc.check(coordinatorProperty(broken), { numRuns: 200, endOnFailure: true })
  return r.failed ? String((r.errorInstance as Error | undefined)?.message) : ''
}

describe('coordinator (model-based)', () => {
  it('coordinator - completes every task exactly once, within max_tasks, in priority order, ignoring stale results', async () => {
    const seen: Record<string, number> = {}
    await fc.assert(coordinatorProperty(coordinatorMachine, seen), { numRuns: 150 })
    // The runs must exercise what the invariants are about, or passing says little.
    for (const k of ['assign', 'dead', 'revived', 'requeued', 'retrying', 'staleResult', 'cancel']) {
      expect(seen[k] ?? 0, k).toBeGreaterThan(0)
    }
  })

  it('coordinator - mutant that does not requeue a lost agent’s tasks is caught (tasks lost)', async () => {
    expect(await mutantFailure({ requeueOnAgentLoss: false })).toMatch(/not completed exactly once/)
  })

  it('coordinator - mutant that accepts stale results is caught (double completion)', async () => {
    expect(await mutantFailure({ acceptStaleResults: true })).toMatch(/completed twice|stale result changed/)
  })

  it('coordinator - mutant that ignores max_tasks is caught', async () => {
    expect(await mutantFailure({ enforceMaxTasks: false })).toMatch(/over max_tasks/)
  })

  it('coordinator - mutant that dispatches class by class instead of in priority order is caught', async () => {
    expect(await mutantFailure({ dispatchInPriorityOrder: false })).toMatch(/before ready/)
  })
})
