/**
 * Pure helpers over a workflow's dependency graph. An edge runs from a dependency to its
 * dependant (`depends_on` lists a task's dependencies). Every function keeps definition order
 * where it has a choice, so results are deterministic.
 */
import type { WorkflowTaskStatus } from './workflowTypes.ts'

/** The part of a task definition the graph needs. */
export interface DagNode {
  task_id: string
  depends_on: readonly string[]
}

/** A definition whose dependencies loop. */
export class DagCycleError extends Error {
  readonly retryable = false
  readonly cycle: string[]
  constructor(cycle: string[]) {
    super(`dependency cycle: ${cycle.join(' -> ')}`)
    this.name = 'DagCycleError'
    this.cycle = cycle
  }
}

/** A task depends on a task the definition does not have. */
export class DagUnknownDependencyError extends Error {
  readonly retryable = false
  constructor(taskId: string, dependency: string) {
    super(`task ${taskId} depends on unknown task ${dependency}`)
    this.name = 'DagUnknownDependencyError'
  }
}

/**
 * The first dependency on a task the definition does not have, as `[task, dependency]`.
 */
export function findUnknownDependency(tasks: readonly DagNode[]): [string, string] | undefined {
  const ids = new Set(tasks.map((t) => t.task_id))
  for (const t of tasks) {
    for (const d of t.depends_on) if (!ids.has(d)) return [t.task_id, d]
  }
  return undefined
}

/**
 * A dependency cycle, as the ids along it with the first repeated at the end
 * (`['a', 'b', 'a']`: a depends on b, b on a), or undefined when the graph is acyclic.
 * Unknown dependencies are ignored here; see {@link findUnknownDependency}.
 */
export function findCycle(tasks: readonly DagNode[]): string[] | undefined {
  const byId = new Map(tasks.map((t) => [t.task_id, t]))
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  // Iterative DFS: a deep chain of tasks must not overflow the stack.
  for (const root of tasks) {
    if (state.has(root.task_id)) continue
    const stack: { id: string; next: number }[] = [{ id: root.task_id, next: 0 }]
    state.set(root.task_id, 'open')
    path.push(root.task_id)
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      const deps = byId.get(top.id)?.depends_on ?? []
      if (top.next >= deps.length) {
        state.set(top.id, 'done')
        stack.pop()
        path.pop()
        continue
      }
      const dep = deps[top.next++]
      if (!byId.has(dep)) continue
      const s = state.get(dep)
      if (s === 'open') return [...path.slice(path.indexOf(dep)), dep]
      if (s === undefined) {
        state.set(dep, 'open')
        path.push(dep)
        stack.push({ id: dep, next: 0 })
      }
    }
  }
  return undefined
}

/**
 * Every task id, each after all of its dependencies; among tasks free at the same time,
 * definition order wins.
 * @throws DagCycleError when the dependencies loop; DagUnknownDependencyError for a missing task.
 */
export function topoOrder(tasks: readonly DagNode[]): string[] {
  const unknown = findUnknownDependency(tasks)
  if (unknown) throw new DagUnknownDependencyError(unknown[0], unknown[1])
  const remaining = new Map(tasks.map((t) => [t.task_id, new Set(t.depends_on).size]))
  const dependants = dependantsMap(tasks)
  const order: string[] = []
  const placed = new Set<string>()
  // Definition-order scan rather than a heap: workflows are small and the order stays stable.
  while (order.length < tasks.length) {
    const next = tasks.find((t) => !placed.has(t.task_id) && remaining.get(t.task_id) === 0)
    if (!next) throw new DagCycleError(findCycle(tasks) ?? [])
    placed.add(next.task_id)
    order.push(next.task_id)
    for (const d of dependants.get(next.task_id) ?? []) remaining.set(d, (remaining.get(d) ?? 0) - 1)
  }
  return order
}

/** Every task `id` depends on, directly or not, in definition order. */
export function ancestors(tasks: readonly DagNode[], id: string): string[] {
  const byId = new Map(tasks.map((t) => [t.task_id, t]))
  return closure(tasks, id, (x) => byId.get(x)?.depends_on ?? [])
}

/** Every task that depends on `id`, directly or not, in definition order. */
export function descendants(tasks: readonly DagNode[], id: string): string[] {
  const dependants = dependantsMap(tasks)
  return closure(tasks, id, (x) => dependants.get(x) ?? [])
}

/**
 * What a task's dependencies allow: `run` when every one ended `success`, `skip` when any
 * ended otherwise (failed, timed out, cancelled, or itself skipped — a skip propagates, as a
 * job whose `needs` was skipped is skipped in GitHub Actions), `wait` while any is unfinished.
 */
export type DependencyVerdict = 'run' | 'skip' | 'wait'

/** See {@link DependencyVerdict}. A dependency with no status counts as unfinished. */
export function dependencyVerdict(
  task: DagNode,
  statuses: Readonly<Record<string, WorkflowTaskStatus>>,
): DependencyVerdict {
  let verdict: DependencyVerdict = 'run'
  for (const d of task.depends_on) {
    const s = statuses[d]
    if (s === 'success') continue
    if (s === 'failed' || s === 'timeout' || s === 'cancelled' || s === 'skipped') return 'skip'
    verdict = 'wait'
  }
  return verdict
}

/**
 * Ids of the `pending` tasks (a task with no status counts as pending) whose dependencies all
 * ended `success`, in definition order. `when` conditions and approval gates are the run
 * machine's business, not the graph's.
 */
export function readyTasks(
  def: { tasks: readonly DagNode[] },
  statuses: Readonly<Record<string, WorkflowTaskStatus>>,
): string[] {
  return def.tasks
    .filter(
      (t) => (statuses[t.task_id] ?? 'pending') === 'pending' && dependencyVerdict(t, statuses) === 'run',
    )
    .map((t) => t.task_id)
}

function dependantsMap(tasks: readonly DagNode[]): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const t of tasks) {
    for (const d of new Set(t.depends_on)) {
      const list = m.get(d) ?? []
      list.push(t.task_id)
      m.set(d, list)
    }
  }
  return m
}

function closure(tasks: readonly DagNode[], id: string, step: (id: string) => readonly string[]): string[] {
  const seen = new Set<string>()
  const todo = [...step(id)]
  while (todo.length > 0) {
    const x = todo.pop()!
    if (seen.has(x)) continue
    seen.add(x)
    todo.push(...step(x))
  }
  // A cycle through `id` would put it in its own closure; the caller asked about the others.
  seen.delete(id)
  return tasks.filter((t) => seen.has(t.task_id)).map((t) => t.task_id)
}
