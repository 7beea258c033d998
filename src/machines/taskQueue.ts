/**
 * The ready queue: tasks that may run now, highest priority (1-10) first, FIFO within a
 * priority. Tasks are grouped by eligibility class (same required capabilities, agent type and
 * exclusions), one heap per class, so a dispatch pass can rule out a whole class at once when no
 * agent can take its head, instead of scanning every waiting task on every event.
 */

import type { Task } from '../schema/domain.ts'
import { heapPop, heapPush } from './binaryHeap.ts'
import type { CoordinatorContext, ReadyClass, TaskEntry, TaskQueue } from './coordinatorTypes.ts'

export function createTaskQueue(): TaskQueue {
  return { classes: Object.create(null), size: 0 }
}

/** The eligibility class of a task. Capabilities are expected lower-cased (the schema does it). */
export function classKeyOf(task: Task): string {
  const caps = [...task.required_capabilities].sort().join(',')
  const ex = task.exclude_agents?.length ? [...task.exclude_agents].sort().join(',') : ''
  return `${caps}|${task.required_agent_type ?? ''}|${ex}`
}

/** Whether `a` runs before `b`: higher priority, then earlier submission. */
export function runsBefore(a: TaskEntry, b: TaskEntry): boolean {
  const pa = a.task.priority ?? 5
  const pb = b.task.priority ?? 5
  return pa > pb || (pa === pb && a.seq < b.seq)
}

function lessFor(ctx: CoordinatorContext): (a: string, b: string) => boolean {
  return (a, b) => {
    const ea = ctx.tasks[a]
    const eb = ctx.tasks[b]
    // A pruned id is garbage: let it surface first so it is thrown away soon.
    if (ea === undefined) return true
    if (eb === undefined) return false
    return runsBefore(ea, eb)
  }
}

/** Puts a queued task into the ready queue. */
export function enqueueReady(ctx: CoordinatorContext, e: TaskEntry): void {
  if (e.inReady) return
  const q = ctx.queue
  let cls = q.classes[e.classKey]
  if (cls === undefined) {
    const t = e.task
    cls = {
      key: e.classKey,
      caps: [...t.required_capabilities],
      agentType: t.required_agent_type,
      exclude: t.exclude_agents ? [...t.exclude_agents] : [],
      heap: [],
    }
    q.classes[e.classKey] = cls
  }
  heapPush(cls.heap, e.id, lessFor(ctx))
  e.inReady = true
  q.size++
}

/** Marks a task as no longer ready (its heap entry is dropped lazily). */
export function leaveReady(ctx: CoordinatorContext, e: TaskEntry): void {
  if (!e.inReady) return
  e.inReady = false
  ctx.queue.size--
}

/** The class's first ready task, dropping stale heap entries on the way; deletes an emptied class. */
export function peekClass(ctx: CoordinatorContext, cls: ReadyClass): TaskEntry | undefined {
  const less = lessFor(ctx)
  while (cls.heap.length > 0) {
    const e = ctx.tasks[cls.heap[0]]
    if (e?.inReady && e.status === 'queued') return e
    heapPop(cls.heap, less)
  }
  delete ctx.queue.classes[cls.key]
  return undefined
}

/** Takes the class's first ready task out of the queue (call after {@link peekClass} returned it). */
export function popClass(ctx: CoordinatorContext, cls: ReadyClass): TaskEntry | undefined {
  const e = peekClass(ctx, cls)
  if (e === undefined) return undefined
  heapPop(cls.heap, lessFor(ctx))
  leaveReady(ctx, e)
  return e
}
