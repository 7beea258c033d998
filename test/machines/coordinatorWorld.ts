/**
 * A simulated hive around a coordinator actor, for model-based tests: agents that run tasks
 * (succeeding, failing or hanging, sometimes answering twice), crash, go silent and come back;
 * every message to the coordinator goes through a fast-check scheduler, which reorders them.
 * The world records every violation of the coordinator's invariants it sees.
 */
import type fc from 'fast-check'
import { createActor } from 'xstate'
import {
  type CoordinatorEmitted,
  type CoordinatorEvent,
  type CoordinatorMachine,
  getTask,
} from '../../src/machines/coordinatorMachine.ts'
import { agentFitsTask } from '../../src/machines/dispatch.ts'
import type { Task, TaskResult } from '../../src/schema/domain.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
type EventIn = DistributiveOmit<CoordinatorEvent, 'now'>

export interface SimAgentSpec {
  id: string
  caps: string[]
  maxTasks: number
}

interface SimAgent extends SimAgentSpec {
  up: boolean
  /** Heartbeats are lost (a partition): it keeps working, and its results arrive late. */
  silent: boolean
  reliable: boolean
  running: Map<string, number>
}

/** mulberry32: a tiny seeded PRNG, so a failing run replays exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const FINAL = new Set(['success', 'failed', 'timeout', 'cancelled'])

export class World {
  now = 0
  readonly violations: string[] = []
  readonly submitted: Task[] = []
  readonly done = new Map<string, number>()
  private readonly sims = new Map<string, SimAgent>()
  private readonly inflight = new Map<string, { agentId: string; attempt: number }>()
  private readonly perAgent = new Map<string, number>()
  private readonly actor
  private batch: CoordinatorEmitted[] = []
  private readonly rng: () => number

  private readonly s: fc.Scheduler

  constructor(machine: CoordinatorMachine, agents: SimAgentSpec[], s: fc.Scheduler, seed: number) {
    this.s = s
    this.rng = prng(seed)
    for (const a of agents)
      this.sims.set(a.id, { ...a, up: false, silent: false, reliable: false, running: new Map() })
    this.actor = createActor(machine, { input: { heartbeatIntervalMs: 1000, strategy: 'least_loaded' } })
    this.actor.on('*', (e) => this.onEmit(e as CoordinatorEmitted))
    this.actor.start()
  }

  ctx() {
    return this.actor.getSnapshot().context
  }

  /** Sends an event to the coordinator now and checks dispatch order on what it assigned. */
  send(ev: EventIn): void {
    this.batch = []
    this.actor.send({ ...ev, now: this.now } as CoordinatorEvent)
    this.checkPriorityOrder(this.batch)
  }

  /** Schedules a message to the coordinator; the scheduler decides when it arrives. */
  post(label: string, ev: () => EventIn | undefined): void {
    this.s.schedule(Promise.resolve(label)).then(() => {
      const e = ev()
      if (e !== undefined) this.send(e)
    })
  }

  submit(task: Task): void {
    this.submitted.push(task)
    this.send({ type: 'task.submit', task })
  }

  /** The agent's process starts (again): it registers, with nothing running. */
  start(id: string, reliable = false): void {
    const a = this.sims.get(id) as SimAgent
    a.up = true
    a.silent = false
    a.reliable = reliable
    a.running.clear()
    const info = {
      agent_id: id,
      agent_type: 'worker',
      capabilities: a.caps,
      max_tasks: a.maxTasks,
      weight: 50,
    }
    this.post(`register ${id}`, () => (a.up ? { type: 'agent.register', info } : undefined))
  }

  addAgent(spec: SimAgentSpec): void {
    this.sims.set(spec.id, { ...spec, up: false, silent: false, reliable: false, running: new Map() })
  }

  crash(id: string): void {
    const a = this.sims.get(id) as SimAgent
    a.up = false
    a.running.clear()
  }

  silence(id: string): void {
    ;(this.sims.get(id) as SimAgent).silent = true
  }

  /** Time passes: live agents heartbeat (delivered whenever the scheduler says), the coordinator ticks. */
  advance(ms: number, only?: string): void {
    this.now += ms
    for (const a of this.sims.values()) {
      if (!a.up || a.silent || (only !== undefined && a.id !== only)) continue
      const running = [...a.running].map(([task_id, attempt]) => ({ task_id, attempt }))
      this.post(`hb ${a.id}`, () =>
        a.up && !a.silent
          ? { type: 'agent.heartbeat', agentId: a.id, load: running.length, running }
          : undefined,
      )
    }
    this.send({ type: 'tick' })
  }

  cancel(taskId: string): void {
    this.send({ type: 'task.cancel', taskId })
  }

  async deliver(n: number): Promise<void> {
    for (let i = 0; i < n && this.s.count() > 0; i++) await this.s.waitOne()
  }

  async deliverAll(): Promise<void> {
    while (this.s.count() > 0) await this.s.waitOne()
  }

  allDone(): boolean {
    return this.submitted.every((t) => this.done.has(t.task_id))
  }

  /** Counts of what happened, to check that runs exercise the protocol. */
  readonly stats: Record<string, number> = {}

  private onEmit(e: CoordinatorEmitted): void {
    this.batch.push(e)
    const k = e.type === 'taskEvent' || e.type === 'agentEvent' ? e.event : e.type
    this.stats[k] = (this.stats[k] ?? 0) + 1
    switch (e.type) {
      case 'assign': {
        const id = e.task.task_id
        const load = this.perAgent.get(e.agentId) ?? 0
        const max = this.sims.get(e.agentId)?.maxTasks ?? 0
        if (load >= max) this.violations.push(`${e.agentId} over max_tasks ${max} with ${id}`)
        if (this.inflight.has(id)) this.violations.push(`${id} assigned while an attempt is in flight`)
        this.endAttempt(id)
        this.inflight.set(id, { agentId: e.agentId, attempt: e.attempt })
        this.perAgent.set(e.agentId, load + 1)
        this.runOnAgent(e.agentId, id, e.attempt)
        break
      }
      case 'cancel': {
        if (this.inflight.get(e.taskId)?.attempt === e.attempt) this.endAttempt(e.taskId)
        const a = this.sims.get(e.agentId)
        if (a?.running.get(e.taskId) === e.attempt) a.running.delete(e.taskId)
        break
      }
      case 'taskDone': {
        const id = e.record.task_id
        this.done.set(id, (this.done.get(id) ?? 0) + 1)
        if ((this.done.get(id) ?? 0) > 1) this.violations.push(`${id} completed twice`)
        if (!FINAL.has(e.record.status)) this.violations.push(`${id} done with status ${e.record.status}`)
        this.endAttempt(id)
        break
      }
      case 'taskEvent':
        if (e.event === 'retrying' || e.event === 'requeued') this.endAttempt(e.taskId)
        break
    }
  }

  private endAttempt(taskId: string): void {
    const f = this.inflight.get(taskId)
    if (f === undefined) return
    this.inflight.delete(taskId)
    this.perAgent.set(f.agentId, (this.perAgent.get(f.agentId) ?? 1) - 1)
  }

  /** The agent runs the attempt: it answers later (maybe twice), or never. */
  private runOnAgent(agentId: string, taskId: string, attempt: number): void {
    const a = this.sims.get(agentId)
    if (a === undefined || !a.up) return // lost on the way to a crashed agent
    a.running.set(taskId, attempt)
    const r = this.rng()
    if (!a.reliable && r < 0.1) return // hangs
    const status: TaskResult['status'] = a.reliable || r < 0.75 ? 'success' : 'failed'
    const duplicate = this.rng() < 0.25
    this.s.schedule(Promise.resolve(`finish ${taskId}#${attempt}`)).then(() => {
      if (!a.up || a.running.get(taskId) !== attempt) return
      a.running.delete(taskId)
      const result: TaskResult = {
        task_id: taskId,
        attempt,
        agent_id: agentId,
        status,
        output: status === 'success' ? `${taskId}#${attempt}` : undefined,
        started_at: this.now,
        finished_at: this.now,
      }
      this.post(`result ${taskId}#${attempt}`, () => this.deliverResult(result))
      if (duplicate) this.post(`dup ${taskId}#${attempt}`, () => this.deliverResult(result))
    })
  }

  private deliverResult(result: TaskResult): undefined {
    const before = getTask(this.ctx(), result.task_id)
    this.send({ type: 'task.result', result })
    if (before !== undefined && FINAL.has(before.status)) {
      const after = getTask(this.ctx(), result.task_id)
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        this.violations.push(`stale result changed final ${result.task_id}`)
      }
    }
    return undefined
  }

  /** At each dispatch, no ready task that the agent could run waits while a later one takes its slot. */
  private checkPriorityOrder(batch: CoordinatorEmitted[]): void {
    const ctx = this.ctx()
    for (const e of batch) {
      if (e.type !== 'assign') continue
      const agent = ctx.agents[e.agentId]
      const mine = ctx.tasks[e.task.task_id]
      if (agent === undefined || mine === undefined) continue
      for (const id in ctx.tasks) {
        const w = ctx.tasks[id]
        if (w.status !== 'queued' || w.notBefore > this.now || !agentFitsTask(agent, w.task)) continue
        if (
          w.task.priority > mine.task.priority ||
          (w.task.priority === mine.task.priority && w.seq < mine.seq)
        ) {
          this.violations.push(
            `${e.task.task_id} (p${mine.task.priority}) took ${e.agentId} before ready ${id} (p${w.task.priority})`,
          )
        }
      }
    }
  }
}
