import type { HiveClient } from '../api/createClient.ts'
import type { Bus } from '../bus/createBus.ts'
import { envelope, newId } from '../bus/envelope.ts'
import { subject } from '../bus/subjects.ts'
import {
  type WorkflowEmitted,
  workflowDeadline,
  workflowMachine,
  workflowSummary,
} from '../machines/workflowMachine.ts'
import type { WorkflowSummary } from '../machines/workflowSummary.ts'
import type { WorkflowRunContext } from '../machines/workflowTypes.ts'
import type { WorkflowDef } from '../schema/workflow.ts'
import { coalescingWriter, type SnapshotStore } from '../store/snapshotStore.ts'
import { type Clock, systemClock } from './clock.ts'
import type { Logger } from './createLogger.ts'
import { type HostedActor, hostMachine } from './hostMachine.ts'
import { notify } from './notify.ts'

/** What the store keeps for a workflow id: its latest run and that run's persisted snapshot. */
interface StoredRun {
  run_id: string
  workflow_id: string
  snapshot: { status: string; context: WorkflowRunContext }
}

export interface WorkflowRunOptions {
  def: WorkflowDef
  bus: Bus
  client: HiveClient
  store: SnapshotStore
  log: Logger
  clock?: Clock
  /** Start a new run even when an unfinished run of this workflow id is stored. */
  fresh?: boolean
  inspect?: Parameters<typeof hostMachine>[0]['inspect']
  /** How long a failing snapshot write is retried before it is given up (default 60 s). */
  saveRetryMs?: number
  /** Called on every task change, for progress displays. */
  onChange?: (summary: WorkflowSummary) => void
}

export interface WorkflowRunHandle {
  readonly runId: string
  readonly resumed: boolean
  readonly actor: HostedActor<typeof workflowMachine>
  summary(): WorkflowSummary
  /** Resolves when the run reaches its final state. */
  readonly done: Promise<WorkflowSummary>
  approve(taskId: string, by?: string): void
  reject(taskId: string, reason?: string): void
  cancel(reason?: string): void
  stop(): void
}

export function workflowStoreKey(workflowId: string): string {
  return `workflow.${workflowId}`
}

/**
 * The store with writes that retry, with backoff, while they fail (a NATS server restarting, a KV
 * timeout) for up to `budgetMs`; after that the error is logged and that one write given up. A
 * write must not reject: the coalescing writer would stop writing that key for good, and the
 * run's final flush would never settle.
 */
function retryingWrites(
  store: SnapshotStore,
  o: { clock: Clock; log: Logger; closed: () => boolean; budgetMs: number },
): SnapshotStore {
  return {
    ...store,
    async put(key, value) {
      const start = o.clock.now()
      for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
        try {
          await store.put(key, value)
          return
        } catch (err) {
          if (o.closed() || o.clock.now() - start + delay > o.budgetMs) {
            o.log.error({ err, key }, 'could not save the workflow snapshot; the next change writes it again')
            return
          }
          o.log.warn(
            { error: (err as Error).message, key, retryInMs: delay },
            'could not save the workflow snapshot; retrying',
          )
          await new Promise((r) => o.clock.setTimeout(() => r(undefined), delay))
        }
      }
    },
  }
}

function isFinalSnapshot(s: StoredRun['snapshot']): boolean {
  return s.status === 'done' || s.context.outcome !== undefined
}

/**
 * Runs one workflow as an actor: submits its ready tasks through the coordinator, feeds results
 * back, persists its snapshot after every transition, and — unless `fresh` — resumes the stored
 * unfinished run of the same workflow id (completed tasks are not run again; tasks that were
 * running are resubmitted under the same attempt id).
 */
export async function startWorkflowRun(o: WorkflowRunOptions): Promise<WorkflowRunHandle> {
  const { def, bus, client, store } = o
  const clock = o.clock ?? systemClock
  const key = workflowStoreKey(def.id)
  const stored = o.fresh ? undefined : ((await store.get(key)) as StoredRun | undefined)
  const resumed = stored !== undefined && !isFinalSnapshot(stored.snapshot)
  const runId = resumed && stored ? stored.run_id : `${def.id}-${newId().slice(-10)}`
  const log = o.log.child({ actor: `workflow.${runId}` })
  const writer = coalescingWriter(
    retryingWrites(store, { clock, log, closed: () => bus.closed, budgetMs: o.saveRetryMs ?? 60_000 }),
  )
  const mailbox = subject(bus.ns, { kind: 'mailbox', actor: 'workflow', id: runId })
  const from = `workflow.${runId}`
  let finish!: (s: WorkflowSummary) => void
  const done = new Promise<WorkflowSummary>((r) => (finish = r))

  const event = (name: string, data: unknown) => {
    if (bus.closed) return
    bus.publish(
      subject(bus.ns, { kind: 'event', actor: 'workflow', id: runId, event: name }),
      envelope('event', { actor: 'workflow', id: runId, event: name, data }, { from, corr: runId }),
    )
  }

  const onEmit = (ev: WorkflowEmitted) => {
    switch (ev.type) {
      case 'submit':
        client.submit(ev.spec, { wait: true }).then(
          (rec) =>
            actor.send({
              type: 'task.result',
              taskId: ev.taskId,
              attempt: ev.attempt,
              status:
                rec.status === 'success'
                  ? 'success'
                  : rec.status === 'timeout'
                    ? 'timeout'
                    : rec.status === 'cancelled'
                      ? 'cancelled'
                      : 'failed',
              output: rec.output,
              error: rec.error,
              agent_id: rec.agent_id,
              started_at: rec.started_at ?? clock.now(),
              finished_at: rec.finished_at ?? clock.now(),
            }),
          (err: Error) =>
            actor.send({
              type: 'task.result',
              taskId: ev.taskId,
              attempt: ev.attempt,
              status: 'failed',
              error: `could not submit: ${err.message}`,
              started_at: clock.now(),
              finished_at: clock.now(),
            }),
        )
        break
      case 'cancelTask':
        client
          .cancel(ev.attemptId)
          .catch((err) => log.debug({ err }, 'cancel of a task the coordinator no longer has'))
        break
      case 'approvalNeeded':
        log.info({ task: ev.taskId }, `approval needed: ${ev.message}`)
        event('approval_needed', { task_id: ev.taskId, message: ev.message })
        void notify(def.notification.on_approval_needed, { workflow_id: def.id, run_id: runId, ...ev }, log)
        break
      case 'taskChanged':
        event('task', { task_id: ev.taskId, from: ev.from, to: ev.to })
        o.onChange?.(workflowSummary(actor.getSnapshot()))
        break
      case 'runFinished': {
        event('finished', { status: ev.status })
        const targets = ev.status === 'success' ? def.notification.on_complete : def.notification.on_failure
        const summary: WorkflowSummary = { status: ev.status, tasks: ev.tasks }
        void notify(targets, { workflow_id: def.id, run_id: runId, ...summary }, log)
        // The final snapshot must be on disk before the run counts as done.
        queueMicrotask(
          () =>
            void writer.flush().then(
              () => finish(summary),
              (err) => {
                // Unreachable while writes never reject; the run's outcome stands either way.
                log.error({ err }, 'could not save the final workflow snapshot')
                finish(summary)
              },
            ),
        )
        break
      }
    }
  }

  const actor = hostMachine({
    machine: workflowMachine,
    input: { def, runId, now: clock.now() },
    snapshot: resumed ? stored?.snapshot : undefined,
    kind: 'workflow',
    id: runId,
    bus,
    log,
    clock,
    inspect: o.inspect,
    deadline: (s) => workflowDeadline(s.context),
    onEmit: (ev) => onEmit(ev as unknown as WorkflowEmitted),
    persist: (snapshot) =>
      void writer
        .save(key, { run_id: runId, workflow_id: def.id, snapshot })
        .catch((err) => log.error({ err }, 'could not save the workflow snapshot')),
  })

  const sub = bus.subscribe(mailbox, (msg, reply) => {
    const ack = () => reply?.(envelope('ack', { ok: true }, { from }))
    switch (msg.type) {
      case 'workflow.approve':
        handle.approve(msg.body.task_id, msg.body.by)
        return ack()
      case 'workflow.reject':
        handle.reject(msg.body.task_id, msg.body.reason)
        return ack()
      case 'workflow.cancel':
        handle.cancel(msg.body.reason)
        return ack()
      case 'ping':
        // Lets a workflow service tell a live run (in any process) from a stored one.
        return reply?.(envelope('pong', { note: runId }, { from }))
    }
  })

  const handle: WorkflowRunHandle = {
    runId,
    resumed,
    actor,
    done,
    summary: () => workflowSummary(actor.getSnapshot()),
    approve: (taskId, by) => actor.send({ type: 'approve', taskId, by }),
    reject: (taskId, reason) => actor.send({ type: 'reject', taskId, reason }),
    cancel: (reason) => actor.send({ type: 'cancel', reason }),
    stop() {
      sub.unsubscribe()
      actor.stop()
    },
  }
  void done.then(() => sub.unsubscribe())
  log.info({ resumed }, resumed ? 'resuming the unfinished run' : 'starting a new run')
  actor.send(resumed ? { type: 'resume' } : { type: 'start' })
  return handle
}
