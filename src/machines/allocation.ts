/**
 * The allocation ledger, pure: per-agent capacity, active allocations (plain or reservations with an
 * absolute expiry) and the wait queue, plus the vector arithmetic the allocator, coordinator and
 * runtime share. Plain objects only, so a ledger is a persistable snapshot as it stands.
 */

export const RESOURCE_KEYS = ['cpu_cores', 'memory_mb', 'disk_mb', 'network_mbps', 'task_slots'] as const
export type ResourceKey = (typeof RESOURCE_KEYS)[number]
/** An amount for every dimension. `Infinity` is a valid capacity for a dimension an agent does not meter. */
export type ResourceVector = Record<ResourceKey, number>
export type ResourceAmounts = Partial<ResourceVector>

/** What a holder asks for. `task_slots` defaults to 1, other dimensions to 0. */
export interface AllocationRequest {
  requestId: string
  /** The holder: a task id, or any other id that may hold allocations and wait for more. */
  owner: string
  agentId: string
  /** 1-10, higher wins. */
  priority: number
  resources: ResourceAmounts
  /** Queue when it does not fit now (default true); otherwise it is denied. */
  wait?: boolean
  /** A reservation: granted with `expiresAt = grant time + ttlMs`, freed then unless confirmed. */
  ttlMs?: number
}

export interface Allocation {
  requestId: string
  owner: string
  agentId: string
  priority: number
  resources: ResourceVector
  grantedAt: number
  /** Set while the allocation is an unconfirmed reservation. */
  expiresAt?: number
}

export interface QueuedRequest {
  requestId: string
  owner: string
  agentId: string
  priority: number
  resources: ResourceVector
  ttlMs?: number
  queuedAt: number
  /** Arrival order, for FIFO within a priority. */
  seq: number
}

export interface AllocationLedger {
  capacity: Record<string, ResourceVector>
  allocations: Record<string, Allocation>
  queue: QueuedRequest[]
  seq: number
}

/** The policy points of the allocator; the defaults are the only production rules (tests build mutants). */
export interface AllocatorRules {
  fits: (free: ResourceVector, need: ResourceVector) => boolean
  mayPreempt: (victim: Allocation, by: { priority: number }) => boolean
}

export const DEFAULT_ALLOCATOR_RULES: AllocatorRules = {
  fits: (free, need) => fits(free, need),
  mayPreempt: (victim, by) => victim.priority < by.priority,
}

export function emptyLedger(): AllocationLedger {
  return { capacity: {}, allocations: {}, queue: [], seq: 0 }
}

export function zeroVector(): ResourceVector {
  return { cpu_cores: 0, memory_mb: 0, disk_mb: 0, network_mbps: 0, task_slots: 0 }
}

/** A request's amounts as a full vector: `task_slots` defaults to 1, anything else to 0. */
export function requestVector(amounts: ResourceAmounts): ResourceVector {
  return { ...zeroVector(), task_slots: 1, ...defined(amounts) }
}

/** An agent's capacity as a full vector: a dimension left out has nothing to give. */
export function capacityVector(amounts: ResourceAmounts): ResourceVector {
  return { ...zeroVector(), ...defined(amounts) }
}

function defined(amounts: ResourceAmounts): ResourceAmounts {
  const out: ResourceAmounts = {}
  for (const k of RESOURCE_KEYS) if (amounts[k] !== undefined) out[k] = amounts[k]
  return out
}

/** The first dimension whose amount is negative or not a number, if any. */
export function invalidDimension(v: ResourceVector): ResourceKey | undefined {
  return RESOURCE_KEYS.find((k) => !(v[k] >= 0))
}

export function addVectors(a: ResourceVector, b: ResourceVector): ResourceVector {
  const out = zeroVector()
  for (const k of RESOURCE_KEYS) out[k] = a[k] + b[k]
  return out
}

export function subVectors(a: ResourceVector, b: ResourceVector): ResourceVector {
  const out = zeroVector()
  for (const k of RESOURCE_KEYS) out[k] = a[k] - b[k]
  return out
}

/** All-or-nothing: every dimension of `need` fits in `free`. */
export function fits(free: ResourceVector, need: ResourceVector): boolean {
  return RESOURCE_KEYS.every((k) => need[k] <= free[k])
}

/** The dimensions where `need` exceeds `free`. */
export function shortfall(free: ResourceVector, need: ResourceVector): ResourceKey[] {
  return RESOURCE_KEYS.filter((k) => need[k] > free[k])
}

/** "memory_mb needs 512, 256 free" for each short dimension. */
export function describeShortfall(free: ResourceVector, need: ResourceVector, what = 'free'): string {
  return shortfall(free, need)
    .map((k) => `${k} needs ${need[k]}, ${free[k]} ${what}`)
    .join('; ')
}

export function allocationsOn(ledger: AllocationLedger, agentId: string): Allocation[] {
  return Object.values(ledger.allocations).filter((a) => a.agentId === agentId)
}

/** The sum of the active allocations (reservations included) on an agent. */
export function usage(ledger: AllocationLedger, agentId: string): ResourceVector {
  return allocationsOn(ledger, agentId).reduce((sum, a) => addVectors(sum, a.resources), zeroVector())
}

/** Capacity minus usage; undefined for an unknown agent. */
export function available(ledger: AllocationLedger, agentId: string): ResourceVector | undefined {
  const cap = ledger.capacity[agentId]
  return cap && subVectors(cap, usage(ledger, agentId))
}

/** The earliest reservation expiry, for a host arming one timer that sends `tick`. */
export function allocatorDeadline(ledger: AllocationLedger): number | undefined {
  let min: number | undefined
  for (const a of Object.values(ledger.allocations)) {
    if (a.expiresAt !== undefined && (min === undefined || a.expiresAt < min)) min = a.expiresAt
  }
  return min
}

/** Queue order: priority high to low, then arrival. */
export function byQueueOrder(a: QueuedRequest, b: QueuedRequest): number {
  return b.priority - a.priority || a.seq - b.seq
}
