import type { HiveClient } from '../api/createClient.ts'
import type { Body } from '../bus/catalogue.ts'
import type { Bus } from '../bus/createBus.ts'
import { envelope } from '../bus/envelope.ts'
import { HiveError } from '../bus/errors.ts'
import { assertToken, subject } from '../bus/subjects.ts'
import { workflowSummary } from '../machines/workflowSummary.ts'
import type { WorkflowRunContext } from '../machines/workflowTypes.ts'
import type { WorkflowDef } from '../schema/workflow.ts'
import type { SnapshotStore } from '../store/snapshotStore.ts'
import { parseWorkflow } from '../workflow/loadWorkflow.ts'
import { WorkflowValidationError } from '../workflow/WorkflowValidationError.ts'
import type { Clock } from './clock.ts'
import type { Logger } from './createLogger.ts'
import { UnsupportedMessageError } from './errors.ts'
import {
  startWorkflowRun,
  type WorkflowRunHandle,
  type WorkflowRunOptions,
  workflowStoreKey,
} from './startWorkflowRun.ts'
import {
  InvalidWorkflowError,
  NotAwaitingApprovalError,
  RunFinishedError,
  RunNotLiveError,
  UnknownRunError,
  WorkflowRunningError,
} from './workflowErrors.ts'

/** A run as `workflow.status` and `workflow.list` report it. */
export type WorkflowRunView = Body<'workflow.status.result'>

/** What `startWorkflowRun` keeps under `workflow.<workflow id>`. */
interface StoredRun {
  run_id: string
  workflow_id: string
  snapshot: { status: string; context: WorkflowRunContext }
}

export interface WorkflowServiceOptions {
  bus: Bus
  /** Submits the runs' tasks to the coordinator. */
  client: HiveClient
  /** Where runs persist their snapshots (JetStream KV over NATS; files or memory on the embedded bus). */
  store: SnapshotStore
  log: Logger
  clock?: Clock
  inspect?: WorkflowRunOptions['inspect']
  /** Finished runs kept in memory (older ones are still found in the store while it holds them). Default 200. */
  keepFinished?: number
  /** How long to wait for a stored unfinished run's mailbox to answer a ping. Default 500 ms. */
  pingTimeoutMs?: number
}

export interface WorkflowServiceHandle {
  /** Starts (or resumes) a run of a validated definition, as `workflow.start` does. */
  start(def: WorkflowDef, opts?: { fresh?: boolean }): Promise<WorkflowRunHandle>
  /** A run this service hosts (live or finished and still remembered). */
  run(runId: string): WorkflowRunHandle | undefined
  view(runId: string): Promise<WorkflowRunView>
  list(): Promise<WorkflowRunView[]>
  /** Stops serving and stops the live runs; their snapshots stay stored, so a later start resumes them. */
  stop(): Promise<void>
}

const isFinal = (ctx: WorkflowRunContext, status?: string) => status === 'done' || ctx.outcome !== undefined

/** Drops undefined fields: they have no place on the wire. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

function viewOf(ctx: WorkflowRunContext, live: boolean): WorkflowRunView {
  const s = workflowSummary({ context: ctx })
  return defined({
    run_id: ctx.runId,
    workflow_id: ctx.def.id,
    name: ctx.def.name,
    status: s.status,
    started_at: ctx.startedAt,
    finished_at: ctx.finishedAt,
    error: ctx.error,
    live,
    tasks: Object.fromEntries(Object.entries(s.tasks).map(([id, t]) => [id, defined(t)])),
  }) as WorkflowRunView
}

/**
 * Validates a definition received over the bus. A normalized `WorkflowDef` is also a valid workflow
 * file that normalizes to itself, so the loader's own checks (shape, graph, expressions) apply.
 * @throws InvalidWorkflowError listing every problem.
 */
export function validateDefinition(definition: unknown, file = 'definition'): WorkflowDef {
  try {
    return parseWorkflow(JSON.stringify(definition, null, 2), file)
  } catch (err) {
    if (err instanceof WorkflowValidationError) throw new InvalidWorkflowError(err.message, err)
    throw err
  }
}

/**
 * Serves `hive.<ns>.svc.workflow` (queue group `workflow`): starts workflow runs on a running hive
 * and answers for them. `workflow.start` validates the definition again and starts (or resumes,
 * unless `fresh`) a run; `workflow.status`, `workflow.list` and `workflow.export` read the runs it
 * hosts and, for the rest, the snapshot store; `workflow.cancel`, `workflow.approve` and
 * `workflow.reject` act on a hosted run directly and are forwarded to the mailbox of a run hosted
 * elsewhere (another service instance, or a `hive run --nats` process). Unknown run ids are
 * answered with {@link UnknownRunError}.
 *
 * Runs are not resumed when the service starts: another process may still be running them. A
 * `workflow.start` of the same definition resumes a stored unfinished run once its mailbox no
 * longer answers.
 */
export function startWorkflowService(o: WorkflowServiceOptions): WorkflowServiceHandle {
  const { bus, client, store } = o
  const log = o.log.child({ actor: 'workflow-service' })
  const keepFinished = o.keepFinished ?? 200
  const pingTimeoutMs = o.pingTimeoutMs ?? 500
  const from = `workflow-service.${bus.node}`
  const runs = new Map<string, WorkflowRunHandle>()
  const finished: string[] = []
  const starting = new Set<string>()

  const live = (h: WorkflowRunHandle) => !isFinal(h.actor.getSnapshot().context)
  const mailboxOf = (runId: string) => subject(bus.ns, { kind: 'mailbox', actor: 'workflow', id: runId })

  /**
   * The stored run of `runId`. Run ids are `<workflow id>-<10 chars>` (startWorkflowRun) and runs
   * are stored per workflow id, so one read finds it; an id of any other form names no run. (A
   * scan of every key used to follow a miss: on a busy server it outlasted the caller's timeout.)
   */
  async function storedRun(runId: string): Promise<StoredRun | undefined> {
    if (runId.length <= 11 || runId[runId.length - 11] !== '-') return undefined
    const s = (await store.get(workflowStoreKey(runId.slice(0, -11)))) as StoredRun | undefined
    return s?.run_id === runId ? s : undefined
  }

  /** Whether a run's mailbox answers: it is live in some process. */
  async function answers(runId: string): Promise<boolean> {
    try {
      await bus.request(mailboxOf(runId), envelope('ping', {}, { from }), { timeoutMs: pingTimeoutMs })
      return true
    } catch (err) {
      // No responders: nobody hosts it. A timeout may be a busy or older host: count it as live.
      return !(err instanceof HiveError && err.code === 'NO_RESPONDERS')
    }
  }

  function remember(h: WorkflowRunHandle) {
    runs.set(h.runId, h)
    void h.done.then(() => {
      finished.push(h.runId)
      while (finished.length > keepFinished) runs.delete(finished.shift()!)
    })
  }

  async function start(def: WorkflowDef, opts: { fresh?: boolean } = {}): Promise<WorkflowRunHandle> {
    try {
      assertToken(def.id, 'workflow id', { wildcard: 'none' })
    } catch (err) {
      // Run ids (the runs' mailbox subjects) are made from workflow ids.
      throw new InvalidWorkflowError(
        `workflow id ${JSON.stringify(def.id)} cannot name a run: use letters, digits, - and _ only`,
        err,
      )
    }
    const mine = [...runs.values()].find((h) => h.actor.getSnapshot().context.def.id === def.id && live(h))
    if (mine) throw new WorkflowRunningError(def.id, mine.runId)
    if (starting.has(def.id)) throw new WorkflowRunningError(def.id, '(starting)')
    starting.add(def.id)
    try {
      const stored = (await store.get(workflowStoreKey(def.id))) as StoredRun | undefined
      if (
        stored &&
        !isFinal(stored.snapshot.context, stored.snapshot.status) &&
        (await answers(stored.run_id))
      ) {
        throw new WorkflowRunningError(def.id, stored.run_id)
      }
      const h = await startWorkflowRun({
        def,
        bus,
        client,
        store,
        log: o.log,
        clock: o.clock,
        inspect: o.inspect,
        fresh: opts.fresh,
      })
      remember(h)
      return h
    } finally {
      starting.delete(def.id)
    }
  }

  /** The context of a run, hosted here or stored; `host` is set when this service runs it. */
  async function find(runId: string): Promise<{ ctx: WorkflowRunContext; host?: WorkflowRunHandle }> {
    const h = runs.get(runId)
    if (h) return { ctx: h.actor.getSnapshot().context, host: h }
    const s = await storedRun(runId)
    if (!s) throw new UnknownRunError(runId)
    return { ctx: s.snapshot.context }
  }

  async function view(runId: string): Promise<WorkflowRunView> {
    const { ctx, host } = await find(runId)
    return viewOf(ctx, host !== undefined && live(host))
  }

  async function list(): Promise<WorkflowRunView[]> {
    const out = new Map<string, WorkflowRunView>()
    for (const h of runs.values()) out.set(h.runId, viewOf(h.actor.getSnapshot().context, live(h)))
    for (const k of await store.keys()) {
      if (!k.startsWith('workflow.')) continue
      const s = (await store.get(k)) as StoredRun | undefined
      if (s?.snapshot?.context && !out.has(s.run_id)) out.set(s.run_id, viewOf(s.snapshot.context, false))
    }
    return [...out.values()].sort((a, b) => (a.started_at ?? 0) - (b.started_at ?? 0))
  }

  /** Applies a control message to a hosted run, or forwards it to the run's mailbox wherever it lives. */
  async function control(
    runId: string,
    msg: Parameters<Bus['publish']>[1],
    apply: (h: WorkflowRunHandle) => void,
    check?: (ctx: WorkflowRunContext) => void,
  ): Promise<WorkflowRunView> {
    const { ctx, host } = await find(runId)
    if (ctx.outcome !== undefined) throw new RunFinishedError(runId, ctx.outcome)
    check?.(ctx)
    if (host) {
      apply(host)
      return viewOf(host.actor.getSnapshot().context, live(host))
    }
    try {
      await bus.request(mailboxOf(runId), msg, { timeoutMs: 5000 })
    } catch (err) {
      if (err instanceof HiveError && err.code === 'NO_RESPONDERS') throw new RunNotLiveError(runId)
      throw err
    }
    return view(runId)
  }

  const awaitingApproval = (runId: string, taskId: string) => (ctx: WorkflowRunContext) => {
    const status = ctx.tasks[taskId]?.status
    if (status !== 'waiting_approval') throw new NotAwaitingApprovalError(runId, taskId, status)
  }

  const sub = bus.subscribe(
    subject(bus.ns, { kind: 'service', service: 'workflow' }),
    async (msg, reply) => {
      const answer = (m: Parameters<Bus['publish']>[1]) => reply?.(m)
      const corr = msg.corr
      switch (msg.type) {
        case 'workflow.start': {
          const def = validateDefinition(msg.body.definition, msg.body.file)
          const h = await start(def, { fresh: msg.body.fresh })
          log.info({ run: h.runId, resumed: h.resumed, corr }, 'workflow run started')
          return answer(
            envelope(
              'workflow.started',
              { run_id: h.runId, workflow_id: def.id, resumed: h.resumed },
              { from, corr: corr ?? h.runId },
            ),
          )
        }
        case 'workflow.status':
          return answer(envelope('workflow.status.result', await view(msg.body.run_id), { from, corr }))
        case 'workflow.list': {
          const all = await list()
          const runsOut = msg.body.status ? all.filter((r) => r.status === msg.body.status) : all
          return answer(envelope('workflow.list.result', { runs: runsOut }, { from, corr }))
        }
        case 'workflow.export': {
          const { ctx } = await find(msg.body.run_id)
          const definition = ctx.def as unknown as Record<string, unknown>
          return answer(
            envelope(
              'workflow.definition',
              { run_id: ctx.runId, workflow_id: ctx.def.id, definition },
              { from, corr },
            ),
          )
        }
        case 'workflow.cancel': {
          const { run_id, reason } = msg.body
          const v = await control(run_id, msg, (h) => h.cancel(reason))
          return answer(envelope('workflow.status.result', v, { from, corr }))
        }
        case 'workflow.approve': {
          const { run_id, task_id, by } = msg.body
          const v = await control(
            run_id,
            msg,
            (h) => h.approve(task_id, by),
            awaitingApproval(run_id, task_id),
          )
          return answer(envelope('workflow.status.result', v, { from, corr }))
        }
        case 'workflow.reject': {
          const { run_id, task_id, reason } = msg.body
          const v = await control(
            run_id,
            msg,
            (h) => h.reject(task_id, reason),
            awaitingApproval(run_id, task_id),
          )
          return answer(envelope('workflow.status.result', v, { from, corr }))
        }
        case 'ping':
          return answer(envelope('pong', { node: bus.node, note: 'workflow' }, { from, corr }))
        default:
          throw new UnsupportedMessageError(msg.type, 'the workflow service')
      }
    },
    { queue: 'workflow' },
  )

  return {
    start,
    run: (runId) => runs.get(runId),
    view,
    list,
    async stop() {
      sub.unsubscribe()
      for (const h of runs.values()) if (live(h)) h.stop()
    },
  }
}
