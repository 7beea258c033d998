import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createActor } from 'xstate'
import { AgentConfigError } from '../../src/machines/AgentConfigError.ts'
import {
  type AgentEmitted,
  type AgentEvent,
  type AgentMachine,
  type AgentMachineInput,
  agentDeadline,
  agentMachine,
  createAgentContext,
} from '../../src/machines/agentMachine.ts'
import type { Task } from '../../src/schema/domain.ts'

const info = { agent_id: 'a1', agent_type: 'coder', capabilities: ['Shell', ' GIT '], max_tasks: 2 }
const task = (id: string): Task => ({
  task_id: id,
  task_type: 'test',
  required_capabilities: ['shell'],
  priority: 5,
})

/** An agent actor with everything it emits recorded; `take()` returns and clears the record. */
function agent(input: Partial<AgentMachineInput> = {}, machine: AgentMachine = agentMachine) {
  const actor = createActor(machine, {
    input: { info, heartbeatIntervalMs: 1000, healthCheckIntervalMs: 5000, ...input },
  })
  let out: AgentEmitted[] = []
  actor.on('*', (e) => out.push(e as AgentEmitted))
  actor.start()
  const send = (e: AgentEvent) => actor.send(e)
  return {
    actor,
    send,
    take(): AgentEmitted[] {
      const taken = out
      out = []
      return taken
    },
    types: () => out.map((e) => e.type),
    value: () => actor.getSnapshot().value,
    ctx: () => actor.getSnapshot().context,
    assign: (id: string, attempt = 1, now = 100) =>
      send({ type: 'task.assign', task: task(id), attempt, now }),
    finish: (
      id: string,
      attempt = 1,
      now = 200,
      result: { status: 'success' | 'failed' | 'cancelled'; output?: unknown; error?: string } = {
        status: 'success',
      },
    ) => send({ type: 'task.finished', taskId: id, attempt, result, now }),
  }
}

function registered(input: Partial<AgentMachineInput> = {}, machine?: AgentMachine) {
  const a = agent(input, machine)
  a.send({ type: 'registered', now: 10 })
  a.take()
  return a
}

describe('agentMachine - creation and registration', () => {
  it('agentMachine - emits register with lower-cased capabilities and waits in registering', () => {
    const a = agent()
    expect(a.value()).toBe('registering')
    expect(a.take()).toEqual([
      {
        type: 'register',
        info: {
          agent_id: 'a1',
          agent_type: 'coder',
          capabilities: ['shell', 'git'],
          max_tasks: 2,
          weight: 50,
        },
      },
    ])
  })

  it('agentMachine - an agent without capabilities is refused with a clear error', () => {
    expect(() => createAgentContext({ info: { ...info, capabilities: [] } })).toThrow(AgentConfigError)
    expect(() => createAgentContext({ info: { ...info, capabilities: [] } })).toThrow(
      'invalid agent a1: capabilities: an agent needs at least one capability',
    )
    const actor = createActor(agentMachine, { input: { info: { ...info, capabilities: [] } } })
    expect(actor.getSnapshot().status).toBe('error')
    expect((actor.getSnapshot() as { error?: unknown }).error).toBeInstanceOf(AgentConfigError)
    expect(() => createAgentContext({ info, heartbeatIntervalMs: 0 })).toThrow(
      /heartbeatIntervalMs must be a positive/,
    )
  })

  it('agentMachine - retries registration on the heartbeat beat while no coordinator answers', () => {
    const a = agent({ now: 0 })
    a.take()
    a.send({ type: 'tick', now: 999 })
    expect(a.take()).toEqual([])
    a.send({ type: 'tick', now: 1000 })
    expect(a.types()).toEqual(['register'])
    a.take()
    a.send({ type: 'health.failed', now: 1001 })
    a.send({ type: 'tick', now: 1500 })
    expect(a.take()).toEqual([])
    expect(a.ctx().healthFailures).toBe(0)
  })

  // Regression: the coordinator assigns work as soon as it registers an agent, so the first
  // assignment can overtake the registration's acknowledgement; rejecting it stranded the task.
  it('agentMachine - an assignment that overtakes the registration ack is accepted and counts as registered', () => {
    const a = agent({ now: 0 })
    a.take()
    a.assign('t1')
    expect(a.value()).toBe('busy')
    expect(a.types()).toContain('execute')
    expect(a.ctx().nextHeartbeatAt).toBeGreaterThan(0)
    a.send({ type: 'registered', now: 5 })
    expect(a.value()).toBe('busy')
  })

  it('agentMachine - registered moves to idle and arms the heartbeat and health-check deadlines', () => {
    const a = agent()
    a.take()
    a.send({ type: 'registered', now: 10 })
    expect(a.value()).toBe('idle')
    expect(a.take()).toEqual([{ type: 'stateChanged', from: 'registering', to: 'idle', now: 10 }])
    expect(a.ctx()).toMatchObject({ nextHeartbeatAt: 1010, nextHealthCheckAt: 5010 })
    expect(agentDeadline(a.ctx())).toBe(1010)
  })
})

describe('agentMachine - tasks', () => {
  it('agentMachine - an assignment moves idle to busy and asks the host to execute it', () => {
    const a = registered()
    a.assign('t1', 1, 100)
    expect(a.value()).toBe('busy')
    expect(a.take()).toEqual([
      { type: 'execute', task: task('t1'), attempt: 1 },
      { type: 'stateChanged', from: 'idle', to: 'busy', now: 100 },
    ])
  })

  it('agentMachine - accepts up to max_tasks and rejects beyond, naming the load', () => {
    const a = registered()
    a.assign('t1')
    a.assign('t2')
    a.take()
    a.assign('t3', 4)
    expect(a.take()).toEqual([
      { type: 'rejected', task_id: 't3', attempt: 4, agent_id: 'a1', reason: 'at capacity (2/2)' },
    ])
    expect(a.ctx().running).toHaveLength(2)
  })

  it('agentMachine - a redelivered assignment of a running or just-finished attempt is ignored', () => {
    const a = registered()
    a.assign('t1')
    a.take()
    a.assign('t1')
    expect(a.take()).toEqual([])
    a.finish('t1')
    a.take()
    a.assign('t1')
    expect(a.take()).toEqual([])
    expect(a.value()).toBe('idle')
    // A new attempt of the same task is new work.
    a.assign('t1', 2)
    expect(a.types()).toEqual(['execute', 'stateChanged'])
  })

  // Regression: a restarted coordinator numbers attempts from 1 again; an assignment of an attempt
  // this agent is still cancelling was ignored as a redelivery, and the old run's `cancelled`
  // result then answered for the new assignment.
  it('agentMachine - an assignment of an attempt still being cancelled is rejected, not taken as a redelivery', () => {
    const a = registered()
    a.assign('t1')
    a.send({ type: 'task.cancel', taskId: 't1', attempt: 1, now: 5 })
    a.take()
    a.assign('t1')
    expect(a.take()).toEqual([
      {
        type: 'rejected',
        task_id: 't1',
        attempt: 1,
        agent_id: 'a1',
        reason: 'the previous run of this attempt is still stopping',
      },
    ])
  })

  it('agentMachine - a finished task yields one result with its times; the last one returns to idle', () => {
    const a = registered()
    a.assign('t1', 1, 100)
    a.assign('t2', 1, 150)
    a.take()
    a.finish('t1', 1, 300, { status: 'success', output: { n: 1 } })
    expect(a.take()).toEqual([
      {
        type: 'result',
        task_id: 't1',
        attempt: 1,
        agent_id: 'a1',
        status: 'success',
        output: { n: 1 },
        started_at: 100,
        finished_at: 300,
      },
    ])
    expect(a.value()).toBe('busy')
    a.finish('t2', 1, 400, { status: 'failed', error: 'exit 1' })
    expect(a.take()).toEqual([
      {
        type: 'result',
        task_id: 't2',
        attempt: 1,
        agent_id: 'a1',
        status: 'failed',
        error: 'exit 1',
        started_at: 150,
        finished_at: 400,
      },
      { type: 'stateChanged', from: 'busy', to: 'idle', now: 400 },
    ])
  })

  it('agentMachine - a second or unknown finish produces no result', () => {
    const a = registered()
    a.assign('t1')
    a.assign('t2')
    a.finish('t1')
    a.take()
    a.finish('t1')
    a.finish('nope', 3)
    expect(a.take()).toEqual([])
    expect(a.value()).toBe('busy')
  })

  it('agentMachine - cancel aborts the attempt but keeps its slot until the executor reports', () => {
    const a = registered({ info: { ...info, max_tasks: 1 } })
    a.assign('t1')
    a.take()
    a.send({ type: 'task.cancel', taskId: 't1', attempt: 1, now: 150 })
    expect(a.take()).toEqual([{ type: 'abort', taskId: 't1', attempt: 1 }])
    a.send({ type: 'task.cancel', taskId: 't1', now: 160 })
    expect(a.take()).toEqual([])
    a.assign('t2')
    expect(a.types()).toEqual(['rejected'])
    a.take()
    a.finish('t1', 1, 170, { status: 'cancelled', error: 'cancelled' })
    expect(a.take()).toMatchObject([
      { type: 'result', status: 'cancelled' },
      { type: 'stateChanged', to: 'idle' },
    ])
  })

  it('agentMachine - cancel without an attempt aborts every running attempt of the task, and nothing else', () => {
    const a = registered({ info: { ...info, max_tasks: 3 } })
    a.assign('t1', 1)
    a.assign('t1', 2)
    a.assign('t2', 1)
    a.take()
    a.send({ type: 'task.cancel', taskId: 't1', now: 150 })
    expect(a.take()).toEqual([
      { type: 'abort', taskId: 't1', attempt: 1 },
      { type: 'abort', taskId: 't1', attempt: 2 },
    ])
    a.send({ type: 'task.cancel', taskId: 'unknown', now: 151 })
    a.send({ type: 'task.cancel', taskId: 't2', attempt: 9, now: 152 })
    expect(a.take()).toEqual([])
  })
})

describe('agentMachine - heartbeats and health', () => {
  it('agentMachine - a tick at the deadline emits a heartbeat with state, load and running attempts', () => {
    const a = registered()
    a.assign('t1', 2)
    a.take()
    a.send({ type: 'tick', now: 1009 })
    expect(a.take()).toEqual([])
    a.send({ type: 'tick', now: 1010 })
    expect(a.take()).toEqual([
      { type: 'heartbeat', agent_id: 'a1', state: 'busy', load: 1, running: [{ task_id: 't1', attempt: 2 }] },
    ])
    expect(a.ctx().nextHeartbeatAt).toBe(2010)
  })

  it('agentMachine - a late tick sends one heartbeat and re-arms from now, without a burst', () => {
    const a = registered()
    a.send({ type: 'tick', now: 4500 })
    a.send({ type: 'tick', now: 4500 })
    expect(a.types()).toEqual(['heartbeat'])
    expect(a.ctx().nextHeartbeatAt).toBe(5500)
  })

  it('agentMachine - health checks fall due on their own interval', () => {
    const a = registered()
    a.send({ type: 'tick', now: 5010 })
    expect(a.types()).toEqual(['heartbeat', 'healthCheck'])
    expect(a.ctx().nextHealthCheckAt).toBe(10_010)
    expect(agentDeadline(a.ctx())).toBe(6010)
  })

  it('agentMachine - maxHealthFailures consecutive failures restart the executor and reset the count', () => {
    const a = registered({ maxHealthFailures: 3 })
    const fail = () => a.send({ type: 'health.failed', now: 1 })
    fail()
    fail()
    a.send({ type: 'health.ok', now: 1 })
    fail()
    fail()
    expect(a.take()).toEqual([])
    fail()
    expect(a.take()).toEqual([{ type: 'restartExecutor', failures: 3 }])
    expect(a.ctx().healthFailures).toBe(0)
    fail()
    fail()
    expect(a.take()).toEqual([])
  })
})

describe('agentMachine - draining and stopping', () => {
  it('agentMachine - an idle agent drains straight to stopped and stops ticking', () => {
    const a = registered()
    a.send({ type: 'drain', now: 50 })
    expect(a.take()).toEqual([
      { type: 'stateChanged', from: 'idle', to: 'draining', now: 50 },
      { type: 'stateChanged', from: 'draining', to: 'stopped', now: 50 },
    ])
    expect(a.value()).toBe('stopped')
    expect(agentDeadline(a.ctx())).toBeUndefined()
    a.send({ type: 'tick', now: 5000 })
    a.send({ type: 'health.failed', now: 5000 })
    expect(a.take()).toEqual([])
  })

  it('agentMachine - a draining agent finishes its tasks, takes none, and stops when empty', () => {
    const a = registered()
    a.assign('t1')
    a.assign('t2')
    a.send({ type: 'drain', now: 120 })
    a.take()
    a.assign('t3')
    a.assign('t1')
    expect(a.take()).toEqual([
      { type: 'rejected', task_id: 't3', attempt: 1, agent_id: 'a1', reason: 'draining' },
    ])
    a.send({ type: 'tick', now: 1010 })
    expect(a.take()).toMatchObject([{ type: 'heartbeat', state: 'draining', load: 2 }])
    a.finish('t1', 1, 300)
    expect(a.value()).toBe('draining')
    a.finish('t2', 1, 400)
    expect(a.types()).toEqual(['result', 'result', 'stateChanged'])
    expect(a.value()).toBe('stopped')
  })

  it('agentMachine - stop aborts and hands back running attempts, and reports cancelled ones', () => {
    const a = registered()
    a.assign('t1', 1, 100)
    a.assign('t2', 1, 110)
    a.send({ type: 'task.cancel', taskId: 't2', now: 120 })
    a.take()
    a.send({ type: 'stop', now: 130, reason: 'node shutting down' })
    expect(a.take()).toEqual([
      { type: 'abort', taskId: 't1', attempt: 1 },
      { type: 'rejected', task_id: 't1', attempt: 1, agent_id: 'a1', reason: 'node shutting down' },
      {
        type: 'result',
        task_id: 't2',
        attempt: 1,
        agent_id: 'a1',
        status: 'cancelled',
        error: 'cancelled; node shutting down',
        started_at: 110,
        finished_at: 130,
      },
      { type: 'stateChanged', from: 'busy', to: 'stopped', now: 130 },
    ])
    // The executor's late report of a handed-back attempt is not a second outcome.
    a.finish('t1')
    a.send({ type: 'stop', now: 140 })
    expect(a.take()).toEqual([])
    // An assignment still on its way is handed back so the coordinator requeues it.
    a.assign('t9')
    expect(a.take()).toEqual([
      { type: 'rejected', task_id: 't9', attempt: 1, agent_id: 'a1', reason: 'agent stopped' },
    ])
  })

  it('agentMachine - drain or stop before registration stops without ever going idle', () => {
    const a = agent()
    a.take()
    a.send({ type: 'drain', now: 5 })
    expect(a.take().map((e) => (e.type === 'stateChanged' ? e.to : e.type))).toEqual(['draining', 'stopped'])
    const b = agent()
    b.take()
    b.send({ type: 'stop', now: 5 })
    expect(b.take()).toEqual([{ type: 'stateChanged', from: 'registering', to: 'stopped', now: 5 }])
  })
})

// ---- property: random event sequences -------------------------------------------------------

type Cmd =
  | { k: 'assign'; t: number; a: number }
  | { k: 'finish'; pick: number; status: 'success' | 'failed' }
  | { k: 'finishUnknown'; t: number; a: number }
  | { k: 'cancel'; t: number; a?: number }
  | { k: 'drain' }
  | { k: 'stop' }
  | { k: 'tick'; dt: number }
  | { k: 'health'; ok: boolean }

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('assign' as const),
      t: fc.nat(4),
      a: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('finish' as const),
      pick: fc.nat(),
      status: fc.constantFrom('success' as const, 'failed' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('finishUnknown' as const),
      t: fc.nat(4),
      a: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('cancel' as const),
      t: fc.nat(4),
      a: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('drain' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('stop' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('tick' as const), dt: fc.nat(3000) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('health' as const), ok: fc.boolean() }) },
)

/**
 * Invariants over any event sequence: load never exceeds max_tasks; every accepted attempt is
 * executed once and gets exactly one outcome (a result, or a hand-back on stop) once the host has
 * reported every run; nothing is accepted after a drain; a drained agent stops only when empty.
 */
const STILL_STOPPING = 'the previous run of this attempt is still stopping'

const agentProperty = (machine: AgentMachine) =>
  fc.property(
    fc.boolean(),
    fc.integer({ min: 1, max: 3 }),
    fc.array(cmd, { maxLength: 40 }),
    (register, max, cmds) => {
      const a = agent({ info: { ...info, max_tasks: max }, maxHealthFailures: 2 }, machine)
      let now = 0
      const executed = new Map<string, number>()
      const outcomes = new Map<string, number>()
      const inFlight = new Set<string>()
      let drainAsked = false
      let stopAsked = false
      const key = (t: string, att: number) => `${t}#${att}`

      const observe = () => {
        for (const e of a.take()) {
          if (e.type === 'execute') {
            const k = key(e.task.task_id, e.attempt)
            expect(drainAsked, `execute ${k} after drain`).toBe(false)
            executed.set(k, (executed.get(k) ?? 0) + 1)
            expect(executed.get(k), `${k} executed twice`).toBe(1)
            inFlight.add(k)
          } else if (e.type === 'rejected' && e.reason === STILL_STOPPING) {
            // The answer to the same attempt assigned again while its run is still being
            // cancelled (a restarted coordinator numbers attempts from 1 again): not an outcome
            // of that run, which still reports its own.
            const k = key(e.task_id, e.attempt)
            const run = a.ctx().running.find((r) => key(r.task.task_id, r.attempt) === k)
            expect(inFlight.has(k) && run?.cancelling, `still-stopping rejection of ${k}`).toBe(true)
          } else if (
            e.type === 'result' ||
            (e.type === 'rejected' && inFlight.has(key(e.task_id, e.attempt)))
          ) {
            const k = key(e.task_id, e.attempt)
            expect(executed.has(k), `outcome for ${k}, which never ran`).toBe(true)
            outcomes.set(k, (outcomes.get(k) ?? 0) + 1)
            expect(outcomes.get(k), `${k} got two outcomes`).toBe(1)
            inFlight.delete(k)
          } else if (e.type === 'abort') {
            expect(inFlight.has(key(e.taskId, e.attempt)), 'abort of an attempt not running').toBe(true)
          } else if (e.type === 'stateChanged' && e.to === 'stopped' && !stopAsked) {
            expect(inFlight.size, 'drained agent stopped with tasks running').toBe(0)
          }
        }
        expect(inFlight.size).toBeLessThanOrEqual(max)
        expect(a.ctx().running.length).toBeLessThanOrEqual(max)
      }

      if (register) a.send({ type: 'registered', now })
      observe()
      for (const c of cmds) {
        now += 1
        const done = a.value() === 'stopped'
        switch (c.k) {
          case 'assign':
            a.assign(`t${c.t}`, c.a, now)
            break
          case 'finish': {
            const running = a.ctx().running
            if (running.length === 0) break
            const r = running[c.pick % running.length]
            a.finish(r.task.task_id, r.attempt, now, {
              status: r.cancelling ? 'cancelled' : c.status,
            } as never)
            break
          }
          case 'finishUnknown':
            a.finish(`t${c.t}`, c.a, now)
            break
          case 'cancel':
            a.send({ type: 'task.cancel', taskId: `t${c.t}`, attempt: c.a, now })
            break
          case 'drain':
            if (!done && a.value() !== 'draining') drainAsked = true
            a.send({ type: 'drain', now })
            break
          case 'stop':
            if (!done) stopAsked = true
            a.send({ type: 'stop', now })
            break
          case 'tick':
            now += c.dt
            a.send({ type: 'tick', now })
            break
          case 'health':
            a.send({ type: c.ok ? 'health.ok' : 'health.failed', now })
            break
        }
        observe()
      }
      // The host reports every run still going; then every accepted attempt has its one outcome.
      for (const r of [...a.ctx().running]) {
        if (a.value() === 'stopped') break
        a.finish(r.task.task_id, r.attempt, ++now, { status: 'success' })
        observe()
      }
      for (const k of executed.keys()) expect(outcomes.get(k), `${k} has no outcome`).toBe(1)
    },
  )

describe('agentMachine - properties', () => {
  it('agentMachine - property: bounded load, one outcome per accepted attempt, drain stops only when empty', () => {
    fc.assert(agentProperty(agentMachine), {
      numRuns: 200,
      // Found by CI: the same attempt assigned again while it is being cancelled.
      examples: [
        [
          false,
          1,
          [
            { k: 'assign', t: 4, a: 1 },
            { k: 'cancel', t: 4, a: undefined },
            { k: 'assign', t: 4, a: 1 },
          ],
        ],
      ],
    })
  })

  it('agentMachine - mutant check: the property catches an off-by-one capacity, a drain that stops early and a missing duplicate check', () => {
    const offByOne = agentMachine.provide({
      guards: { hasCapacity: ({ context }) => context.running.length <= context.info.max_tasks },
    })
    const stopsEarly = agentMachine.provide({ guards: { isEmpty: () => true } })
    const noDuplicateCheck = agentMachine.provide({ guards: { isDuplicate: () => false } })
    for (const mutant of [offByOne, stopsEarly, noDuplicateCheck]) {
      expect(fc.check(agentProperty(mutant), { numRuns: 200 }).failed).toBe(true)
    }
  })
})
