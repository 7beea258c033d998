import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createActor } from 'xstate'
import {
  type Allocation,
  allocatorDeadline,
  DEFAULT_ALLOCATOR_RULES,
  type ResourceAmounts,
  requestVector,
  usage,
} from '../../src/machines/allocation.ts'
import {
  type AllocatorEmitted,
  allocatorMachine,
  createAllocatorMachine,
} from '../../src/machines/allocatorMachine.ts'
import { type AllocatorStep, allocatorStep } from '../../src/machines/allocatorStep.ts'
import { choosePreemption } from '../../src/machines/choosePreemption.ts'
import { findCycle } from '../../src/machines/findCycle.ts'
import { allocatorProperty } from './allocatorSpec.ts'

function start(capacity: Record<string, ResourceAmounts> = {}) {
  const actor = createActor(allocatorMachine, { input: { capacity } })
  const emitted: AllocatorEmitted[] = []
  actor.on('*', (e) => emitted.push(e))
  actor.start()
  let now = 0
  const alloc = (
    requestId: string,
    resources: ResourceAmounts,
    opts: { owner?: string; agentId?: string; priority?: number; wait?: boolean; ttlMs?: number } = {},
  ) =>
    actor.send({
      type: 'allocate',
      requestId,
      owner: opts.owner ?? requestId.split('#')[0],
      agentId: opts.agentId ?? 'a1',
      priority: opts.priority ?? 5,
      resources,
      wait: opts.wait,
      ttlMs: opts.ttlMs,
      now,
    })
  return {
    actor,
    alloc,
    at: (t: number) => {
      now = t
    },
    send: (e: { type: 'confirm' | 'release'; requestId: string } | { type: 'tick' }) =>
      actor.send({ ...e, now }),
    drain: () => emitted.splice(0),
    types: () => emitted.splice(0).map((e) => `${e.type}:${'requestId' in e ? e.requestId : ''}`),
    ledger: () => actor.getSnapshot().context,
  }
}

describe('allocatorMachine - unit', () => {
  it('allocatorMachine - allocation is all-or-nothing and the denial names the short dimension', () => {
    const a = start({ a1: { cpu_cores: 4, memory_mb: 1000, task_slots: 4 } })
    a.alloc('t1#1', { cpu_cores: 2, memory_mb: 800 })
    a.alloc('t2#1', { cpu_cores: 2, memory_mb: 300 }, { wait: false })
    const [granted, denied] = a.drain()
    expect(granted).toEqual({ type: 'granted', requestId: 't1#1', owner: 't1', agentId: 'a1' })
    expect(denied).toMatchObject({ type: 'denied', requestId: 't2#1', code: 'unavailable' })
    expect(denied.type === 'denied' && denied.reason).toBe('memory_mb needs 300, 200 free')
    expect(usage(a.ledger(), 'a1')).toEqual({
      cpu_cores: 2,
      memory_mb: 800,
      disk_mb: 0,
      network_mbps: 0,
      task_slots: 1,
    })
  })

  it('allocatorMachine - a request larger than the agent is denied at once, even when it may wait', () => {
    const a = start({ a1: { cpu_cores: 4, task_slots: 1 } })
    a.alloc('t1#1', { cpu_cores: 8 })
    expect(a.drain()).toEqual([
      {
        type: 'denied',
        requestId: 't1#1',
        owner: 't1',
        agentId: 'a1',
        code: 'exceeds-capacity',
        reason: 'cpu_cores needs 8, 4 capacity',
      },
    ])
    a.alloc('t2#1', {}, { agentId: 'ghost' })
    expect(a.drain()).toMatchObject([{ type: 'denied', code: 'unknown-agent' }])
  })

  it('allocatorMachine - release frees resources and grants the queued request', () => {
    const a = start({ a1: { cpu_cores: 4, task_slots: 4 } })
    a.alloc('t1#1', { cpu_cores: 3 })
    a.alloc('t2#1', { cpu_cores: 2 })
    expect(a.types()).toEqual(['granted:t1#1', 'queued:t2#1'])
    a.send({ type: 'release', requestId: 't1#1' })
    expect(a.types()).toEqual(['released:t1#1', 'granted:t2#1'])
    a.send({ type: 'release', requestId: 't1#1' })
    expect(a.drain()).toMatchObject([{ type: 'ignored', requestId: 't1#1', op: 'release' }])
  })

  it('allocatorMachine - the queue is served by priority, FIFO within a priority', () => {
    const a = start({ a1: { task_slots: 1 } })
    a.alloc('hold#1', {}, { priority: 9 })
    a.alloc('low#1', {}, { priority: 2 })
    a.alloc('mid1#1', {}, { priority: 6 })
    a.alloc('mid2#1', {}, { priority: 6 })
    a.drain()
    const grants: string[] = []
    for (const id of ['hold#1', 'mid1#1', 'mid2#1']) {
      a.send({ type: 'release', requestId: id })
      grants.push(...a.types().filter((t) => t.startsWith('granted')))
    }
    expect(grants).toEqual(['granted:mid1#1', 'granted:mid2#1', 'granted:low#1'])
  })

  it('allocatorMachine - an unconfirmed reservation expires at its deadline and frees its resources', () => {
    const a = start({ a1: { cpu_cores: 2, task_slots: 2 } })
    a.at(1_000)
    a.alloc('t1#1', { cpu_cores: 2 }, { ttlMs: 100 })
    a.alloc('t2#1', { cpu_cores: 1 })
    expect(a.drain()[0]).toEqual({
      type: 'granted',
      requestId: 't1#1',
      owner: 't1',
      agentId: 'a1',
      expiresAt: 1_100,
    })
    expect(allocatorDeadline(a.ledger())).toBe(1_100)
    a.at(1_099)
    a.send({ type: 'tick' })
    expect(a.drain()).toEqual([])
    a.at(1_100)
    a.send({ type: 'tick' })
    expect(a.types()).toEqual(['expired:t1#1', 'granted:t2#1'])
    expect(allocatorDeadline(a.ledger())).toBeUndefined()
  })

  it('allocatorMachine - a confirmed reservation stays; a confirm after the deadline is ignored', () => {
    const a = start({ a1: { cpu_cores: 2, task_slots: 2 } })
    a.alloc('t1#1', { cpu_cores: 1 }, { ttlMs: 50 })
    a.alloc('t2#1', { cpu_cores: 1 }, { ttlMs: 50 })
    a.at(49)
    a.send({ type: 'confirm', requestId: 't1#1' })
    a.at(50)
    a.send({ type: 'confirm', requestId: 't2#1' })
    a.at(10_000)
    a.send({ type: 'tick' })
    expect(a.types()).toEqual([
      'granted:t1#1',
      'granted:t2#1',
      'confirmed:t1#1',
      'expired:t2#1',
      'ignored:t2#1',
    ])
    expect(Object.keys(a.ledger().allocations)).toEqual(['t1#1'])
  })

  it('allocatorMachine - preempts only strictly lower priority, and reports every preempted request', () => {
    const a = start({ a1: { cpu_cores: 4, task_slots: 4 } })
    a.alloc('p3#1', { cpu_cores: 2 }, { priority: 3 })
    a.alloc('p5#1', { cpu_cores: 2 }, { priority: 5 })
    a.alloc('eq#1', { cpu_cores: 2 }, { priority: 3, wait: false })
    expect(a.types()).toEqual(['granted:p3#1', 'granted:p5#1', 'denied:eq#1'])
    a.alloc('hi#1', { cpu_cores: 2 }, { priority: 6 })
    expect(a.drain()).toEqual([
      { type: 'preempted', requestId: 'p3#1', owner: 'p3', agentId: 'a1', by: 'hi#1' },
      { type: 'granted', requestId: 'hi#1', owner: 'hi', agentId: 'a1' },
    ])
  })

  it('allocatorMachine - preempts the fewest of the lowest priority level that suffices', () => {
    const a = start({ a1: { cpu_cores: 6, task_slots: 6 } })
    a.alloc('s1#1', { cpu_cores: 1 }, { priority: 1 })
    a.alloc('s2#1', { cpu_cores: 1 }, { priority: 1 })
    a.alloc('big#1', { cpu_cores: 2 }, { priority: 1 })
    a.alloc('mid#1', { cpu_cores: 2 }, { priority: 4 })
    a.drain()
    a.alloc('hi#1', { cpu_cores: 2 }, { priority: 9 })
    expect(a.types()).toEqual(['preempted:big#1', 'granted:hi#1'])
  })

  it('allocatorMachine - a two-owner deadlock is detected, named, and broken at the lower-priority owner', () => {
    const a = start({ x: { task_slots: 1 }, y: { task_slots: 1 } })
    a.alloc('A#1', {}, { agentId: 'x', priority: 5 })
    a.alloc('B#1', {}, { agentId: 'y', priority: 5 })
    a.alloc('A#2', {}, { agentId: 'y', priority: 5 })
    expect(a.types()).toEqual(['granted:A#1', 'granted:B#1', 'queued:A#2'])
    a.alloc('B#2', {}, { agentId: 'x', priority: 3 })
    expect(a.drain()).toEqual([
      { type: 'queued', requestId: 'B#2', owner: 'B', agentId: 'x', reason: 'task_slots needs 1, 0 free' },
      { type: 'deadlock', cycle: ['A', 'B'] },
      { type: 'denied', requestId: 'B#2', owner: 'B', agentId: 'x', code: 'deadlock', reason: 'deadlock' },
    ])
    expect(a.ledger().queue.map((q) => q.requestId)).toEqual(['A#2'])
  })

  it('allocatorMachine - removing an agent revokes its allocations and denies its waiters', () => {
    const a = start({ a1: { task_slots: 1 } })
    a.alloc('t1#1', {})
    a.alloc('t2#1', {})
    a.drain()
    a.actor.send({ type: 'capacity', agentId: 'a1', capacity: null, now: 5 })
    expect(a.drain()).toEqual([
      { type: 'revoked', requestId: 't1#1', owner: 't1', agentId: 'a1', reason: 'agent removed' },
      {
        type: 'denied',
        requestId: 't2#1',
        owner: 't2',
        agentId: 'a1',
        code: 'agent-removed',
        reason: 'agent removed',
      },
    ])
  })

  it('allocatorMachine - shrinking an agent revokes the lowest priority until it fits; growing serves the queue', () => {
    const a = start({ a1: { memory_mb: 300, task_slots: 3 } })
    a.alloc('lo#1', { memory_mb: 100 }, { priority: 1 })
    a.alloc('hi#1', { memory_mb: 200 }, { priority: 8 })
    a.alloc('w#1', { memory_mb: 200 }, { priority: 8 })
    a.drain()
    a.actor.send({ type: 'capacity', agentId: 'a1', capacity: { memory_mb: 250, task_slots: 3 }, now: 1 })
    expect(a.types()).toEqual(['revoked:lo#1'])
    a.actor.send({ type: 'capacity', agentId: 'a1', capacity: { memory_mb: 400, task_slots: 3 }, now: 2 })
    expect(a.types()).toEqual(['granted:w#1'])
  })

  it('allocatorMachine - a repeated allocate gets its current answer again (at-least-once delivery)', () => {
    const a = start({ a1: { task_slots: 1 } })
    a.alloc('t1#1', {})
    a.alloc('t1#1', {})
    a.alloc('t2#1', {})
    a.alloc('t2#1', {})
    expect(a.types()).toEqual(['granted:t1#1', 'granted:t1#1', 'queued:t2#1', 'queued:t2#1'])
    expect(a.ledger().queue).toHaveLength(1)
  })
})

describe('allocatorMachine - persistence', () => {
  it('allocatorMachine - a restored snapshot keeps its reservation deadlines and waiters', () => {
    const a = start({ a1: { cpu_cores: 1, task_slots: 2 } })
    a.alloc('t1#1', { cpu_cores: 1 }, { ttlMs: 100 })
    a.alloc('t2#1', { cpu_cores: 1 })
    const saved = JSON.parse(JSON.stringify(a.actor.getPersistedSnapshot()))
    a.actor.stop()
    const restored = createActor(allocatorMachine, { snapshot: saved, input: {} })
    const emitted: AllocatorEmitted[] = []
    restored.on('*', (e) => emitted.push(e))
    restored.start()
    restored.send({ type: 'tick', now: 100 })
    expect(emitted.map((e) => e.type)).toEqual(['expired', 'granted'])
  })
})

describe('allocation helpers', () => {
  it('findCycle - names the cycle in order from its smallest owner, or nothing when acyclic', () => {
    expect(findCycle({ c: ['a'], a: ['b'], b: ['c'], d: ['a'] })).toEqual(['a', 'b', 'c'])
    expect(findCycle({ a: ['b', 'c'], b: ['c'], c: [] })).toBeUndefined()
  })

  it('choosePreemption - undefined when even all candidates do not suffice', () => {
    const alloc = (requestId: string, priority: number, cpu: number): Allocation => ({
      requestId,
      owner: requestId,
      agentId: 'a',
      priority,
      resources: requestVector({ cpu_cores: cpu, task_slots: 0 }),
      grantedAt: 0,
    })
    const free = requestVector({ task_slots: 0 })
    const need = requestVector({ cpu_cores: 3, task_slots: 0 })
    expect(choosePreemption([alloc('x', 1, 1), alloc('y', 2, 1)], free, need)).toBeUndefined()
    expect(choosePreemption([alloc('x', 1, 1), alloc('y', 2, 1), alloc('z', 2, 3)], free, need)).toEqual([
      alloc('z', 2, 3),
    ])
  })
})

/** Each breaks one clause of the spec; the same property must catch it. */
const mutants: Record<string, AllocatorStep> = {
  'checks only cpu (over-allocates memory)': (l, e) =>
    allocatorStep(l, e, {
      ...DEFAULT_ALLOCATOR_RULES,
      fits: (free, need) => need.cpu_cores <= free.cpu_cores,
    }),
  'preempts equal priority': (l, e) =>
    allocatorStep(l, e, {
      ...DEFAULT_ALLOCATOR_RULES,
      mayPreempt: (victim, by) => victim.priority <= by.priority,
    }),
  'forgets to emit preempted': (l, e) => {
    const r = allocatorStep(l, e)
    return { ...r, emitted: r.emitted.filter((x) => x.type !== 'preempted') }
  },
  'forgets to emit expired': (l, e) => {
    const r = allocatorStep(l, e)
    return { ...r, emitted: r.emitted.filter((x) => x.type !== 'expired') }
  },
  'never retries the queue after a release': (l, e) => {
    if (e.type !== 'release') return allocatorStep(l, e)
    // Release by hand, leaving the waiters where they are.
    const a = l.allocations[e.requestId]
    if (!a) return allocatorStep(l, e)
    const { [e.requestId]: _, ...allocations } = l.allocations
    const { requestId, owner, agentId } = a
    return { ledger: { ...l, allocations }, emitted: [{ type: 'released', requestId, owner, agentId }] }
  },
  'leaves deadlocks in place': (l, e) => {
    const r = allocatorStep(l, e)
    const victims = new Set(
      r.emitted.flatMap((x) => (x.type === 'denied' && x.code === 'deadlock' ? [x.requestId] : [])),
    )
    if (victims.size === 0) return r
    const restored = l.queue.filter((q) => victims.has(q.requestId))
    if (e.type === 'allocate' && victims.has(e.requestId)) {
      const { requestId, owner, agentId, priority } = e
      restored.push({
        requestId,
        owner,
        agentId,
        priority,
        resources: requestVector(e.resources),
        queuedAt: e.now,
        seq: r.ledger.seq,
      })
    }
    const emitted = r.emitted.filter(
      (x) => x.type !== 'deadlock' && !(x.type === 'denied' && x.code === 'deadlock'),
    )
    return { ledger: { ...r.ledger, queue: [...r.ledger.queue, ...restored] }, emitted }
  },
}

describe('allocatorMachine - model-based property', () => {
  it('allocatorMachine - random capacity/allocate/confirm/release/tick sequences keep to the spec', () => {
    fc.assert(allocatorProperty(allocatorMachine), { numRuns: 150 })
  })

  for (const [name, step] of Object.entries(mutants)) {
    it(`allocatorMachine - the spec property catches the mutant: ${name}`, () => {
      expect(
        fc.check(allocatorProperty(createAllocatorMachine(step)), { numRuns: 150, endOnFailure: true })
          .failed,
      ).toBe(true)
    })
  }
})
