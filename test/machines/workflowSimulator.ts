/**
 * A simulated coordinator, executor and approver around a workflow run actor, for model-based
 * property tests. Everything random comes from the scenario (outcomes per attempt, approval
 * decisions) and a seeded generator (which pending thing happens next, how much time passes),
 * so the same scenario replays identically — with or without a crash in the middle.
 */
import { type Actor, createActor } from 'xstate'
import {
  type WorkflowMachine,
  workflowDeadline,
  workflowSummary,
} from '../../src/machines/workflowMachine.ts'
import type { WorkflowSummary } from '../../src/machines/workflowSummary.ts'
import type { WorkflowEmitted, WorkflowEvent } from '../../src/machines/workflowTypes.ts'
import type { WorkflowDef } from '../../src/schema/workflow.ts'

export type Outcome = 'success' | 'failed' | 'timeout'

export interface Scenario {
  def: WorkflowDef
  /** Outcome of attempt n (1-based) at index n-1; attempts past the end succeed. */
  outcomes: Record<string, Outcome[]>
  /** For gated tasks: approve (true) or reject. */
  approvals: Record<string, boolean>
  /** The user cancels the run at this step. */
  cancelAtStep?: number
  seed: number
}

/**
 * `dedupe`: the coordinator ignores a resubmitted task_id. `rerun`: it runs it again, so its
 * result comes back twice. `lostEmits`: the submissions of the step before the crash never
 * reached the coordinator (the host died between persisting and publishing). `replay`: the
 * latest persisted snapshot is `lag` steps old (a coalescing writer had not flushed), and the
 * bus redelivers the events of those steps, as a durable consumer redelivers unacked messages.
 */
export interface Crash {
  atStep: number
  mode: 'dedupe' | 'rerun' | 'lostEmits' | 'replay'
  lag?: number
}

export interface SimResult {
  /** Steps taken after `start` (a crash at a later step never happened). */
  steps: number
  done: boolean
  value: unknown
  summary: WorkflowSummary
  runFinished: Extract<WorkflowEmitted, { type: 'runFinished' }>[]
  /** Distinct attempt numbers submitted, per task. */
  attempts: Record<string, number[]>
  /** Submissions made while a dependency had not succeeded, a `when` was false or a gate was shut. */
  violations: string[]
  /** Attempts still out at the end that were never cancelled. */
  orphans: string[]
}

const MAX_STEPS = 400

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface InFlight {
  taskId: string
  attempt: number
  submittedAt: number
  copies: number
}

export function simulate(machine: WorkflowMachine, s: Scenario, crash?: Crash): SimResult {
  const rng = mulberry32(s.seed)
  const byId = new Map(s.def.tasks.map((t) => [t.task_id, t]))
  let clock = 0
  const inFlight = new Map<string, InFlight>()
  const awaiting = new Set<string>()
  const approved = new Set<string>()
  const cancelled = new Set<string>()
  const attempts: Record<string, Set<number>> = {}
  const runFinished: SimResult['runFinished'] = []
  const violations: string[] = []
  let stepSubmits: Extract<WorkflowEmitted, { type: 'submit' }>[] = []
  let lastStepSubmits: typeof stepSubmits = []
  let resubmitMode: Crash['mode'] = 'dedupe'
  // Every task_id the coordinator has accepted: submitting one again is a no-op (idempotent submit).
  const known = new Set<string>()
  const decided = new Set<string>()
  let older: unknown
  let replayLog: WorkflowEvent[] | undefined

  const onEmit = (e: WorkflowEmitted) => {
    switch (e.type) {
      case 'submit': {
        stepSubmits.push(e)
        const seen = attempts[e.taskId] ?? new Set<number>()
        seen.add(e.attempt)
        attempts[e.taskId] = seen
        const out = inFlight.get(e.spec.task_id)
        if (out) {
          if (resubmitMode === 'rerun') out.copies = 2
        } else if (!known.has(e.spec.task_id)) {
          known.add(e.spec.task_id)
          inFlight.set(e.spec.task_id, {
            taskId: e.taskId,
            attempt: e.attempt,
            submittedAt: clock,
            copies: 1,
          })
        }
        break
      }
      case 'cancelTask':
        cancelled.add(e.attemptId)
        inFlight.delete(e.attemptId)
        break
      case 'approvalNeeded':
        if (!decided.has(e.taskId)) awaiting.add(e.taskId)
        break
      case 'runFinished':
        runFinished.push(e)
        break
      case 'taskChanged':
        break
    }
  }

  const input = { def: s.def, runId: 'r', now: clock }
  let actor: Actor<WorkflowMachine> = createActor(machine, { input })
  actor.on('*', onEmit as never)
  actor.start()

  const limit = Math.max(1, s.def.max_parallel)
  const send = (e: WorkflowEvent) => {
    replayLog?.push(e)
    stepSubmits = []
    actor.send(e)
    const ctx = actor.getSnapshot().context
    const running = Object.values(ctx.tasks).filter((r) => r.status === 'running').length
    if (running > limit) violations.push(`${running} tasks running, max_parallel ${limit}`)
    for (const sub of stepSubmits) {
      const t = byId.get(sub.taskId)!
      for (const d of t.depends_on) {
        if (ctx.tasks[d].status !== 'success')
          violations.push(`${sub.taskId} submitted while ${d} ${ctx.tasks[d].status}`)
      }
      if (t.when?.includes('false')) violations.push(`${sub.taskId} submitted although its when is false`)
      const from = (sub.spec.input as { from?: unknown } | undefined)?.from
      if (t.depends_on.length > 0 && from !== ctx.tasks[t.depends_on[0]].output)
        violations.push(`${sub.taskId} got input ${String(from)}, not the output of ${t.depends_on[0]}`)
      if (t.approval?.required && !approved.has(sub.taskId))
        violations.push(`${sub.taskId} submitted unapproved`)
    }
    lastStepSubmits = stepSubmits
  }

  send({ type: 'start', now: clock })
  let step = 0
  for (; step < MAX_STEPS && actor.getSnapshot().status !== 'done'; step++) {
    if (crash?.mode === 'replay' && step === Math.max(0, crash.atStep - (crash.lag ?? 1))) {
      older = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))
      replayLog = []
    }
    if (crash && step === crash.atStep) {
      if (crash.mode === 'lostEmits') {
        for (const sub of lastStepSubmits) {
          inFlight.delete(sub.spec.task_id)
          known.delete(sub.spec.task_id)
        }
      }
      const saved = crash.mode === 'replay' ? older : JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))
      actor.stop()
      actor = createActor(machine, { snapshot: saved as never, input })
      actor.on('*', onEmit as never)
      actor.start()
      const redeliver = replayLog ?? []
      replayLog = undefined
      for (const e of redeliver) send(e)
      resubmitMode = crash.mode
      send({ type: 'resume', now: clock })
      resubmitMode = 'dedupe'
      if (actor.getSnapshot().status === 'done') break
    }
    if (step === s.cancelAtStep) {
      send({ type: 'cancel', reason: 'user', now: clock })
      continue
    }
    const results = [...inFlight.keys()].sort()
    const gates = [...awaiting].sort()
    // Ticks get a quarter of the choices when anything else is pending.
    const others = results.length + gates.length
    const r0 = rng()
    const pick = others === 0 || r0 < 0.25 ? others : Math.floor(((r0 - 0.25) / 0.75) * others)
    clock += Math.floor(rng() * 2000)
    if (pick < results.length) {
      const id = results[pick]
      const f = inFlight.get(id)!
      inFlight.delete(id)
      const status = s.outcomes[f.taskId]?.[f.attempt - 1] ?? 'success'
      for (let c = 0; c < f.copies && actor.getSnapshot().status !== 'done'; c++) {
        send({
          type: 'task.result',
          taskId: f.taskId,
          attempt: f.attempt,
          status,
          output: `${f.taskId}@${f.attempt}`,
          ...(status === 'success' ? {} : { error: `${status} on attempt ${f.attempt}` }),
          agent_id: `agent-${f.attempt % 3}`,
          started_at: f.submittedAt,
          finished_at: clock,
          now: clock,
        })
      }
    } else if (pick < results.length + gates.length) {
      const taskId = gates[pick - results.length]
      awaiting.delete(taskId)
      decided.add(taskId)
      if (s.approvals[taskId]) {
        approved.add(taskId)
        send({ type: 'approve', taskId, by: 'tester', now: clock })
      } else {
        send({ type: 'reject', taskId, reason: 'no', now: clock })
      }
    } else {
      // Time passes; when nothing else can happen, it passes up to whatever is due next.
      if (results.length + gates.length === 0) {
        clock = Math.max(clock, workflowDeadline(actor.getSnapshot().context) ?? clock)
      }
      send({ type: 'tick', now: clock })
    }
  }
  const snap = actor.getSnapshot()
  return {
    steps: step,
    done: snap.status === 'done',
    value: snap.value,
    summary: workflowSummary(snap),
    runFinished,
    attempts: Object.fromEntries(Object.entries(attempts).map(([k, v]) => [k, [...v].sort((a, b) => a - b)])),
    violations,
    orphans: [...inFlight.keys()].filter((id) => !cancelled.has(id)),
  }
}
