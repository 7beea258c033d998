/**
 * Circuit breaker logic, pure: closed → open after `failureThreshold` failures within `windowMs`;
 * open → half-open once `recoveryTimeoutMs` has passed (on the next routing decision); half-open
 * lets exactly one probe through: its success closes the breaker, its failure opens it again.
 *
 * Deadlines are absolute times in the state, so a restored snapshot needs no timers.
 * Used by the coordinator (one breaker per agent) and by `circuitBreakerMachine`.
 */

export interface BreakerConfig {
  /** Failures within the window that open the breaker. */
  failureThreshold: number
  windowMs: number
  /** Time the breaker stays open before it lets one probe through. */
  recoveryTimeoutMs: number
}

export const DEFAULT_BREAKER: BreakerConfig = {
  failureThreshold: 5,
  windowMs: 60_000,
  recoveryTimeoutMs: 30_000,
}

export type BreakerState =
  | { state: 'closed'; failures: number[] }
  | { state: 'open'; openedAt: number; until: number }
  | { state: 'half-open'; probeInFlight: boolean }

export type BreakerName = BreakerState['state']

export function initialBreaker(): BreakerState {
  return { state: 'closed', failures: [] }
}

/** The breaker's state as an observer at `now` sees it (an expired open breaker reads half-open). */
export function breakerView(s: BreakerState, now: number): BreakerName {
  return s.state === 'open' && now >= s.until ? 'half-open' : s.state
}

/** Whether a task may be routed through this breaker at `now`. */
export function breakerCanRoute(s: BreakerState, now: number): boolean {
  if (s.state === 'closed') return true
  if (s.state === 'open') return now >= s.until
  return !s.probeInFlight
}

/** Records that a task was routed through the breaker (call only when {@link breakerCanRoute}). */
export function breakerOnRoute(s: BreakerState, now: number): BreakerState {
  if (s.state === 'closed') return s
  if (s.state === 'open') return now >= s.until ? { state: 'half-open', probeInFlight: true } : s
  return { state: 'half-open', probeInFlight: true }
}

/** Feeds the outcome of a routed task into the breaker. */
export function breakerOnOutcome(
  s: BreakerState,
  outcome: 'success' | 'failure',
  now: number,
  cfg: BreakerConfig,
): BreakerState {
  switch (s.state) {
    case 'closed': {
      // Successes do not wipe the window: an agent that fails every other task is still flapping.
      if (outcome === 'success') return s
      const failures = [...s.failures.filter((t) => t > now - cfg.windowMs), now]
      if (failures.length >= cfg.failureThreshold) {
        return { state: 'open', openedAt: now, until: now + cfg.recoveryTimeoutMs }
      }
      return { state: 'closed', failures }
    }
    case 'half-open':
      // Without a probe in flight (half-open reached by the clock), an outcome belongs to a task
      // routed before the breaker opened: it says nothing about recovery.
      if (!s.probeInFlight) return s
      return outcome === 'success'
        ? { state: 'closed', failures: [] }
        : { state: 'open', openedAt: now, until: now + cfg.recoveryTimeoutMs }
    case 'open':
      // Outcomes of tasks routed before the breaker opened change nothing while it is open.
      return s
  }
}

/**
 * Lets the clock move an open breaker whose recovery timeout has passed to half-open, with no probe
 * in flight yet (the next routed task is the probe). Any other state is returned unchanged.
 */
export function breakerOnTick(s: BreakerState, now: number): BreakerState {
  return s.state === 'open' && now >= s.until ? { state: 'half-open', probeInFlight: false } : s
}

/** The next time this breaker changes by itself, for a host arming one timer. */
export function breakerDeadline(s: BreakerState): number | undefined {
  return s.state === 'open' ? s.until : undefined
}
