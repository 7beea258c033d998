import type { AgentInfo, Task, TaskResult } from '../bus/catalogue.ts'
import type { Bus, Subscription } from '../bus/createBus.ts'
import { envelope } from '../bus/envelope.ts'
import { subject } from '../bus/subjects.ts'
import { agentDeadline, agentMachine } from '../machines/agentMachine.ts'
import { type Clock, systemClock } from './clock.ts'
import type { Logger } from './createLogger.ts'
import { createResultOutbox, type ResultOutbox } from './createResultOutbox.ts'
import type { ExecutionResult, Executor } from './executors/types.ts'
import { type HostedActor, hostMachine } from './hostMachine.ts'
import { createWorkspaces } from './workspace.ts'

/**
 * An abort handle whose AbortController is made only when someone asks for its signal: most
 * runs finish without being cancelled, and most functions never look at the signal.
 */
class LazyAbort {
  #ac: AbortController | undefined
  #aborted = false
  #listeners: (() => void)[] | undefined
  get signal(): AbortSignal {
    if (this.#ac === undefined) {
      this.#ac = new AbortController()
      if (this.#aborted) this.#ac.abort()
    }
    return this.#ac.signal
  }
  /** Calls `listener` once on abort (at once if aborted already). Bound: pass it as it is. */
  onAbort = (listener: () => void): void => {
    if (this.#aborted) {
      listener()
      return
    }
    this.#listeners ??= []
    this.#listeners.push(listener)
  }

  abort(): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#ac?.abort()
    const ls = this.#listeners
    this.#listeners = undefined
    if (ls) for (const l of ls) l()
  }
}

/** Longest a capacity rejection waits for a cancelled attempt to give its slot back. */
const HOLD_REJECTION_MS = 5000

export interface AgentOptions {
  bus: Bus
  log: Logger
  info: AgentInfo
  /** Makes the executor; called again when health checks fail repeatedly. */
  executor: () => Executor
  clock?: Clock
  heartbeatIntervalMs?: number
  /** Root of per-task workspaces (default: a directory under the OS temp dir). */
  workspaceRoot?: string
  inspect?: Parameters<typeof hostMachine>[0]['inspect']
  /** Where results go; agents of one node share one (see {@link createResultOutbox}). */
  results?: ResultOutbox
}

export interface AgentHandle {
  readonly id: string
  readonly actor: HostedActor<typeof agentMachine>
  /** Stops taking work, finishes what runs, then resolves. */
  drain(): Promise<void>
  stop(): Promise<void>
}

/**
 * Runs one agent on a bus: registers with the coordinator (retrying until it answers), takes
 * assignments from its mailbox, runs them through its executor in per-task workspaces, reports
 * results, heartbeats, and restarts its executor when health checks keep failing.
 */
export function startAgent(o: AgentOptions): AgentHandle {
  const { bus, info } = o
  const clock = o.clock ?? systemClock
  const ns = bus.ns
  const from = `agent.${info.agent_id}`
  const log = o.log.child({ actor: from })
  const coordinator = subject(ns, { kind: 'service', service: 'coordinator' })
  const workspaces = createWorkspaces(
    o.workspaceRoot ?? `${process.env.TMPDIR ?? '/tmp'}/hive-ws/${info.agent_id}`,
  )
  const running = new Map<string, LazyAbort>()
  let executor = o.executor()
  let registering = false
  let stopped = false
  const drained = new Set<() => void>()
  const endDrains = () => {
    for (const r of drained) r()
    drained.clear()
  }

  const key = (taskId: string, attempt: number) => `${taskId}#${attempt}`

  // A rejection for want of a slot that a cancelled attempt still holds waits here until a slot
  // frees (at most HOLD_REJECTION_MS). The coordinator frees the slot as soon as it cancels, but
  // the agent keeps it until the process is dead (up to the kill grace): sent at once, the
  // rejection comes straight back as a reassignment, thousands of times a second.
  const held: Record<string, unknown>[] = []
  let holdTimer: unknown
  const sendRejected = (rejected: Record<string, unknown>) => {
    if (bus.closed) return
    bus.publish(
      coordinator,
      envelope('task.rejected', rejected as never, { from, corr: rejected.task_id as string }),
    )
  }
  const releaseHeld = () => {
    if (holdTimer !== undefined) clock.clearTimeout(holdTimer)
    holdTimer = undefined
    for (const r of held.splice(0)) sendRejected(r)
  }

  const register = async () => {
    if (registering || stopped) return
    registering = true
    let delay = 100
    while (!stopped) {
      try {
        await bus.request(coordinator, envelope('agent.register', info, { from }), { timeoutMs: 2000 })
        actor.send({ type: 'registered' })
        log.info({ capabilities: info.capabilities }, 'registered')
        break
      } catch (err) {
        log.debug({ err }, 'coordinator not reachable yet; retrying registration')
        await new Promise((r) => setTimeout(r, delay))
        delay = Math.min(delay * 2, 2000)
      }
    }
    registering = false
  }

  const execute = async (task: Task, attempt: number) => {
    const abort = new LazyAbort()
    running.set(key(task.task_id, attempt), abort)
    let result: ExecutionResult
    try {
      const ex = executor
      if (ex.lazyWorkspace) {
        const workspace = workspaces.lazy(task.task_id, attempt)
        result = await ex.execute({
          task,
          attempt,
          get signal() {
            return abort.signal
          },
          onAbort: abort.onAbort,
          get workspace() {
            return workspace()
          },
        })
      } else {
        const workspace = await workspaces.forTask(task.task_id, attempt)
        result = await ex.execute({
          task,
          attempt,
          workspace,
          signal: abort.signal,
          onAbort: abort.onAbort,
        })
      }
    } catch (err) {
      result = { status: 'failed', error: `executor error: ${(err as Error).message}` }
    }
    running.delete(key(task.task_id, attempt))
    finished.push({ taskId: task.task_id, attempt, result })
    if (finished.length === 1) queueMicrotask(flushFinished)
  }
  // Runs that end in the same pass reach the machine as one `task.finished.batch` transition.
  let finished: { taskId: string; attempt: number; result: ExecutionResult }[] = []
  const flushFinished = () => {
    const items = finished
    finished = []
    if (items.length === 1) actor.send({ type: 'task.finished', ...items[0] })
    else if (items.length > 1) actor.send({ type: 'task.finished.batch', items })
  }

  // A node's agents share one outbox (one results message per pass for all of them).
  const outbox = o.results ?? createResultOutbox(bus, log)

  const actor = hostMachine({
    machine: agentMachine,
    input: { info, heartbeatIntervalMs: o.heartbeatIntervalMs, now: clock.now() },
    kind: 'agent',
    id: info.agent_id,
    bus,
    log,
    clock,
    inspect: o.inspect,
    deadline: (s) => agentDeadline(s.context),
    onEmit(ev) {
      const e = ev as any
      switch (ev.type) {
        case 'register':
          void register()
          break
        case 'execute':
          void execute(e.task, e.attempt)
          break
        case 'abort':
          running.get(key(e.taskId, e.attempt))?.abort()
          break
        case 'result': {
          const { type: _t, ...result } = e
          outbox.push(result as TaskResult, releaseHeld)
          break
        }
        case 'rejected': {
          const { type: _t, ...rejected } = e
          const dying = actor.getSnapshot().context.running.some((r) => r.cancelling)
          if (dying && String(rejected.reason).startsWith('at capacity')) {
            held.push(rejected)
            holdTimer ??= clock.setTimeout(releaseHeld, HOLD_REJECTION_MS)
          } else sendRejected(rejected)
          break
        }
        case 'heartbeat': {
          const { type: _t, ...hb } = e
          if (!bus.closed)
            bus.publish(
              subject(ns, { kind: 'heartbeat', id: info.agent_id }),
              envelope('agent.heartbeat', hb, { from }),
            )
          break
        }
        case 'healthCheck':
          executor.healthCheck().then(
            (ok) => actor.send({ type: ok ? 'health.ok' : 'health.failed' }),
            () => actor.send({ type: 'health.failed' }),
          )
          break
        case 'restartExecutor': {
          // Runs in progress keep the old executor (they hold their own reference) and finish
          // there; new tasks go to the fresh one. Closing the old one would cancel them.
          log.warn({ failures: e.failures }, 'executor failed its health checks; restarting it')
          executor = o.executor()
          break
        }
        case 'stateChanged':
          if (e.to === 'stopped') endDrains()
          break
      }
    },
  })

  const subs: Subscription[] = [
    bus.subscribe(subject(ns, { kind: 'mailbox', actor: 'agent', id: info.agent_id }), (msg) => {
      switch (msg.type) {
        case 'task.assign':
          actor.send({ type: 'task.assign', task: msg.body.task as Task, attempt: msg.body.attempt })
          return
        case 'task.assign.batch':
          actor.send({
            type: 'task.assign.batch',
            items: msg.body.items as { task: Task; attempt: number }[],
          })
          return
        case 'task.cancel':
          actor.send({ type: 'task.cancel', taskId: msg.body.task_id, attempt: msg.body.attempt })
          return
        case 'agent.drain':
          actor.send({ type: 'drain' })
          return
        case 'agent.reregister':
          void register()
          return
        default:
          log.warn({ type: msg.type }, 'agent ignores this message type')
      }
    }),
  ]

  const stop = async () => {
    if (stopped) return
    stopped = true
    // A drain still waiting ends here: the agent stops now.
    endDrains()
    for (const ac of running.values()) ac.abort()
    for (const s of subs) s.unsubscribe()
    flushFinished()
    actor.stop()
    outbox.flush()
    releaseHeld()
    if (!bus.closed) {
      try {
        bus.publish(
          coordinator,
          envelope('agent.deregister', { agent_id: info.agent_id, reason: 'stopped' }, { from }),
        )
      } catch {
        // The bus went away first; the coordinator will declare us dead by missed heartbeats.
      }
    }
    await executor.close?.()
  }

  return {
    id: info.agent_id,
    actor,
    drain() {
      if ((actor.getSnapshot() as { value: unknown }).value === 'stopped') return Promise.resolve()
      if (stopped) return Promise.resolve()
      const done = new Promise<void>((r) => drained.add(r))
      actor.send({ type: 'drain' })
      return done
    },
    stop,
  }
}
