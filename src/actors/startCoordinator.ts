import { type Body, isFinalTaskState, type Task, type TaskRecord } from '../bus/catalogue.ts'
import type { Bus, Reply, Subscription } from '../bus/createBus.ts'
import { envelope, newId } from '../bus/envelope.ts'
import { subject } from '../bus/subjects.ts'
import {
  type CoordinatorEvent,
  type CoordinatorInput,
  coordinatorDeadline,
  coordinatorMachine,
  getTask,
  listAgents,
  listTasks,
} from '../machines/coordinatorMachine.ts'
import type { Clock } from './clock.ts'
import { systemClock } from './clock.ts'
import type { Logger } from './createLogger.ts'
import { UnknownAgentError, UnknownTaskError, UnsupportedMessageError } from './errors.ts'
import { type HostedActor, hostMachine } from './hostMachine.ts'
import { publishBatch } from './publishBatch.ts'
import { type AllocatorHandle, startAllocator } from './startAllocator.ts'

/** A coordinator event as the handlers make it: `now` is stamped when it arrives. */
type InEvent = CoordinatorEvent extends infer E
  ? E extends { now: number }
    ? Omit<E, 'now'> & { now?: number }
    : never
  : never

export interface CoordinatorOptions {
  bus: Bus
  log: Logger
  clock?: Clock
  id?: string
  config?: CoordinatorInput
  inspect?: Parameters<typeof hostMachine>[0]['inspect']
}

export interface CoordinatorHandle {
  readonly id: string
  readonly actor: HostedActor<typeof coordinatorMachine>
  readonly allocator: AllocatorHandle
  stop(): Promise<void>
}

/**
 * Runs the coordinator on a bus: serves `hive.<ns>.svc.coordinator` (a queue group, so clients
 * and agents need not know which node hosts it), listens to heartbeats, and turns the machine's
 * emitted events into messages to agents, replies to waiting submitters and broadcast events.
 */
export function startCoordinator(o: CoordinatorOptions): CoordinatorHandle {
  const { bus } = o
  const clock = o.clock ?? systemClock
  const id = o.id ?? 'coordinator'
  const from = `coordinator.${id}`
  const ns = bus.ns
  const log = o.log.child({ actor: from })
  // Who waits for each task's final record: the reply of a `task.run`, or the mailbox subject a
  // `task.run.batch` named.
  const waiters = new Map<string, (Reply | string)[]>()
  const addWaiter = (taskId: string, w: Reply | string) => append(waiters, taskId, w)

  const toAgent = (agentId: string) => subject(ns, { kind: 'mailbox', actor: 'agent', id: agentId })
  const publish = (subj: string, msg: Parameters<Bus['publish']>[1]) => {
    try {
      bus.publish(subj, msg)
    } catch (err) {
      log.warn({ err, subject: subj }, 'publish failed')
    }
  }
  // Broadcast events wait here until the end of the step that made them, then leave as one
  // `event.batch` (or as their own message when a step made only one): at 64 tasks in flight a
  // step makes tens of them, and each message costs the publisher and the server alike.
  type EventItem = Body<'event.batch'>['items'][number]
  const eventsOut: EventItem[] = []
  const batchSubject = subject(ns, { kind: 'event', actor: 'batch', id, event: 'events' })
  const event = (actor: string, actorId: string, name: string, data?: unknown) => {
    eventsOut.push({
      subject: subject(ns, { kind: 'event', actor, id: actorId, event: name }),
      type: 'event',
      body: { actor, id: actorId, event: name, data },
    })
    scheduleOut()
  }
  const oneEvent = (item: EventItem) =>
    publish(
      item.subject,
      item.type === 'event'
        ? envelope('event', item.body, { from, corr: item.body.actor === 'task' ? item.body.id : undefined })
        : envelope('task.done', item.body, { from, corr: item.body.task_id }),
    )
  const flushEvents = () => {
    if (eventsOut.length === 0) return
    const items = eventsOut.splice(0)
    try {
      publishBatch(bus, batchSubject, items, oneEvent, (all) =>
        envelope('event.batch', { items: all }, { from }),
      )
    } catch (err) {
      log.warn({ err, subject: batchSubject }, 'publish failed')
    }
  }

  /**
   * Answers a waiting submitter (a request's reply, or a publish to a batch sender's mailbox); a
   * record too large for the bus goes without the task's input.
   */
  const replyDone = (reply: Reply, record: TaskRecord) => {
    try {
      reply(envelope('task.done', record, { from, corr: record.task_id }))
    } catch (err) {
      log.warn({ err, task: record.task_id }, 'task.done reply too large; sending it without the task spec')
      try {
        const { input: _i, ...task } = record.task
        reply(envelope('task.done', { ...record, task }, { from, corr: record.task_id }))
      } catch (err2) {
        log.error({ err: err2, task: record.task_id }, 'cannot reply to a waiting submitter')
      }
    }
  }

  // Assignments leave per agent at the end of the step that made them: one `task.assign.batch`
  // message for all of an agent's new work instead of one message per task.
  const outbox = new Map<string, { task: Task; attempt: number }[]>()
  let outScheduled = false
  let stepping = false
  const sendAssigns = (agentId: string, items: { task: Task; attempt: number }[]) => {
    const to = toAgent(agentId)
    try {
      publishBatch(
        bus,
        to,
        items,
        (it) => publish(to, envelope('task.assign', it, { from, corr: it.task.task_id })),
        (all) => envelope('task.assign.batch', { items: all }, { from }),
      )
    } catch (err) {
      log.warn({ err, agent: agentId }, 'publish failed')
    }
  }
  /** Sends an agent's waiting assignments now (before anything else goes to it, to keep order). */
  const flushAgent = (agentId: string) => {
    const items = outbox.get(agentId)
    if (items === undefined) return
    outbox.delete(agentId)
    sendAssigns(agentId, items)
  }
  // Final records for `task.run.batch` senders wait here until the end of the pass, then go to
  // each sender's mailbox as one `task.done.batch`.
  const doneOut = new Map<string, TaskRecord[]>()
  const notify = (to: string, record: TaskRecord) => append(doneOut, to, record)
  const flushOut = () => {
    outScheduled = false
    flushEvents()
    for (const agentId of [...outbox.keys()]) flushAgent(agentId)
    for (const [to, items] of doneOut) {
      try {
        publishBatch(
          bus,
          to,
          items,
          (r) => replyDone((m) => bus.publish(to, m), r),
          (all) => envelope('task.done.batch', { items: all }, { from }),
        )
      } catch (err) {
        log.warn({ err, subject: to }, 'could not notify a submitter; its poll will find the records')
      }
    }
    doneOut.clear()
  }
  const scheduleOut = () => {
    // Inside a step the step sends them; after a timer's tick, the end of this pass does.
    if (!stepping && !outScheduled) {
      outScheduled = true
      queueMicrotask(flushOut)
    }
  }

  // Events for the actor wait here until the end of the current delivery pass (a microtask),
  // then go in as one `batch` transition: everything one socket read brought costs one XState
  // step, and its assignments leave together. Each event keeps the time it arrived.
  let inbox: CoordinatorEvent[] = []
  let inScheduled = false
  const flushIn = () => {
    inScheduled = false
    if (inbox.length === 0) return
    const events = inbox
    inbox = []
    stepping = true
    try {
      if (events.length === 1) actor.send(events[0] as never)
      else actor.send({ type: 'batch', events })
    } finally {
      stepping = false
    }
    flushOut()
  }
  const send = (ev: InEvent) => {
    inbox.push({ ...ev, now: ev.now ?? clock.now() } as CoordinatorEvent)
    if (!inScheduled) {
      inScheduled = true
      queueMicrotask(flushIn)
    }
  }

  const actor = hostMachine({
    machine: coordinatorMachine,
    input: o.config ?? {},
    kind: 'coordinator',
    id,
    bus,
    log,
    clock,
    inspect: o.inspect,
    deadline: (s) => coordinatorDeadline(s.context),
    // A coordinator that can no longer take events must not keep accepting work: stop serving, so
    // requests fail fast (or reach another coordinator in the queue group) instead of vanishing.
    onGiveUp: () => {
      for (const s of subs) s.unsubscribe()
      waiters.clear()
    },
    onEmit(ev) {
      switch (ev.type) {
        case 'assign': {
          const { agentId, task, attempt } = ev as unknown as { agentId: string; task: Task; attempt: number }
          append(outbox, agentId, { task, attempt })
          scheduleOut()
          break
        }
        case 'cancel': {
          const { agentId, taskId, attempt } = ev as unknown as {
            agentId: string
            taskId: string
            attempt: number
          }
          flushAgent(agentId)
          publish(
            toAgent(agentId),
            envelope('task.cancel', { task_id: taskId, attempt }, { from, corr: taskId }),
          )
          break
        }
        case 'taskDone': {
          const record = (ev as unknown as { record: TaskRecord }).record
          const ws = waiters.get(record.task_id)
          if (ws) {
            waiters.delete(record.task_id)
            for (const w of ws) {
              if (typeof w === 'string') notify(w, record)
              else replyDone(w, record)
            }
            scheduleOut()
          }
          eventsOut.push({
            subject: subject(ns, { kind: 'event', actor: 'task', id: record.task_id, event: 'done' }),
            type: 'task.done',
            body: record,
          })
          scheduleOut()
          break
        }
        case 'taskEvent': {
          const e = ev as unknown as { taskId: string; event: string; data?: unknown }
          event('task', e.taskId, e.event, e.data)
          break
        }
        case 'agentEvent': {
          const e = ev as unknown as { agentId: string; event: string; data?: unknown }
          event('agent', e.agentId, e.event, e.data)
          break
        }
        case 'allocate':
        case 'release':
          allocator.fromCoordinator(ev)
          break
        default:
          log.debug({ ev }, 'unhandled emitted event')
      }
    },
  })
  // The allocator lives beside the coordinator: it guards the resources of the same agents.
  const allocator = startAllocator({ bus, log, clock, inspect: o.inspect, answer: (a) => actor.send(a) })

  const now = () => clock.now()
  const subs: Subscription[] = []
  subs.push(
    bus.subscribe(
      subject(ns, { kind: 'service', service: 'coordinator' }),
      (msg, reply) => {
        // Queries see every event that arrived before them.
        const ctx = () => {
          flushIn()
          return actor.getSnapshot().context
        }
        const ack = () => reply?.(envelope('ack', { ok: true, id: msg.id }, { from, corr: msg.corr }))
        switch (msg.type) {
          case 'task.submit':
          case 'task.run': {
            const task = { ...msg.body, task_id: msg.body.task_id ?? newId() }
            // Not flushed first: a copy of this task still in the inbox is a duplicate the machine
            // ignores, and a result there that ends it answers the waiter registered here.
            const existing = getTask(actor.getSnapshot().context, task.task_id)
            if (msg.type === 'task.run' && reply) {
              if (existing && isFinalTaskState(existing.status)) {
                reply(envelope('task.done', existing, { from, corr: task.task_id }))
                return
              }
              addWaiter(task.task_id, reply)
            } else reply?.(envelope('task.accepted', { task_id: task.task_id }, { from, corr: task.task_id }))
            if (!existing) send({ type: 'task.submit', task })
            return
          }
          case 'task.run.batch': {
            const to = msg.body.notify
            const snap = actor.getSnapshot().context
            for (const spec of msg.body.items) {
              const task = { ...spec, task_id: spec.task_id ?? newId() }
              const existing = getTask(snap, task.task_id)
              if (existing && isFinalTaskState(existing.status)) {
                notify(to, existing)
                scheduleOut()
                continue
              }
              addWaiter(task.task_id, to)
              if (!existing) send({ type: 'task.submit', task })
            }
            ack()
            return
          }
          case 'task.result':
            send({ type: 'task.result', result: msg.body })
            ack()
            return
          case 'task.result.batch':
            for (const result of msg.body.items) send({ type: 'task.result', result })
            ack()
            return
          case 'task.rejected':
            send({
              type: 'task.rejected',
              taskId: msg.body.task_id,
              attempt: msg.body.attempt,
              agentId: msg.body.agent_id,
              reason: msg.body.reason,
            })
            ack()
            return
          case 'task.status': {
            const rec = getTask(ctx(), msg.body.task_id)
            if (!rec) throw new UnknownTaskError(msg.body.task_id)
            reply?.(envelope('task.status.result', { task: rec }, { from, corr: msg.corr }))
            return
          }
          case 'task.list':
            reply?.(
              envelope(
                'task.list.result',
                // Unbounded lists outgrow the bus's payload limit: without ids, at most 1000.
                {
                  tasks: listTasks(ctx(), {
                    ...msg.body,
                    limit: msg.body.limit ?? (msg.body.task_ids ? undefined : 1000),
                  }),
                },
                { from, corr: msg.corr },
              ),
            )
            return
          case 'task.cancel':
            if (!getTask(ctx(), msg.body.task_id)) throw new UnknownTaskError(msg.body.task_id)
            send({ type: 'task.cancel', taskId: msg.body.task_id })
            ack()
            return
          case 'agent.register':
            allocator.agentCapacity(msg.body)
            send({ type: 'agent.register', info: msg.body })
            ack()
            return
          case 'agent.deregister':
            send({ type: 'agent.deregister', agentId: msg.body.agent_id })
            ack()
            return
          case 'agent.list':
            reply?.(
              envelope(
                'agent.list.result',
                { agents: listAgents(ctx(), now(), msg.body) },
                { from, corr: msg.corr },
              ),
            )
            return
          case 'agent.status': {
            const agent = listAgents(ctx(), now()).find((a) => a.agent_id === msg.body.agent_id)
            if (!agent) throw new UnknownAgentError(msg.body.agent_id)
            reply?.(envelope('agent.status.result', { agent }, { from, corr: msg.corr }))
            return
          }
          case 'agent.drain': {
            if (!listAgents(ctx(), now()).some((a) => a.agent_id === msg.body.agent_id)) {
              throw new UnknownAgentError(msg.body.agent_id)
            }
            send({ type: 'agent.drain', agentId: msg.body.agent_id })
            flushIn()
            flushAgent(msg.body.agent_id)
            publish(toAgent(msg.body.agent_id), envelope('agent.drain', msg.body, { from }))
            ack()
            return
          }
          case 'ping':
            reply?.(envelope('pong', { node: id }, { from, corr: msg.corr }))
            return
          default:
            throw new UnsupportedMessageError(msg.type, 'the coordinator')
        }
      },
      { queue: 'coordinator' },
    ),
  )
  subs.push(
    bus.subscribe(subject(ns, { kind: 'heartbeat', id: '*' }), (msg) => {
      if (msg.type !== 'agent.heartbeat') return
      const hb = msg.body
      flushIn()
      if (!listAgents(actor.getSnapshot().context, now()).some((a) => a.agent_id === hb.agent_id)) {
        publish(
          toAgent(hb.agent_id),
          envelope('agent.reregister', { reason: 'unknown to the coordinator' }, { from }),
        )
        return
      }
      send({ type: 'agent.heartbeat', agentId: hb.agent_id, load: hb.load, running: hb.running })
    }),
  )

  return {
    id,
    actor,
    allocator,
    async stop() {
      for (const s of subs) s.unsubscribe()
      flushIn()
      flushOut()
      waiters.clear()
      actor.stop()
      allocator.stop()
    },
  }
}

/** Adds `value` to the list kept under `key`. */
function append<K, V>(lists: Map<K, V[]>, key: K, value: V): void {
  const list = lists.get(key)
  if (list) list.push(value)
  else lists.set(key, [value])
}
