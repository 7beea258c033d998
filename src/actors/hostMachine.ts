import {
  type Actor,
  type AnyStateMachine,
  createActor,
  type EventFromLogic,
  type InspectionEvent,
  type SnapshotFrom,
} from 'xstate'
import type { Bus } from '../bus/createBus.ts'
import { envelope } from '../bus/envelope.ts'
import { subject } from '../bus/subjects.ts'
import { type Clock, systemClock } from './clock.ts'
import type { Logger } from './createLogger.ts'

/** How a host reacts when its actor crashes: restart up to `maxRestarts` times within `withinMs`, then stop. */
export interface RestartPolicy {
  maxRestarts: number
  withinMs: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 5, withinMs: 60_000 }

type EventWithoutNow<E> = E extends { now: number } ? Omit<E, 'now'> & { now?: number } : E

export interface HostOptions<M extends AnyStateMachine> {
  machine: M
  input?: unknown
  /** Actor kind (`agent`, `coordinator`, …) and id: they name its events and mailbox. */
  kind: string
  id: string
  bus: Bus
  log: Logger
  clock?: Clock
  /** The next absolute time the machine needs a `tick` (deadlines live in its context). */
  deadline?: (snapshot: SnapshotFrom<M>) => number | undefined
  /** Receives every event the machine `emit`s: the host's side effects. */
  onEmit: (event: { type: string } & Record<string, unknown>) => void
  /** Called after every transition with the persisted snapshot (for durable actors). */
  persist?: (persisted: unknown) => void
  /** A persisted snapshot to resume from. */
  snapshot?: unknown
  restart?: RestartPolicy
  inspect?: (event: InspectionEvent) => void
  /** Publish every change of state value as `hive.<ns>.evt.<kind>.<id>.state` (default true). */
  publishState?: boolean
  /** Called when the supervisor gives up (the actor stays stopped). */
  onGiveUp?: (err: unknown) => void
}

/** A machine running on a bus under supervision, with time stamped from a clock. */
export interface HostedActor<M extends AnyStateMachine> {
  readonly id: string
  /** Sends an event; a missing `now` is stamped from the clock. */
  send(event: EventWithoutNow<EventFromLogic<M>>): void
  getSnapshot(): SnapshotFrom<M>
  readonly restarts: number
  stop(): void
}

/**
 * Hosts a pure machine: stamps time on events, arms ONE timer for the machine's next deadline
 * (XState does not persist `after` timers, so deadlines live in context and a `tick` fires them),
 * forwards emitted events to `onEmit`, publishes state changes as events, persists snapshots, and
 * supervises: a crash restarts the actor from its last good snapshot under an explicit policy,
 * and every supervision decision is published as an event.
 */
export function hostMachine<M extends AnyStateMachine>(o: HostOptions<M>): HostedActor<M> {
  const clock = o.clock ?? systemClock
  const policy = o.restart ?? DEFAULT_RESTART_POLICY
  const publishState = o.publishState ?? true
  const restartTimes: number[] = []
  let actor!: Actor<M>
  let lastGood: SnapshotFrom<M> | undefined
  // The last state value and its JSON; the JSON is compared only when the value itself changed
  // (a string state value is the same string while the state stays put).
  let lastValue: unknown
  let lastJson = ''
  let timer: unknown
  let timerAt = Number.POSITIVE_INFINITY
  let stopped = false
  let restarts = 0
  // Between a crash and the restart (a microtask later) events wait here rather than reach the
  // dead actor: a bus delivers messages in batches, so a crash would lose the rest of the batch.
  let restarting = false
  const pending: EventWithoutNow<EventFromLogic<M>>[] = []

  const publishEvent = (event: string, data?: unknown, state?: unknown) => {
    if (o.bus.closed) return
    try {
      o.bus.publish(
        subject(o.bus.ns, { kind: 'event', actor: o.kind, id: o.id, event }),
        envelope('event', { actor: o.kind, id: o.id, event, state, data }, { from: `${o.kind}.${o.id}` }),
      )
    } catch (err) {
      o.log.warn({ err }, 'could not publish actor event')
    }
  }

  const arm = (snap: SnapshotFrom<M>) => {
    if (!o.deadline || stopped) return
    const at = o.deadline(snap)
    if (at === undefined) return
    if (at >= timerAt) return
    if (timer !== undefined) clock.clearTimeout(timer)
    timerAt = at
    timer = clock.setTimeout(
      () => {
        timer = undefined
        timerAt = Number.POSITIVE_INFINITY
        if (!stopped) send({ type: 'tick' } as EventWithoutNow<EventFromLogic<M>>)
      },
      Math.max(0, at - clock.now()),
    )
  }

  const start = (snapshot?: unknown) => {
    actor = createActor(o.machine, {
      input: o.input,
      snapshot: snapshot as never,
      inspect: o.inspect,
    } as never) as Actor<M>
    actor.on('*', (ev: { type: string }) => {
      // XState rethrows a listener's error on a timer, where it would kill the process: a side
      // effect that fails (a publish refused as too large, a closed connection) is logged instead.
      try {
        o.onEmit(ev as { type: string } & Record<string, unknown>)
      } catch (err) {
        o.log.error({ err, event: ev.type }, 'side effect of an emitted event failed')
      }
    })
    actor.subscribe({
      next: (s) => {
        const snap = s as unknown as { status: string; value: unknown }
        if (snap.status === 'error') return
        lastGood = s as SnapshotFrom<M>
        if (snap.value !== lastValue) {
          const json = JSON.stringify(snap.value)
          if (json !== lastJson) {
            if (publishState) publishEvent('state', { from: lastJson ? lastValue : null }, snap.value)
            lastJson = json
          }
          lastValue = snap.value
        }
        if (o.persist) o.persist(actor.getPersistedSnapshot())
        arm(s as SnapshotFrom<M>)
      },
      error: (err) => onCrash(err),
    })
    actor.start()
  }

  const onCrash = (err: unknown) => {
    if (stopped) return
    const now = clock.now()
    while (restartTimes.length && restartTimes[0] <= now - policy.withinMs) restartTimes.shift()
    if (restartTimes.length >= policy.maxRestarts) {
      pending.length = 0
      o.log.error({ err }, 'actor crashed too often; supervisor stops it')
      publishEvent('supervisor', { directive: 'stop', error: String(err), restarts })
      stopped = true
      o.onGiveUp?.(err)
      return
    }
    restartTimes.push(now)
    restarts++
    o.log.error({ err, restarts }, 'actor crashed; supervisor restarts it from its last good snapshot')
    publishEvent('supervisor', { directive: 'restart', error: String(err), restarts })
    const from = lastGood ? o.machine.getPersistedSnapshot(lastGood as never) : o.snapshot
    restarting = true
    // Restart outside the crashing actor's call stack.
    queueMicrotask(() => {
      restarting = false
      if (stopped) return
      start(from)
      for (const ev of pending.splice(0)) send(ev)
    })
  }

  const send = (event: EventWithoutNow<EventFromLogic<M>>) => {
    if (stopped) return
    const e = event as { now?: number }
    if (e.now === undefined) e.now = clock.now()
    if (restarting) pending.push(event)
    else actor.send(event as EventFromLogic<M>)
  }

  start(o.snapshot)

  return {
    id: o.id,
    send,
    getSnapshot: () => actor.getSnapshot() as SnapshotFrom<M>,
    get restarts() {
      return restarts
    },
    stop() {
      stopped = true
      if (timer !== undefined) clock.clearTimeout(timer)
      actor.stop()
    },
  }
}
