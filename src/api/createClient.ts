import { type AgentView, isFinalTaskState, type TaskRecord, type TaskSpec } from '../bus/catalogue.ts'
import { type Bus, expectType } from '../bus/createBus.ts'
import type { AnyEnvelope, Envelope } from '../bus/envelope.ts'
import { envelope, newId } from '../bus/envelope.ts'
import { HiveError, RequestTimeoutError } from '../bus/errors.ts'
import { createNatsBus, type NatsOptions } from '../bus/NatsBus.ts'
import { subject, subjectMatches } from '../bus/subjects.ts'

/** Most tasks in one `task.run.batch`. */
const RUN_BATCH = 256

export interface ClientOptions {
  /** NATS servers of a running hive (or pass `bus` for an in-process hive). */
  servers?: string | string[]
  nats?: Omit<NatsOptions, 'servers'>
  bus?: Bus
  ns?: string
  /** Timeout of each request to the coordinator (default 5000 ms). */
  timeoutMs?: number
  /** How often a waiting submit asks for results it may have missed (default 2000 ms). */
  pollMs?: number
}

export interface BusEvent {
  subject: string
  msg: AnyEnvelope
}

export interface HiveClient {
  readonly bus: Bus
  /** Submits a task; with `wait` resolves with its final record, else with its id. */
  submit(task: TaskSpec, opts: { wait: true; timeoutMs?: number }): Promise<TaskRecord>
  submit(task: TaskSpec, opts?: { wait?: false }): Promise<{ task_id: string }>
  status(taskId: string): Promise<TaskRecord>
  listTasks(filter?: {
    status?: TaskRecord['status']
    task_ids?: string[]
    limit?: number
  }): Promise<TaskRecord[]>
  cancel(taskId: string): Promise<void>
  listAgents(filter?: {
    agent_type?: string
    available?: boolean
    has_capacity?: boolean
  }): Promise<AgentView[]>
  agentStatus(agentId: string): Promise<AgentView>
  drainAgent(agentId: string): Promise<void>
  /** Bus events as an async iterator; `pattern` is relative to `hive.<ns>.evt.` unless it starts with `hive.`. */
  events(pattern?: string): AsyncIterableIterator<BusEvent>
  close(): Promise<void>
}

/**
 * Connects to a running hive.
 *
 * @example
 * const client = await createClient({ servers: 'nats://127.0.0.1:4222' })
 * const done = await client.submit({ task_type: 'lint', required_capabilities: ['node'] }, { wait: true })
 */
export async function createClient(o: ClientOptions = {}): Promise<HiveClient> {
  const ns = o.ns ?? o.bus?.ns ?? 'default'
  const own = !o.bus
  let bus: Bus
  if (o.bus) bus = o.bus
  else if (o.servers)
    bus = await createNatsBus({ ...o.nats, servers: o.servers, ns, node: `client-${newId()}` })
  else throw new HiveError('createClient needs `servers` (a running hive) or `bus` (an in-process hive)')
  const timeoutMs = o.timeoutMs ?? 5000
  const pollMs = o.pollMs ?? 2000
  const svc = subject(ns, { kind: 'service', service: 'coordinator' })
  const from = bus.node

  const ask = (msg: Parameters<Bus['publish']>[1], t = timeoutMs) => bus.request(svc, msg, { timeoutMs: t })

  // Waiting submits: the reply of `task.run` resolves them; a poller catches replies lost to a
  // server restart, and resubmits (idempotent by task id) tasks the coordinator never saw.
  interface Waiter {
    task: TaskSpec & { task_id: string }
    /** Everyone waiting for this task id (the same id may be submitted twice). */
    settlers: { resolve(r: TaskRecord): void; reject(e: Error): void }[]
  }
  const waiting = new Map<string, Waiter>()
  let poller: NodeJS.Timeout | undefined
  const stopPollerIfIdle = () => {
    if (waiting.size === 0 && poller) {
      clearInterval(poller)
      poller = undefined
    }
  }
  const finish = (taskId: string, how: (s: Waiter['settlers'][number]) => void) => {
    const w = waiting.get(taskId)
    if (!w) return
    waiting.delete(taskId)
    for (const s of w.settlers) how(s)
    stopPollerIfIdle()
  }
  const settle = (rec: TaskRecord) => finish(rec.task_id, (s) => s.resolve(rec))
  const poll = async () => {
    const ids = [...waiting.keys()]
    if (ids.length === 0) return
    try {
      const reply = expectType(
        await ask(envelope('task.list', { task_ids: ids }, { from })),
        'task.list.result',
      )
      const seen = new Set<string>()
      for (const rec of reply.body.tasks) {
        seen.add(rec.task_id)
        if (isFinalTaskState(rec.status)) settle(rec)
      }
      for (const id of ids) {
        const w = waiting.get(id)
        if (w && !seen.has(id)) run(w.task)
      }
    } catch {
      // The hive is unreachable right now; the next poll tries again.
    }
  }
  /** Sends one task as `task.run`: the reply is its final record. */
  const runOne = (task: TaskSpec & { task_id: string }) => {
    const t = (task.timeout ?? 24 * 3600) * 1000 * ((task.retry?.max_retries ?? 0) + 1) + 60_000
    // Bad input is final; transport trouble is left to the poller. Nothing here may throw: this
    // runs from a timer, where a throw would end the process.
    const fail = (err: HiveError) => {
      if (!err.retryable) finish(task.task_id, (s) => s.reject(err))
    }
    let sent: Promise<AnyEnvelope>
    try {
      sent = ask(envelope('task.run', task, { from, corr: task.task_id }), t)
    } catch (err) {
      // Refused before sending (a task too large for the bus, a closed connection).
      fail(err instanceof HiveError ? err : new HiveError(String(err)))
      return
    }
    sent.then((reply) => {
      if (reply.type === 'task.done') settle(reply.body)
      else
        fail(new HiveError(`expected a task.done reply, got ${reply.type}`, { code: 'UNEXPECTED_MESSAGE' }))
    }, fail)
  }

  // Tasks to run wait here for the end of the turn, then go as one `task.run.batch` naming this
  // client's mailbox, where their final records arrive in batches: a client keeping many tasks in
  // flight sends and receives one message per handful of tasks rather than two per task.
  const mailbox = subject(ns, { kind: 'mailbox', actor: 'client', id: newId() })
  let mailboxSub: ReturnType<Bus['subscribe']> | undefined
  let toRun: (TaskSpec & { task_id: string })[] = []
  const flushRuns = () => {
    const items = toRun
    toRun = []
    try {
      if (items.length > 1)
        mailboxSub ??= bus.subscribe(mailbox, (msg) => {
          if (msg.type === 'task.done.batch') for (const rec of msg.body.items) settle(rec)
          else if (msg.type === 'task.done') settle(msg.body)
        })
    } catch {
      // The bus is closing: each request below fails on its own, and rejects its submit.
    }
    if (items.length === 1 || mailboxSub === undefined) {
      for (const task of items) runOne(task)
      return
    }
    for (let i = 0; i < items.length; i += RUN_BATCH) {
      const chunk = items.slice(i, i + RUN_BATCH)
      // One bad task refuses the whole batch, and a batch may pass the payload limit: then each
      // goes alone and gets its own answer. Transport trouble is left to the poller, which
      // resubmits what the coordinator never saw.
      const oneByOne = () => {
        for (const task of chunk) runOne(task)
      }
      let sent: Promise<AnyEnvelope>
      try {
        sent = ask(envelope('task.run.batch', { items: chunk, notify: mailbox }, { from }))
      } catch {
        oneByOne()
        continue
      }
      sent.then(
        () => undefined, // an ack; the records come to the mailbox
        (err: HiveError) => {
          if (!err.retryable) oneByOne()
        },
      )
    }
  }
  const run = (task: TaskSpec & { task_id: string }) => {
    if (toRun.length === 0) setImmediate(flushRuns)
    toRun.push(task)
  }

  const client: HiveClient = {
    bus,
    submit(spec: TaskSpec, opts: { wait?: boolean; timeoutMs?: number } = {}): any {
      const task = { ...spec, task_id: spec.task_id ?? newId() }
      if (!opts.wait) {
        return ask(envelope('task.submit', task, { from, corr: task.task_id })).then((r) => ({
          task_id: expectType(r, 'task.accepted').body.task_id,
        }))
      }
      return new Promise<TaskRecord>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined
        const settler = {
          resolve(r: TaskRecord) {
            if (timer) clearTimeout(timer)
            resolve(r)
          },
          reject(e: Error) {
            if (timer) clearTimeout(timer)
            reject(e)
          },
        }
        const known = waiting.get(task.task_id)
        if (known) known.settlers.push(settler)
        else waiting.set(task.task_id, { task, settlers: [settler] })
        if (opts.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            const w = waiting.get(task.task_id)
            if (!w) return
            w.settlers = w.settlers.filter((x) => x !== settler)
            if (w.settlers.length === 0) waiting.delete(task.task_id)
            stopPollerIfIdle()
            reject(new RequestTimeoutError(`task ${task.task_id}`, opts.timeoutMs!))
          }, opts.timeoutMs)
        }
        poller ??= setInterval(() => void poll(), pollMs)
        if (!known) run(task)
      })
    },
    async status(taskId) {
      return expectType(
        await ask(envelope('task.status', { task_id: taskId }, { from })),
        'task.status.result',
      ).body.task
    },
    async listTasks(filter = {}) {
      return expectType(await ask(envelope('task.list', filter, { from })), 'task.list.result').body.tasks
    },
    async cancel(taskId) {
      expectType(await ask(envelope('task.cancel', { task_id: taskId }, { from })), 'ack')
    },
    async listAgents(filter = {}) {
      return expectType(await ask(envelope('agent.list', filter, { from })), 'agent.list.result').body.agents
    },
    async agentStatus(agentId) {
      return expectType(
        await ask(envelope('agent.status', { agent_id: agentId }, { from })),
        'agent.status.result',
      ).body.agent
    },
    async drainAgent(agentId) {
      expectType(await ask(envelope('agent.drain', { agent_id: agentId }, { from })), 'ack')
    },
    events(pattern = '>') {
      const full = pattern.startsWith('hive.') ? pattern : `hive.${ns}.evt.${pattern}`
      const queue: BusEvent[] = []
      let wake: (() => void) | undefined
      let done = false
      const unpack = (msg: Envelope<'event.batch'>) => {
        // A step's events in one message: hand out those the pattern matches, one by one.
        msg.body.items.forEach((item, i) => {
          if (!subjectMatches(full, item.subject)) return
          const corr =
            item.type === 'task.done'
              ? item.body.task_id
              : item.body.actor === 'task'
                ? item.body.id
                : undefined
          const one = { ...msg, id: `${msg.id}-${i}`, type: item.type, corr, body: item.body } as AnyEnvelope
          queue.push({ subject: item.subject, msg: one })
        })
        wake?.()
      }
      // Batches come on their own subjects, which the pattern may not match: listen there too,
      // in the pattern's namespace (`hive.*.…` listens to every namespace's batches).
      const patternNs = full.split('.')[1]
      const batchNs = patternNs === undefined || patternNs === '>' ? ns : patternNs
      const batches = `hive.${batchNs}.evt.batch.*.>`
      const ownBatchSub = !(full.endsWith('>') && subjectMatches(full, `hive.${batchNs}.evt.batch.x.x`))
      const subs = [
        bus.subscribe(full, (msg, _reply, subj) => {
          if (msg.type !== 'event.batch') {
            queue.push({ subject: subj, msg })
            wake?.()
          } else if (!ownBatchSub) unpack(msg)
        }),
      ]
      if (ownBatchSub) {
        subs.push(bus.subscribe(batches, (msg) => void (msg.type === 'event.batch' && unpack(msg))))
      }
      const it: AsyncIterableIterator<BusEvent> = {
        [Symbol.asyncIterator]: () => it,
        async next() {
          while (!done && queue.length === 0) await new Promise<void>((r) => (wake = r))
          if (queue.length) return { value: queue.shift()!, done: false }
          return { value: undefined, done: true }
        },
        async return() {
          done = true
          for (const sub of subs) sub.unsubscribe()
          wake?.()
          return { value: undefined, done: true }
        },
      }
      return it
    },
    async close() {
      if (poller) clearInterval(poller)
      mailboxSub?.unsubscribe()
      if (own) await bus.close()
    },
  }
  return client
}
