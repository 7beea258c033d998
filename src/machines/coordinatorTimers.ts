/**
 * The coordinator's deadlines in one heap: backoff ends (`ready`), task timeouts (`deadline`),
 * heartbeat expiries (`liveness`) and breaker recoveries (`breaker`). Entries are never removed
 * early; each is checked against its agent or task when it fires, so a superseded one costs one
 * pop. The host arms a single timer at {@link nextTimerAt}.
 */
import { heapPop, heapPush } from './binaryHeap.ts'
import type { CoordinatorContext, Timer, TimerKind } from './coordinatorTypes.ts'

const earlier = (a: Timer, b: Timer): boolean => a.at < b.at

export function pushTimer(
  ctx: CoordinatorContext,
  at: number,
  kind: TimerKind,
  id: string,
  attempt = 0,
): void {
  heapPush(ctx.timers, { at, kind, id, attempt }, earlier)
}

/** Pops the earliest timer if it is due at `now`. */
export function popDueTimer(ctx: CoordinatorContext, now: number): Timer | undefined {
  const top = ctx.timers[0]
  if (top === undefined || top.at > now) return undefined
  return heapPop(ctx.timers, earlier)
}

/** The earliest pending timer (possibly one that will turn out stale: never later than needed). */
export function nextTimerAt(ctx: CoordinatorContext): number | undefined {
  return ctx.timers[0]?.at
}
