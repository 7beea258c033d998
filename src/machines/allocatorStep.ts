/**
 * The allocator's transition function, pure: one event applied to a ledger gives the next ledger and
 * the events to emit, in order. `allocatorMachine` is a thin XState shell around it.
 *
 * Every event carries `now`, so reservations that are due expire at the start of any event (a late
 * `tick` changes nothing), and freed resources go to the wait queue before a new request is placed.
 */
import {
  type Allocation,
  type AllocationLedger,
  type AllocationRequest,
  type AllocatorRules,
  allocationsOn,
  available,
  byQueueOrder,
  capacityVector,
  DEFAULT_ALLOCATOR_RULES,
  describeShortfall,
  invalidDimension,
  type QueuedRequest,
  type ResourceAmounts,
  type ResourceVector,
  requestVector,
  subVectors,
  usage,
  zeroVector,
} from './allocation.ts'
import { choosePreemption } from './choosePreemption.ts'
import { findCycle } from './findCycle.ts'
import { waitEdges } from './waitForGraph.ts'

export type AllocatorEvent =
  | { type: 'capacity'; agentId: string; capacity: ResourceAmounts | null; now: number }
  | ({ type: 'allocate'; now: number } & AllocationRequest)
  | { type: 'confirm'; requestId: string; now: number }
  | { type: 'release'; requestId: string; now: number }
  | { type: 'tick'; now: number }

/** Why a request was denied: `exceeds-capacity` and `unknown-agent` will not change by waiting. */
export type DenyCode =
  | 'unknown-agent'
  | 'invalid'
  | 'exceeds-capacity'
  | 'unavailable'
  | 'deadlock'
  | 'agent-removed'

interface Holder {
  requestId: string
  owner: string
  agentId: string
}

export type AllocatorEmitted =
  | (Holder & { type: 'granted'; expiresAt?: number })
  | (Holder & { type: 'queued'; reason: string })
  | (Holder & { type: 'denied'; code: DenyCode; reason: string })
  | (Holder & { type: 'preempted'; by: string })
  | (Holder & { type: 'revoked'; reason: string })
  | (Holder & { type: 'expired' })
  | (Holder & { type: 'released' })
  | (Holder & { type: 'confirmed' })
  | { type: 'ignored'; requestId: string; op: 'confirm' | 'release'; reason: string }
  | { type: 'deadlock'; cycle: string[] }

export type AllocatorStep = (
  ledger: AllocationLedger,
  event: AllocatorEvent,
) => { ledger: AllocationLedger; emitted: AllocatorEmitted[] }

const holder = (r: Holder): Holder => ({ requestId: r.requestId, owner: r.owner, agentId: r.agentId })

/** Applies one event. The input ledger is not modified. */
export function allocatorStep(
  ledger: AllocationLedger,
  event: AllocatorEvent,
  rules: AllocatorRules = DEFAULT_ALLOCATOR_RULES,
): { ledger: AllocationLedger; emitted: AllocatorEmitted[] } {
  const l: AllocationLedger = {
    capacity: { ...ledger.capacity },
    allocations: { ...ledger.allocations },
    queue: [...ledger.queue],
    seq: ledger.seq,
  }
  const out: AllocatorEmitted[] = []
  const { now } = event
  if (expire(l, now, out)) retryQueue(l, now, rules, out)
  let freed = false
  switch (event.type) {
    case 'capacity':
      setCapacity(l, event.agentId, event.capacity, rules, out)
      freed = true
      break
    case 'allocate':
      freed = allocate(l, event, now, rules, out)
      break
    case 'confirm':
      confirm(l, event.requestId, out)
      break
    case 'release':
      freed = release(l, event.requestId, out)
      break
    case 'tick':
      break
  }
  if (freed) retryQueue(l, now, rules, out)
  resolveDeadlocks(l, out)
  return { ledger: l, emitted: out }
}

function expire(l: AllocationLedger, now: number, out: AllocatorEmitted[]): boolean {
  const due = Object.values(l.allocations)
    .filter((a) => a.expiresAt !== undefined && now >= a.expiresAt)
    .sort((a, b) => a.expiresAt! - b.expiresAt! || a.grantedAt - b.grantedAt)
  for (const a of due) {
    delete l.allocations[a.requestId]
    out.push({ type: 'expired', ...holder(a) })
  }
  return due.length > 0
}

function grant(l: AllocationLedger, r: QueuedRequest, now: number, out: AllocatorEmitted[]): void {
  const a: Allocation = { ...holder(r), priority: r.priority, resources: r.resources, grantedAt: now }
  if (r.ttlMs !== undefined) a.expiresAt = now + r.ttlMs
  l.allocations[r.requestId] = a
  out.push(grantedEvent(a))
}

function grantedEvent(a: Allocation): AllocatorEmitted {
  return a.expiresAt === undefined
    ? { type: 'granted', ...holder(a) }
    : { type: 'granted', ...holder(a), expiresAt: a.expiresAt }
}

/** Grants `r` if it fits now, or once strictly lower-priority allocations are preempted. */
function place(
  l: AllocationLedger,
  r: QueuedRequest,
  now: number,
  rules: AllocatorRules,
  out: AllocatorEmitted[],
): 'granted' | 'preempted' | undefined {
  const free = available(l, r.agentId)
  if (!free) return undefined
  if (rules.fits(free, r.resources)) {
    grant(l, r, now, out)
    return 'granted'
  }
  const candidates = allocationsOn(l, r.agentId).filter((a) => rules.mayPreempt(a, r))
  const victims = choosePreemption(candidates, free, r.resources, rules.fits)
  if (!victims) return undefined
  for (const v of victims) {
    delete l.allocations[v.requestId]
    out.push({ type: 'preempted', ...holder(v), by: r.requestId })
  }
  grant(l, r, now, out)
  return 'preempted'
}

/**
 * One pass in priority order (FIFO within a priority). One pass suffices: a grant never makes an
 * earlier, higher-priority waiter placeable, since it could already preempt anything of lower priority.
 */
function retryQueue(l: AllocationLedger, now: number, rules: AllocatorRules, out: AllocatorEmitted[]): void {
  for (const q of [...l.queue].sort(byQueueOrder)) {
    if (place(l, q, now, rules, out)) l.queue = l.queue.filter((x) => x !== q)
  }
}

function deny(out: AllocatorEmitted[], r: Holder, code: DenyCode, reason: string): void {
  out.push({ type: 'denied', ...holder(r), code, reason })
}

/** Returns whether resources were freed by preemption (leftovers may serve the queue). */
function allocate(
  l: AllocationLedger,
  e: AllocationRequest,
  now: number,
  rules: AllocatorRules,
  out: AllocatorEmitted[],
): boolean {
  // Delivery is at-least-once: a repeated request gets its current answer again.
  const active = l.allocations[e.requestId]
  const waiting = l.queue.find((q) => q.requestId === e.requestId)
  if (active) out.push(grantedEvent(active))
  else if (waiting) out.push({ type: 'queued', ...holder(waiting), reason: 'already queued' })
  if (active || waiting) return false

  const need = requestVector(e.resources)
  const refusal = refuse(l, e, need, rules)
  if (refusal) {
    deny(out, e, refusal.code, refusal.reason)
    return false
  }
  const r: QueuedRequest = {
    ...holder(e),
    priority: e.priority,
    resources: need,
    queuedAt: now,
    seq: l.seq++,
  }
  if (e.ttlMs !== undefined) r.ttlMs = e.ttlMs
  const placed = place(l, r, now, rules, out)
  if (placed) return placed === 'preempted'
  const free = available(l, e.agentId) ?? zeroVector()
  if (e.wait === false) {
    deny(out, e, 'unavailable', describeShortfall(free, need))
    return false
  }
  l.queue.push(r)
  out.push({ type: 'queued', ...holder(r), reason: describeShortfall(free, need) })
  return false
}

/** Why a request can never be granted as it stands, if it cannot. */
function refuse(
  l: AllocationLedger,
  e: AllocationRequest,
  need: ResourceVector,
  rules: AllocatorRules,
): { code: DenyCode; reason: string } | undefined {
  const bad = invalidDimension(need)
  if (bad !== undefined) return { code: 'invalid', reason: `${bad} must be a number >= 0` }
  if (!Number.isFinite(e.priority)) return { code: 'invalid', reason: 'priority must be a number' }
  const cap = l.capacity[e.agentId]
  if (!cap) return { code: 'unknown-agent', reason: `unknown agent ${e.agentId}` }
  if (!rules.fits(cap, need))
    return { code: 'exceeds-capacity', reason: describeShortfall(cap, need, 'capacity') }
  return undefined
}

function confirm(l: AllocationLedger, requestId: string, out: AllocatorEmitted[]): void {
  const a = l.allocations[requestId]
  if (a) {
    const { expiresAt: _, ...plain } = a
    l.allocations[requestId] = plain
    out.push({ type: 'confirmed', ...holder(a) })
    return
  }
  const i = l.queue.findIndex((q) => q.requestId === requestId)
  if (i >= 0) {
    // Confirmed before it was granted: it will be granted as a plain allocation.
    const { ttlMs: _, ...plain } = l.queue[i]
    l.queue[i] = plain
    out.push({ type: 'confirmed', ...holder(plain) })
    return
  }
  out.push({
    type: 'ignored',
    requestId,
    op: 'confirm',
    reason: 'not allocated (unknown, released or expired)',
  })
}

function release(l: AllocationLedger, requestId: string, out: AllocatorEmitted[]): boolean {
  const a = l.allocations[requestId]
  if (a) {
    delete l.allocations[requestId]
    out.push({ type: 'released', ...holder(a) })
    return true
  }
  const q = l.queue.find((x) => x.requestId === requestId)
  if (q) {
    l.queue = l.queue.filter((x) => x !== q)
    out.push({ type: 'released', ...holder(q) })
    return false
  }
  out.push({
    type: 'ignored',
    requestId,
    op: 'release',
    reason: 'not allocated (unknown, released or expired)',
  })
  return false
}

function setCapacity(
  l: AllocationLedger,
  agentId: string,
  amounts: ResourceAmounts | null,
  rules: AllocatorRules,
  out: AllocatorEmitted[],
): void {
  if (amounts === null) {
    for (const a of allocationsOn(l, agentId).sort((x, y) => x.grantedAt - y.grantedAt)) {
      delete l.allocations[a.requestId]
      out.push({ type: 'revoked', ...holder(a), reason: 'agent removed' })
    }
    delete l.capacity[agentId]
    for (const q of l.queue.filter((x) => x.agentId === agentId))
      deny(out, q, 'agent-removed', 'agent removed')
    l.queue = l.queue.filter((x) => x.agentId !== agentId)
    return
  }
  const cap = capacityVector(amounts)
  // The bus schema rejects such amounts; one that slips through (NaN, negative) has nothing to give.
  for (const k of Object.keys(cap) as (keyof typeof cap)[]) if (!(cap[k] >= 0)) cap[k] = 0
  l.capacity[agentId] = cap
  // A shrunk agent sheds the fewest, lowest-priority allocations that bring it back within capacity.
  const over = subVectors(cap, usage(l, agentId))
  if (!rules.fits(over, zeroVector())) {
    const shed = choosePreemption(allocationsOn(l, agentId), over, zeroVector(), rules.fits) ?? []
    for (const a of shed) {
      delete l.allocations[a.requestId]
      out.push({ type: 'revoked', ...holder(a), reason: 'capacity reduced' })
    }
  }
  for (const q of l.queue.filter((x) => x.agentId === agentId && !rules.fits(cap, x.resources))) {
    deny(out, q, 'exceeds-capacity', describeShortfall(cap, q.resources, 'capacity'))
    l.queue = l.queue.filter((x) => x !== q)
  }
}

/**
 * Breaks every cycle of the wait-for graph by denying the queued request(s) with which the
 * lowest-priority owner of the cycle waits on the next one (the youngest on a tie).
 */
function resolveDeadlocks(l: AllocationLedger, out: AllocatorEmitted[]): void {
  while (l.queue.length > 0) {
    const edges = waitEdges(l)
    const graph: Record<string, string[]> = {}
    for (const e of edges) graph[e.owner] = [...(graph[e.owner] ?? []), ...e.waitsFor]
    const cycle = findCycle(graph)
    if (!cycle) return
    out.push({ type: 'deadlock', cycle })
    const links = cycle.map((owner, i) => {
      const next = cycle[(i + 1) % cycle.length]
      const own = edges.filter((e) => e.owner === owner && e.waitsFor.includes(next))
      return {
        own,
        priority: Math.max(...own.map((e) => e.priority)),
        seq: Math.max(...own.map((e) => e.seq)),
      }
    })
    const victim = links.reduce((v, x) =>
      x.priority < v.priority || (x.priority === v.priority && x.seq > v.seq) ? x : v,
    )
    for (const e of victim.own) {
      const q = l.queue.find((x) => x.requestId === e.requestId)!
      deny(out, q, 'deadlock', 'deadlock')
      l.queue = l.queue.filter((x) => x !== q)
    }
  }
}
