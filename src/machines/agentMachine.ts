/**
 * One agent as a pure XState v5 machine: `registering` → `idle` ⇄ `busy` → `draining` → `stopped`.
 *
 * The machine decides; its host acts. It emits `execute` for each accepted (task, attempt) and the
 * host answers with `task.finished`; it emits exactly one outcome per accepted attempt — a
 * `result`, or a `rejected` when it gives the attempt back (the agent stopped) — and a `rejected`
 * for an assignment it will not take (full, draining, not registered) so the coordinator requeues
 * it. A duplicate assignment of an attempt running or recently finished here is ignored: delivery
 * is at least once, and an attempt runs at most once per agent.
 *
 * A cancelled attempt keeps its slot until the executor reports back (the process may take its
 * kill grace period to die); its result is whatever the executor says, usually `cancelled`.
 *
 * `stopped` is not final: it keeps rejecting assignments that were already on their way, so the
 * host decides when to stop the actor (on `stateChanged` to `stopped`).
 *
 * Time arrives in events (`now`, epoch ms). Heartbeat and health-check deadlines live in context;
 * the host arms one timer at {@link agentDeadline} and sends `tick`.
 *
 * @example
 * const actor = createActor(agentMachine, { input: { info, heartbeatIntervalMs: 5000, now: clock.now() } })
 * actor.on('execute', ({ task, attempt }) => run(task, attempt))
 * actor.start()
 * actor.send({ type: 'registered', now: clock.now() })
 */
import { assign, emit, enqueueActions, setup } from 'xstate'
import { agentInfo } from '../schema/domain.ts'
import { AgentConfigError } from './AgentConfigError.ts'
import {
  type AssignMode,
  assignAll,
  finishAll,
  indexOfRun,
  isRedelivery,
  isStillStopping,
  RECENT_LIMIT,
  STILL_STOPPING,
  takesAny,
} from './agentBatch.ts'
import type {
  AgentContext,
  AgentEmitted,
  AgentEvent,
  AgentMachineInput,
  AgentPhase,
  RunningTask,
} from './agentTypes.ts'

export type * from './agentTypes.ts'

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000
export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 30_000
export const DEFAULT_MAX_HEALTH_FAILURES = 3
export { RECENT_LIMIT }

/** Only ever wired to `task.assign` transitions. */
type AssignEvent = AgentEvent & { type: 'task.assign' }

/**
 * Validates and normalises the machine's input (capabilities lower-cased, defaults applied).
 * @throws AgentConfigError naming every problem.
 */
export function createAgentContext(input: AgentMachineInput): AgentContext {
  const parsed = agentInfo.safeParse(input.info)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'info'}: ${i.message}`)
    const who = typeof input.info?.agent_id === 'string' ? ` ${input.info.agent_id}` : ''
    throw new AgentConfigError(`invalid agent${who}: ${problems.join('; ')}`)
  }
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const value = v ?? dflt
    if (!(Number.isFinite(value) && value > 0))
      throw new AgentConfigError(`${name} must be a positive number, got ${v}`)
    return value
  }
  const heartbeatIntervalMs = positive(
    'heartbeatIntervalMs',
    input.heartbeatIntervalMs,
    DEFAULT_HEARTBEAT_INTERVAL_MS,
  )
  const maxHealthFailures = positive(
    'maxHealthFailures',
    input.maxHealthFailures,
    DEFAULT_MAX_HEALTH_FAILURES,
  )
  return {
    info: parsed.data,
    phase: 'registering',
    running: [],
    heartbeatIntervalMs,
    healthCheckIntervalMs: positive(
      'healthCheckIntervalMs',
      input.healthCheckIntervalMs,
      DEFAULT_HEALTH_CHECK_INTERVAL_MS,
    ),
    maxHealthFailures: Math.ceil(maxHealthFailures),
    healthFailures: 0,
    recentlyFinished: [],
    // Until the coordinator answers, the heartbeat deadline paces registration retries.
    nextHeartbeatAt: (input.now ?? 0) + heartbeatIntervalMs,
  }
}

/** The next time the agent needs a `tick` (a heartbeat or health check is due), if any. */
export function agentDeadline(context: AgentContext): number | undefined {
  // Called by the host after every event: no arrays.
  const hb = context.nextHeartbeatAt
  const hc = context.nextHealthCheckAt
  if (hb === undefined) return hc
  return hc === undefined ? hb : Math.min(hb, hc)
}

type BatchFinish = AgentEvent & { type: 'task.finished.batch' }

/** Whether a batch of finishes ends every attempt running (without touching the context). */
function finishesAll(c: AgentContext, e: BatchFinish): boolean {
  if (c.running.length === 0) return false
  return c.running.every((r) =>
    e.items.some((it) => it.taskId === r.task.task_id && it.attempt === r.attempt),
  )
}

const machineSetup = setup({
  types: {
    context: {} as AgentContext,
    events: {} as AgentEvent,
    input: {} as AgentMachineInput,
    emitted: {} as AgentEmitted,
  },
  guards: {
    /**
     * The same (task, attempt) is still being cancelled here: a coordinator that restarted numbers
     * attempts from 1 again. Taking it as a redelivery would let the old run's `cancelled` result
     * answer for the new one; rejecting it moves the coordinator to a fresh attempt.
     */
    stillStopping: ({ context, event }) =>
      event.type === 'task.assign' && isStillStopping(context.running, event.task.task_id, event.attempt),
    /** The same (task, attempt) is running or has just finished here: a redelivery. */
    isDuplicate: ({ context, event }) =>
      event.type === 'task.assign' &&
      isRedelivery(context, context.running, event.task.task_id, event.attempt),
    hasCapacity: ({ context }) => context.running.length < context.info.max_tasks,
    /** This finish empties the agent. */
    finishesLast: ({ context, event }) =>
      event.type === 'task.finished' &&
      context.running.length === 1 &&
      indexOfRun(context.running, event.taskId, event.attempt) === 0,
    isEmpty: ({ context }) => context.running.length === 0,
    /** A batch of assignments in which at least one is taken. */
    batchTakesAny: ({ context, event }) =>
      event.type === 'task.assign.batch' && takesAny(context, event.items),
    /** A batch of finishes that ends every attempt running. */
    batchFinishesAll: ({ context, event }) =>
      event.type === 'task.finished.batch' && finishesAll(context, event),
  },
  actions: {
    enter: enqueueActions(({ context, event, enqueue }, params: { to: AgentPhase }) => {
      if (context.phase === params.to) return
      const now = (event as { now?: number }).now ?? 0
      enqueue.emit({ type: 'stateChanged', from: context.phase, to: params.to, now })
      enqueue.assign({ phase: params.to })
    }),
    emitRegister: enqueueActions(({ context, enqueue }) =>
      enqueue.emit({ type: 'register', info: context.info }),
    ),
    armTimers: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'registered' && event.type !== 'task.assign' && event.type !== 'task.assign.batch')
        return
      enqueue.assign({
        nextHeartbeatAt: event.now + context.heartbeatIntervalMs,
        nextHealthCheckAt: event.now + context.healthCheckIntervalMs,
      })
    }),
    // A plain assign + emit pair, not enqueueActions: it runs for every task, and enqueueActions
    // costs a builder and closures per call (the agent machine's cost per task fell ~15%).
    accept: assign({
      running: ({ context, event }) => {
        const e = event as AssignEvent
        const run: RunningTask = { task: e.task, attempt: e.attempt, started_at: e.now, cancelling: false }
        return [...context.running, run]
      },
    }),
    emitExecute: emit(({ event }) => {
      const e = event as AssignEvent
      return { type: 'execute' as const, task: e.task, attempt: e.attempt }
    }),
    reject: enqueueActions(({ context, event, enqueue }, params: { reason?: string }) => {
      if (event.type !== 'task.assign') return
      const reason = params.reason ?? `at capacity (${context.running.length}/${context.info.max_tasks})`
      enqueue.emit({
        type: 'rejected',
        task_id: event.task.task_id,
        attempt: event.attempt,
        agent_id: context.info.agent_id,
        reason,
      })
    }),
    /**
     * Ends the run of a `task.finished`, or those of a `task.finished.batch` (see agentBatch.ts).
     * An unknown finish (a second report of the same attempt, or one from before a stop) yields
     * nothing: one result per attempt.
     */
    finish: enqueueActions(({ context, event, enqueue }) => {
      const items =
        event.type === 'task.finished' ? [event] : event.type === 'task.finished.batch' ? event.items : []
      const out = finishAll(context, items, event.now)
      for (const e of out.emitted) enqueue.emit(e)
      if (out.count > 0) enqueue.assign({ running: out.running })
    }),
    /** Takes a `task.assign.batch` (see agentBatch.ts). */
    assignBatch: enqueueActions(({ context, event, enqueue }, params: { mode: AssignMode }) => {
      if (event.type !== 'task.assign.batch') return
      const out = assignAll(context, event.items, event.now, params.mode)
      for (const e of out.emitted) enqueue.emit(e)
      if (out.count > 0) enqueue.assign({ running: out.running })
    }),
    cancel: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'task.cancel') return
      const hit = (r: RunningTask) =>
        !r.cancelling &&
        r.task.task_id === event.taskId &&
        (event.attempt === undefined || r.attempt === event.attempt)
      if (!context.running.some(hit)) return
      for (const r of context.running.filter(hit)) {
        enqueue.emit({ type: 'abort', taskId: r.task.task_id, attempt: r.attempt })
      }
      enqueue.assign({ running: context.running.map((r) => (hit(r) ? { ...r, cancelling: true } : r)) })
    }),
    /** A hard stop: running attempts are aborted and handed back, cancelled ones reported as such. */
    abandonRunning: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'stop') return
      const reason = event.reason ?? 'agent stopped'
      for (const r of context.running) {
        const ids = { task_id: r.task.task_id, attempt: r.attempt, agent_id: context.info.agent_id }
        if (r.cancelling) {
          enqueue.emit({
            type: 'result',
            ...ids,
            status: 'cancelled',
            error: `cancelled; ${reason}`,
            started_at: r.started_at,
            finished_at: event.now,
          })
        } else {
          enqueue.emit({ type: 'abort', taskId: r.task.task_id, attempt: r.attempt })
          enqueue.emit({ type: 'rejected', ...ids, reason })
        }
      }
      enqueue.assign({ running: [] })
    }),
    tick: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'tick') return
      const now = event.now
      if (context.nextHeartbeatAt !== undefined && now >= context.nextHeartbeatAt) {
        enqueue.emit({
          type: 'heartbeat',
          agent_id: context.info.agent_id,
          state: context.phase,
          load: context.running.length,
          running: context.running.map((r) => ({ task_id: r.task.task_id, attempt: r.attempt })),
        })
        // From now, not from the missed deadline: a late tick must not cause a burst.
        enqueue.assign({ nextHeartbeatAt: now + context.heartbeatIntervalMs })
      }
      if (context.nextHealthCheckAt !== undefined && now >= context.nextHealthCheckAt) {
        enqueue.emit({ type: 'healthCheck' })
        enqueue.assign({ nextHealthCheckAt: now + context.healthCheckIntervalMs })
      }
    }),
    retryRegister: enqueueActions(({ context, event, enqueue }) => {
      if (
        event.type !== 'tick' ||
        context.nextHeartbeatAt === undefined ||
        event.now < context.nextHeartbeatAt
      )
        return
      enqueue.emit({ type: 'register', info: context.info })
      enqueue.assign({ nextHeartbeatAt: event.now + context.heartbeatIntervalMs })
    }),
    healthOk: enqueueActions(({ enqueue }) => enqueue.assign({ healthFailures: 0 })),
    healthFailed: enqueueActions(({ context, enqueue }) => {
      const failures = context.healthFailures + 1
      if (failures >= context.maxHealthFailures) {
        enqueue.emit({ type: 'restartExecutor', failures })
        enqueue.assign({ healthFailures: 0 })
      } else enqueue.assign({ healthFailures: failures })
    }),
    clearDeadlines: enqueueActions(({ enqueue }) =>
      enqueue.assign({ nextHeartbeatAt: undefined, nextHealthCheckAt: undefined }),
    ),
  },
})

/** Takes a batch of assignments as the registering, idle and busy states take one. */
const TAKE = { type: 'assignBatch', params: { mode: 'take' } } as const

/** Overrides a root handler where the event means nothing yet. */
const ignore = { actions: [] }

/** @internal Built once; tests build mutants of it with `.provide({ guards })`. */
function createAgentMachine() {
  return machineSetup.createMachine({
    id: 'agent',
    initial: 'registering',
    context: ({ input }) => createAgentContext(input),
    on: {
      stop: { target: '.stopped', actions: 'abandonRunning' },
      'task.cancel': { actions: 'cancel' },
      tick: { actions: 'tick' },
      'health.ok': { actions: 'healthOk' },
      'health.failed': { actions: 'healthFailed' },
    },
    states: {
      registering: {
        entry: 'emitRegister',
        on: {
          registered: { target: 'idle', actions: 'armTimers' },
          // Only a coordinator that registered us assigns work: its acknowledgement is still in
          // flight. Rejecting would bounce the first tasks of every agent start.
          'task.assign': [
            { guard: 'stillStopping', actions: { type: 'reject', params: { reason: STILL_STOPPING } } },
            { guard: 'isDuplicate' },
            { guard: 'hasCapacity', target: 'busy', actions: ['armTimers', 'accept', 'emitExecute'] },
            { actions: { type: 'reject', params: {} } },
          ],
          'task.assign.batch': [
            { guard: 'batchTakesAny', target: 'busy', actions: ['armTimers', TAKE] },
            { actions: TAKE },
          ],
          tick: { actions: 'retryRegister' },
          'health.ok': ignore,
          'health.failed': ignore,
          drain: 'draining',
        },
      },
      idle: {
        entry: { type: 'enter', params: { to: 'idle' } },
        on: {
          'task.assign': [
            { guard: 'stillStopping', actions: { type: 'reject', params: { reason: STILL_STOPPING } } },
            { guard: 'isDuplicate' },
            { guard: 'hasCapacity', target: 'busy', actions: ['accept', 'emitExecute'] },
            { actions: { type: 'reject', params: {} } },
          ],
          'task.assign.batch': [{ guard: 'batchTakesAny', target: 'busy', actions: TAKE }, { actions: TAKE }],
          drain: 'draining',
        },
      },
      busy: {
        entry: { type: 'enter', params: { to: 'busy' } },
        on: {
          'task.assign': [
            { guard: 'stillStopping', actions: { type: 'reject', params: { reason: STILL_STOPPING } } },
            { guard: 'isDuplicate' },
            { guard: 'hasCapacity', actions: ['accept', 'emitExecute'] },
            { actions: { type: 'reject', params: {} } },
          ],
          'task.assign.batch': { actions: TAKE },
          'task.finished': [
            { guard: 'finishesLast', target: 'idle', actions: 'finish' },
            { actions: 'finish' },
          ],
          'task.finished.batch': [
            { guard: 'batchFinishesAll', target: 'idle', actions: 'finish' },
            { actions: 'finish' },
          ],
          drain: 'draining',
        },
      },
      draining: {
        entry: { type: 'enter', params: { to: 'draining' } },
        always: { guard: 'isEmpty', target: 'stopped' },
        on: {
          'task.assign': [
            { guard: 'stillStopping', actions: { type: 'reject', params: { reason: STILL_STOPPING } } },
            { guard: 'isDuplicate' },
            { actions: { type: 'reject', params: { reason: 'draining' } } },
          ],
          'task.assign.batch': { actions: { type: 'assignBatch', params: { mode: 'draining' } } },
          'task.finished': { actions: 'finish' },
          'task.finished.batch': { actions: 'finish' },
        },
      },
      // Not a final state: assignments still in flight to a stopped agent must be handed back.
      stopped: {
        entry: [{ type: 'enter', params: { to: 'stopped' } }, 'clearDeadlines'],
        on: {
          'task.assign': { actions: { type: 'reject', params: { reason: 'agent stopped' } } },
          'task.assign.batch': { actions: { type: 'assignBatch', params: { mode: 'stopped' } } },
          stop: ignore,
          drain: ignore,
          tick: ignore,
          'task.cancel': ignore,
          'health.ok': ignore,
          'health.failed': ignore,
        },
      },
    },
  })
}

export type AgentMachine = ReturnType<typeof createAgentMachine>

/** The agent machine. Input: {@link AgentMachineInput}; events {@link AgentEvent}; emits {@link AgentEmitted}. */
export const agentMachine: AgentMachine = createAgentMachine()
