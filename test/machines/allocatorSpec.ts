/**
 * The allocator's spec as a property over random event sequences. An observer rebuilds, from the
 * emitted events alone, who holds what; after every event it checks the spec against that view, the
 * capacities it sent and the machine's ledger. Used by allocator.test.ts on the real machine and on
 * mutants.
 */
import fc from 'fast-check'
import { createActor } from 'xstate'
import type {
  AllocatorEmitted,
  AllocatorEvent,
  AllocatorMachine,
} from '../../src/machines/allocatorMachine.ts'

const DIMS = ['cpu_cores', 'memory_mb', 'disk_mb', 'network_mbps', 'task_slots'] as const
type Vec = Record<(typeof DIMS)[number], number>
type Amounts = Partial<Vec>

export type Op =
  | { kind: 'capacity'; dt: number; agent: string; cap: Amounts | null }
  | {
      kind: 'allocate'
      dt: number
      agent: string
      owner: string
      priority: number
      res: Amounts
      wait: boolean
      ttlMs?: number
    }
  | { kind: 'confirm' | 'release'; dt: number; pick: number }
  | { kind: 'tick'; dt: number }

interface Req {
  id: string
  owner: string
  agent: string
  priority: number
  need: Vec
  ttlMs?: number
}
type Status = 'queued' | 'active' | 'denied' | 'released' | 'expired' | 'preempted' | 'revoked'

/** Written here from the spec, not imported, so the check does not share the code it checks. */
const vec = (a: Amounts, slots: number): Vec => ({
  cpu_cores: a.cpu_cores ?? 0,
  memory_mb: a.memory_mb ?? 0,
  disk_mb: a.disk_mb ?? 0,
  network_mbps: a.network_mbps ?? 0,
  task_slots: a.task_slots ?? slots,
})
const fitsIn = (free: Vec, need: Vec) => DIMS.every((k) => need[k] <= free[k])

class SpecViolation extends Error {
  override name = 'SpecViolation'
}
function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new SpecViolation(msg)
}

/** Runs `ops` on a fresh actor of `machine`, checking the spec after every event; throws on a violation. */
export function runAllocatorScenario(machine: AllocatorMachine, ops: readonly Op[]): void {
  const actor = createActor(machine, { input: {} })
  const emitted: AllocatorEmitted[] = []
  actor.on('*', (e) => emitted.push(e))
  actor.start()
  const reqs = new Map<string, Req>()
  const status = new Map<string, Status>()
  const expiry = new Map<string, number | undefined>()
  const confirmedEarly = new Set<string>()
  const caps = new Map<string, Vec>()
  let now = 0

  const heldOn = (agent: string) =>
    [...expiry.keys()].map((id) => reqs.get(id)!).filter((r) => r.agent === agent)
  const freeOn = (agent: string, plus: (r: Req) => boolean = () => false) => {
    const free = { ...caps.get(agent)! }
    for (const r of heldOn(agent)) for (const k of DIMS) free[k] -= plus(r) ? 0 : r.need[k]
    return free
  }

  const step = (op: Op, event: AllocatorEvent, target?: string) => {
    actor.send(event)
    const evs = emitted.splice(0)
    const cycles: string[][] = []
    // Preempted events come right before the grant that caused them.
    let preemptor: string | undefined
    for (const ev of evs) {
      if (ev.type !== 'preempted' && preemptor !== undefined) {
        check(
          ev.type === 'granted' && ev.requestId === preemptor,
          `${preemptor} preempted others but was not granted`,
        )
        preemptor = undefined
      }
      if (ev.type === 'deadlock') {
        cycles.push(ev.cycle)
        continue
      }
      const r = reqs.get(ev.requestId)
      check(r, `${ev.type} for an unknown request ${ev.requestId}`)
      const st = status.get(r.id)
      const isTarget = ev.requestId === target
      switch (ev.type) {
        case 'granted': {
          check((isTarget && st === undefined) || st === 'queued', `granted ${r.id} from ${st}`)
          check(
            ev.agentId === r.agent && ev.owner === r.owner,
            `granted ${r.id} with the wrong agent or owner`,
          )
          const expected = r.ttlMs !== undefined && !confirmedEarly.has(r.id) ? now + r.ttlMs : undefined
          check(ev.expiresAt === expected, `granted ${r.id} expiresAt ${ev.expiresAt}, expected ${expected}`)
          status.set(r.id, 'active')
          expiry.set(r.id, expected)
          break
        }
        case 'queued':
          check(isTarget && st === undefined, `queued ${r.id} from ${st}`)
          status.set(r.id, 'queued')
          break
        case 'denied':
          check((isTarget && st === undefined) || st === 'queued', `denied ${r.id} from ${st}`)
          if (ev.code === 'deadlock')
            check(cycles.at(-1)?.includes(r.owner), `deadlock denial of ${r.id} outside a cycle`)
          status.set(r.id, 'denied')
          break
        case 'preempted': {
          const by = reqs.get(ev.by)
          check(st === 'active' && by, `preempted ${r.id} from ${st} by ${ev.by}`)
          check(by.agent === r.agent, `${ev.by} preempted ${r.id} on another agent`)
          check(r.priority < by.priority, `${ev.by} (p${by.priority}) preempted ${r.id} (p${r.priority})`)
          check(
            preemptor === undefined || preemptor === by.id,
            `preempted by ${by.id} while granting ${preemptor}`,
          )
          preemptor = by.id
          status.set(r.id, 'preempted')
          expiry.delete(r.id)
          break
        }
        case 'revoked':
          check(
            st === 'active' && op.kind === 'capacity' && op.agent === r.agent,
            `revoked ${r.id} from ${st}`,
          )
          status.set(r.id, 'revoked')
          expiry.delete(r.id)
          break
        case 'expired': {
          const at = expiry.get(r.id)
          check(st === 'active' && at !== undefined && at <= now, `expired ${r.id} (due ${at}) at ${now}`)
          status.set(r.id, 'expired')
          expiry.delete(r.id)
          break
        }
        case 'released':
          check(isTarget && op.kind === 'release' && (st === 'active' || st === 'queued'), `released ${r.id}`)
          status.set(r.id, 'released')
          expiry.delete(r.id)
          break
        case 'confirmed':
          check(isTarget && op.kind === 'confirm', `confirmed ${r.id} unasked`)
          check(st === 'active' || st === 'queued', `confirmed ${r.id} from ${st}`)
          if (st === 'active') expiry.set(r.id, undefined)
          else confirmedEarly.add(r.id)
          break
        case 'ignored':
          check(st !== 'active' && st !== 'queued', `${ev.op} of ${r.id} ignored while ${st}`)
          break
      }
    }
    check(preemptor === undefined, `${preemptor} preempted others but was not granted`)
    if (op.kind === 'allocate') check(status.has(target!), `allocate ${target} got no answer`)
    if (op.kind === 'capacity') {
      if (op.cap) caps.set(op.agent, vec(op.cap, 0))
      else caps.delete(op.agent)
    }
    checkState()
  }

  const checkState = () => {
    const held = [...expiry.keys()]
    for (const id of held) check(caps.has(reqs.get(id)!.agent), `${id} held on a removed agent`)
    for (const agent of caps.keys()) {
      const free = freeOn(agent)
      const over = DIMS.filter((k) => free[k] < 0)
      check(over.length === 0, `agent ${agent} over-allocated on ${over.join(', ')}`)
    }
    for (const id of held) {
      const at = expiry.get(id)
      check(at === undefined || at > now, `reservation ${id} due at ${at} still held at ${now}`)
    }
    const ledger = actor.getSnapshot().context
    const queued = [...status].filter(([, s]) => s === 'queued').map(([id]) => id)
    check(
      same(Object.keys(ledger.allocations), held),
      `ledger holds [${Object.keys(ledger.allocations)}], events say [${held}]`,
    )
    check(
      same(
        ledger.queue.map((q) => q.requestId),
        queued,
      ),
      `ledger queue differs from the events`,
    )
    for (const id of queued) {
      const q = reqs.get(id)!
      check(caps.has(q.agent), `${id} waits on a removed agent`)
      check(!fitsIn(freeOn(q.agent), q.need), `${id} waits although it fits`)
      const displaceable = freeOn(q.agent, (r) => r.priority < q.priority)
      check(!fitsIn(displaceable, q.need), `${id} waits although it could preempt lower priorities`)
    }
    check(!hasWaitCycle(queued), `a deadlock is left unresolved`)
  }

  const hasWaitCycle = (queued: string[]) => {
    const edges = new Map<string, Set<string>>()
    for (const id of queued) {
      const q = reqs.get(id)!
      const free = freeOn(q.agent)
      const short = DIMS.filter((k) => q.need[k] > free[k])
      for (const h of heldOn(q.agent)) {
        if (h.owner === q.owner || !short.some((k) => h.need[k] > 0)) continue
        edges.set(q.owner, (edges.get(q.owner) ?? new Set()).add(h.owner))
      }
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(edges.get(from) ?? [])].some(
        (n) => n === to || (!seen.has(n) && seen.add(n) && reaches(n, to, seen)),
      )
    return [...edges.keys()].some((o) => reaches(o, o))
  }

  let n = 0
  const ids = () => [...reqs.keys()]
  for (const op of ops) {
    now += op.dt
    if (op.kind === 'allocate') {
      const id = `r${n++}`
      const r: Req = { id, owner: op.owner, agent: op.agent, priority: op.priority, need: vec(op.res, 1) }
      if (op.ttlMs !== undefined) r.ttlMs = op.ttlMs
      reqs.set(id, r)
      const { dt: _, kind: __, agent, owner, priority, res, wait, ttlMs } = op
      step(
        op,
        {
          type: 'allocate',
          requestId: id,
          agentId: agent,
          owner,
          priority,
          resources: res,
          wait,
          ttlMs,
          now,
        },
        id,
      )
    } else if (op.kind === 'confirm' || op.kind === 'release') {
      const all = ids()
      const id = all.length ? all[op.pick % all.length] : 'none'
      if (!reqs.has(id)) continue
      step(op, { type: op.kind, requestId: id, now }, id)
    } else if (op.kind === 'capacity')
      step(op, { type: 'capacity', agentId: op.agent, capacity: op.cap, now })
    else step(op, { type: 'tick', now })
  }
  // Eventually: once holders let go and nothing of higher priority competes, every waiter is served.
  for (let round = 0; round < 50; round++) {
    const held = [...expiry.keys()]
    if (held.length === 0) break
    for (const id of held) {
      now += 1
      step({ kind: 'release', dt: 1, pick: 0 }, { type: 'release', requestId: id, now }, id)
    }
  }
  const left = [...status].filter(([, s]) => s === 'queued' || s === 'active').map(([id]) => id)
  check(left.length === 0, `still waiting or held after everything was released: ${left}`)
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join()
}

const agentArb = fc.constantFrom('x', 'y')
// Capacities mostly a little above single requests, so requests contend, queue and preempt.
const capArb = fc.record({
  cpu_cores: fc.integer({ min: 1, max: 5 }),
  memory_mb: fc.integer({ min: 0, max: 5 }),
  task_slots: fc.integer({ min: 1, max: 3 }),
})
const dtArb = fc.integer({ min: 0, max: 8 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        kind: fc.constant('allocate' as const),
        dt: dtArb,
        agent: agentArb,
        owner: fc.constantFrom('A', 'B', 'C', 'D'),
        priority: fc.integer({ min: 1, max: 4 }),
        res: fc.record(
          {
            cpu_cores: fc.integer({ min: 0, max: 3 }),
            memory_mb: fc.integer({ min: 0, max: 3 }),
            task_slots: fc.integer({ min: 0, max: 1 }),
          },
          { requiredKeys: [] },
        ),
        wait: fc.oneof(
          { weight: 3, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
        ttlMs: fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) },
        ),
      },
      { requiredKeys: ['kind', 'dt', 'agent', 'owner', 'priority', 'res', 'wait'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('capacity' as const),
      dt: dtArb,
      agent: agentArb,
      cap: fc.option(capArb, { nil: null, freq: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('confirm' as const), dt: dtArb, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), dt: dtArb, pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 40 }) }),
  },
)

/** Random sequences starting with both agents registered; the clock jumps between events. */
export const scenarioArb: fc.Arbitrary<Op[]> = fc
  .tuple(capArb, capArb, fc.array(opArb, { minLength: 5, maxLength: 50, size: 'max' }))
  .map(([x, y, ops]) => [
    { kind: 'capacity', dt: 0, agent: 'x', cap: x },
    { kind: 'capacity', dt: 0, agent: 'y', cap: y },
    ...ops,
  ])

/** The allocator spec as one property of `machine`. */
export function allocatorProperty(machine: AllocatorMachine) {
  return fc.property(scenarioArb, (ops) => runAllocatorScenario(machine, ops))
}
