import { type AllocationLedger, available, shortfall } from './allocation.ts'

/** One queued request and the owners it waits for. */
export interface WaitEdge {
  requestId: string
  owner: string
  priority: number
  seq: number
  waitsFor: string[]
}

/**
 * Who each queued request waits for: the other owners holding, on its agent, some of a dimension the
 * request is short of. An owner's own allocations are left out: it can release them itself.
 */
export function waitEdges(ledger: AllocationLedger): WaitEdge[] {
  return ledger.queue.map((q) => {
    const free = available(ledger, q.agentId)
    const short = free ? shortfall(free, q.resources) : []
    const holders = new Set<string>()
    for (const a of Object.values(ledger.allocations)) {
      if (a.agentId !== q.agentId || a.owner === q.owner) continue
      if (short.some((k) => a.resources[k] > 0)) holders.add(a.owner)
    }
    return {
      requestId: q.requestId,
      owner: q.owner,
      priority: q.priority,
      seq: q.seq,
      waitsFor: [...holders].sort(),
    }
  })
}

/** The wait-for graph between owners (owner → owners it waits for), for {@link findCycle}. */
export function waitForGraph(ledger: AllocationLedger): Record<string, string[]> {
  const graph: Record<string, string[]> = {}
  for (const e of waitEdges(ledger)) {
    graph[e.owner] = [...new Set([...(graph[e.owner] ?? []), ...e.waitsFor])].sort()
  }
  return graph
}
