import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ancestors,
  DagCycleError,
  type DagNode,
  DagUnknownDependencyError,
  dependencyVerdict,
  descendants,
  findCycle,
  readyTasks,
  topoOrder,
} from '../../src/machines/dag.ts'

const node = (task_id: string, ...depends_on: string[]): DagNode => ({ task_id, depends_on })

// build ← lint, build ← compile; test ← build; deploy ← test, lint
const diamond = [
  node('deploy', 'test', 'lint'),
  node('test', 'build'),
  node('build', 'lint', 'compile'),
  node('lint'),
  node('compile'),
]

describe('dag', () => {
  it('dag - topoOrder puts dependencies first and keeps definition order among free tasks', () => {
    expect(topoOrder(diamond)).toEqual(['lint', 'compile', 'build', 'test', 'deploy'])
    expect(topoOrder([node('b'), node('a')])).toEqual(['b', 'a'])
    expect(topoOrder([])).toEqual([])
  })

  it('dag - topoOrder rejects cycles and unknown dependencies with named errors', () => {
    expect(() => topoOrder([node('a', 'b'), node('b', 'a')])).toThrow(DagCycleError)
    expect(() => topoOrder([node('a', 'zzz')])).toThrow(DagUnknownDependencyError)
    const err = (() => {
      try {
        topoOrder([node('a', 'b'), node('b', 'c'), node('c', 'a')])
      } catch (e) {
        return e as DagCycleError
      }
    })()
    expect(err?.cycle).toEqual(['a', 'b', 'c', 'a'])
    expect(err?.retryable).toBe(false)
  })

  it('dag - findCycle returns the loop with the first id repeated, or undefined', () => {
    expect(findCycle(diamond)).toBeUndefined()
    expect(findCycle([node('a', 'a')])).toEqual(['a', 'a'])
    expect(findCycle([node('x'), node('a', 'x', 'b'), node('b', 'c'), node('c', 'a')])).toEqual([
      'a',
      'b',
      'c',
      'a',
    ])
  })

  it('dag - ancestors and descendants follow edges transitively, in definition order', () => {
    expect(ancestors(diamond, 'test')).toEqual(['build', 'lint', 'compile'])
    expect(ancestors(diamond, 'lint')).toEqual([])
    expect(descendants(diamond, 'lint')).toEqual(['deploy', 'test', 'build'])
    expect(descendants(diamond, 'deploy')).toEqual([])
  })

  it('dag - dependencyVerdict runs on all-success, skips on any other ending, else waits', () => {
    const t = node('c', 'a', 'b')
    expect(dependencyVerdict(t, { a: 'success', b: 'success' })).toBe('run')
    expect(dependencyVerdict(t, { a: 'success', b: 'running' })).toBe('wait')
    expect(dependencyVerdict(t, { a: 'success' })).toBe('wait')
    for (const s of ['failed', 'timeout', 'cancelled', 'skipped'] as const) {
      expect(dependencyVerdict(t, { a: 'running', b: s })).toBe('skip')
    }
    expect(dependencyVerdict(node('root'), {})).toBe('run')
  })

  it('dag - readyTasks lists pending tasks whose dependencies all succeeded', () => {
    expect(readyTasks({ tasks: diamond }, {})).toEqual(['lint', 'compile'])
    expect(readyTasks({ tasks: diamond }, { lint: 'success', compile: 'running' })).toEqual([])
    expect(readyTasks({ tasks: diamond }, { lint: 'success', compile: 'success' })).toEqual(['build'])
    // Not pending any more: not ready again.
    expect(readyTasks({ tasks: diamond }, { lint: 'running', compile: 'success' })).toEqual([])
  })
})

/** A random DAG: edges only from earlier to later in a hidden order, then shuffled definition order. */
const arbDag = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.record({
      edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 3 }),
      perm: fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
    }),
  )
  .map(({ edges, perm }) => {
    const deps = new Map<number, Set<number>>(perm.map((i) => [i, new Set()]))
    for (const [x, y] of edges) if (x !== y) deps.get(Math.max(x, y))!.add(Math.min(x, y))
    return perm.map((i) => node(`t${i}`, ...[...deps.get(i)!].map((d) => `t${d}`)))
  })

const respectsEdges = (order: (tasks: DagNode[]) => string[]) =>
  fc.property(arbDag, (tasks) => {
    const pos = new Map(order(tasks).map((id, i) => [id, i]))
    expect(pos.size).toBe(tasks.length)
    for (const t of tasks) for (const d of t.depends_on) expect(pos.get(d)!).toBeLessThan(pos.get(t.task_id)!)
  })

describe('dag properties', () => {
  it('dag - topoOrder respects every edge of a random DAG', () => {
    fc.assert(respectsEdges(topoOrder), { numRuns: 300 })
  })

  it('dag - mutant: ordering by direct dependency count breaks the edge property', () => {
    const byDepCount = (tasks: DagNode[]) =>
      [...tasks].sort((a, b) => a.depends_on.length - b.depends_on.length).map((t) => t.task_id)
    expect(fc.check(respectsEdges(byDepCount), { numRuns: 300, endOnFailure: true }).failed).toBe(true)
  })

  it('dag - findCycle finds none in a DAG and a real loop once a back edge is added', () => {
    fc.assert(
      fc.property(arbDag, fc.nat(), (tasks, pick) => {
        expect(findCycle(tasks)).toBeUndefined()
        const withDeps = tasks.filter((t) => t.depends_on.length > 0)
        if (withDeps.length === 0) return
        const t = withDeps[pick % withDeps.length]
        const dep = t.depends_on[0]
        // dep → t is an edge; t as a dependency of dep closes a loop.
        const looped = tasks.map((x) => (x.task_id === dep ? node(x.task_id, ...x.depends_on, t.task_id) : x))
        const cycle = findCycle(looped)!
        expect(cycle[0]).toBe(cycle[cycle.length - 1])
        const byId = new Map(looped.map((x) => [x.task_id, x]))
        for (let i = 0; i + 1 < cycle.length; i++)
          expect(byId.get(cycle[i])!.depends_on).toContain(cycle[i + 1])
      }),
      { numRuns: 300 },
    )
  })

  it('dag - b is an ancestor of a exactly when a is a descendant of b', () => {
    fc.assert(
      fc.property(arbDag, (tasks) => {
        for (const a of tasks) {
          const anc = new Set(ancestors(tasks, a.task_id))
          for (const b of tasks)
            expect(descendants(tasks, b.task_id).includes(a.task_id)).toBe(anc.has(b.task_id))
        }
      }),
      { numRuns: 100 },
    )
  })
})
