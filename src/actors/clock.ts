/**
 * Where actors get the time. The runtime uses {@link systemClock}; tests pass a manual clock and
 * advance it instead of sleeping.
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
}

/** A clock that moves only when told to: `advance(ms)` fires what falls due, in time order. */
export interface ManualClock extends Clock {
  advance(ms: number): void
  set(now: number): void
}

export function createManualClock(start = 0): ManualClock {
  let now = start
  let seq = 0
  const timers = new Map<number, { at: number; fn: () => void }>()
  const runDue = () => {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of timers) if (e[1].at <= now && (!next || e[1].at < next[1].at)) next = e
      if (!next) return
      timers.delete(next[0])
      next[1].fn()
    }
  }
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq
      timers.set(id, { at: now + Math.max(0, ms), fn })
      return id
    },
    clearTimeout(h) {
      timers.delete(h as number)
    },
    advance(ms) {
      now += ms
      runDue()
    },
    set(t) {
      now = t
      runDue()
    },
  }
}
