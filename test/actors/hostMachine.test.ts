/**
 * The host of pure machines: supervision (restart from the last good snapshot, give up after a
 * restart budget, every decision published) and time (one timer at the machine's deadline, on an
 * injected clock, so tests advance time instead of sleeping).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { assign, setup } from 'xstate'
import { createManualClock } from '../../src/actors/clock.ts'
import { createLogger } from '../../src/actors/createLogger.ts'
import { type HostedActor, hostMachine, type RestartPolicy } from '../../src/actors/hostMachine.ts'
import { type AnyEnvelope, type Bus, createMemoryBus, subject } from '../../src/bus/index.ts'

const log = createLogger({ level: 'silent' })

interface Ctx {
  count: number
  deadline: number | undefined
  fired: number[]
}
type Ev =
  | { type: 'inc'; now: number }
  | { type: 'boom'; now: number }
  | { type: 'arm'; at: number; now: number }
  | { type: 'tick'; now: number }

/** A counter that can be armed with a deadline; `boom` makes an action throw. */
const counter = setup({
  types: { context: {} as Ctx, events: {} as Ev },
  actions: {
    explode: () => {
      throw new Error('the action exploded')
    },
  },
}).createMachine({
  id: 'counter',
  context: { count: 0, deadline: undefined, fired: [] },
  initial: 'idle',
  states: {
    idle: {
      on: {
        inc: { target: 'counting', actions: assign({ count: ({ context }) => context.count + 1 }) },
      },
    },
    counting: {
      on: {
        inc: { actions: assign({ count: ({ context }) => context.count + 1 }) },
      },
    },
  },
  on: {
    boom: { actions: 'explode' },
    arm: { actions: assign({ deadline: ({ event }) => event.at }) },
    tick: {
      guard: ({ context, event }) => context.deadline !== undefined && event.now >= context.deadline,
      actions: assign({
        fired: ({ context, event }) => [...context.fired, event.now],
        deadline: undefined,
      }),
    },
  },
})

/** Supervisor events of the hosted actor, as published on the bus. */
function supervisorEvents(bus: Bus, id: string) {
  const seen: AnyEnvelope[] = []
  bus.subscribe(subject(bus.ns, { kind: 'event', actor: 'test', id, event: 'supervisor' }), (msg) => {
    seen.push(msg)
  })
  return () =>
    seen.map((m) => (m.type === 'event' ? (m.body.data as { directive: string; error: string }) : undefined))
}

describe('hostMachine - supervision and time', () => {
  let bus: Bus
  let hosted: HostedActor<typeof counter> | undefined
  afterEach(async () => {
    hosted?.stop()
    await bus?.close()
  })

  function host(opts: { restart?: RestartPolicy; onGiveUp?: (err: unknown) => void } = {}) {
    bus = createMemoryBus({ ns: 'hosttest' })
    const clock = createManualClock(1_000_000)
    const directives = supervisorEvents(bus, 'c1')
    const emitted: string[] = []
    hosted = hostMachine({
      machine: counter,
      kind: 'test',
      id: 'c1',
      bus,
      log,
      clock,
      deadline: (s) => s.context.deadline,
      onEmit: (e) => emitted.push(e.type),
      restart: opts.restart,
      onGiveUp: opts.onGiveUp,
    })
    return { hosted, clock, directives }
  }
  const flush = () => new Promise<void>((r) => setTimeout(r, 0))

  it('hostMachine - a throwing action restarts the actor from its last good snapshot and publishes a restart directive', async () => {
    const { hosted, directives } = host()
    hosted.send({ type: 'inc' })
    hosted.send({ type: 'inc' })
    expect(hosted.getSnapshot().context.count).toBe(2)
    hosted.send({ type: 'boom' })
    await flush()
    expect(hosted.restarts).toBe(1)
    const snap = hosted.getSnapshot()
    expect(snap.status).toBe('active')
    expect(snap.value).toBe('counting')
    expect(snap.context.count).toBe(2)
    // The restarted actor takes events again.
    hosted.send({ type: 'inc' })
    expect(hosted.getSnapshot().context.count).toBe(3)
    expect(directives()).toEqual([
      expect.objectContaining({
        directive: 'restart',
        error: expect.stringContaining('the action exploded'),
      }),
    ])
  })

  it('hostMachine - events sent right after a crash, before the restart, are not lost (regression: they went to the dead actor)', async () => {
    const { hosted } = host()
    hosted.send({ type: 'inc' })
    hosted.send({ type: 'boom' })
    hosted.send({ type: 'inc' })
    hosted.send({ type: 'inc' })
    await flush()
    expect(hosted.restarts).toBe(1)
    expect(hosted.getSnapshot().context.count).toBe(3)
    // A buffered event that crashes the restarted actor again: what follows it waits for the next restart.
    hosted.send({ type: 'boom' })
    hosted.send({ type: 'inc' })
    hosted.send({ type: 'boom' })
    hosted.send({ type: 'inc' })
    await flush()
    await flush()
    expect(hosted.restarts).toBe(3)
    expect(hosted.getSnapshot().context.count).toBe(5)
  })

  it('hostMachine - after maxRestarts within the window the supervisor stops the actor and says so', async () => {
    const gaveUp: unknown[] = []
    const { hosted, directives, clock } = host({
      restart: { maxRestarts: 2, withinMs: 10_000 },
      onGiveUp: (err) => gaveUp.push(err),
    })
    hosted.send({ type: 'inc' })
    for (let i = 0; i < 3; i++) {
      hosted.send({ type: 'boom' })
      await flush()
      clock.advance(1000)
    }
    expect(directives().map((d) => d?.directive)).toEqual(['restart', 'restart', 'stop'])
    expect(hosted.restarts).toBe(2)
    expect(gaveUp).toHaveLength(1)
    expect(String(gaveUp[0])).toContain('the action exploded')
    // Stopped means stopped: no more restarts, events are dropped.
    hosted.send({ type: 'inc' })
    hosted.send({ type: 'boom' })
    await flush()
    expect(directives()).toHaveLength(3)
  })

  it('hostMachine - crashes spread wider than the window do not use up the restart budget', async () => {
    const { hosted, directives, clock } = host({ restart: { maxRestarts: 2, withinMs: 10_000 } })
    for (let i = 0; i < 5; i++) {
      hosted.send({ type: 'boom' })
      await flush()
      clock.advance(6000)
    }
    expect(directives().map((d) => d?.directive)).toEqual(Array(5).fill('restart'))
    expect(hosted.restarts).toBe(5)
    expect(hosted.getSnapshot().status).toBe('active')
  })

  it('hostMachine - the deadline fires a tick on the injected clock, without sleeping', () => {
    const { hosted, clock } = host()
    const t0 = clock.now()
    hosted.send({ type: 'arm', at: t0 + 5000 })
    clock.advance(4999)
    expect(hosted.getSnapshot().context.fired).toEqual([])
    clock.advance(1)
    expect(hosted.getSnapshot().context.fired).toEqual([t0 + 5000])
    // An earlier deadline replaces a later one; the later one still fires after.
    hosted.send({ type: 'arm', at: t0 + 20_000 })
    hosted.send({ type: 'arm', at: t0 + 8000 })
    clock.advance(3000)
    expect(hosted.getSnapshot().context.fired).toEqual([t0 + 5000, t0 + 8000])
  })

  it('hostMachine - a restarted actor keeps its deadline: the tick still fires', async () => {
    const { hosted, clock } = host()
    const t0 = clock.now()
    hosted.send({ type: 'arm', at: t0 + 1000 })
    hosted.send({ type: 'boom' })
    await flush()
    expect(hosted.restarts).toBe(1)
    clock.advance(1000)
    expect(hosted.getSnapshot().context.fired).toEqual([t0 + 1000])
  })
})
