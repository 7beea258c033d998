/**
 * Finds a cycle in a directed graph given as adjacency lists, deterministically: nodes and edges are
 * visited in sorted order, and the cycle is rotated to start at its smallest node.
 *
 * @example
 * findCycle({ a: ['b'], b: ['a'], c: ['a'] }) // ['a', 'b']: a waits for b, b waits for a
 */
export function findCycle(graph: Readonly<Record<string, readonly string[]>>): string[] | undefined {
  const done = new Set<string>()
  const onPath = new Map<string, number>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    onPath.set(node, path.length)
    path.push(node)
    for (const next of [...(graph[node] ?? [])].sort()) {
      const at = onPath.get(next)
      if (at !== undefined) return rotate(path.slice(at))
      if (done.has(next)) continue
      const found = visit(next)
      if (found) return found
    }
    path.pop()
    onPath.delete(node)
    done.add(node)
    return undefined
  }
  for (const node of Object.keys(graph).sort()) {
    if (done.has(node)) continue
    const found = visit(node)
    if (found) return found
  }
  return undefined
}

function rotate(cycle: string[]): string[] {
  let min = 0
  for (let i = 1; i < cycle.length; i++) if (cycle[i] < cycle[min]) min = i
  return [...cycle.slice(min), ...cycle.slice(0, min)]
}
