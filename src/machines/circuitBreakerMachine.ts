/**
 * A circuit breaker as an XState v5 machine: `closed`, `open`, `halfOpen`. The machine is a thin
 * shell over the pure functions of `breaker.ts`; its state value always mirrors `context.breaker`.
 *
 * Time arrives in events (`now`, epoch ms); the open deadline lives in context, so a host arms one
 * timer at {@link breakerDeadline} and sends `tick` (a late tick is harmless: a `route` after the
 * deadline moves the breaker to half-open itself).
 *
 * @example
 * const actor = createActor(circuitBreakerMachine, { input: { config: { failureThreshold: 3 } } })
 * actor.on('stateChanged', (e) => publish(e))
 * actor.start()
 * actor.send({ type: 'route', now: clock.now() })
 */
import { enqueueActions, setup } from 'xstate'
import {
  type BreakerConfig,
  type BreakerState,
  breakerCanRoute,
  breakerOnOutcome,
  breakerOnRoute,
  breakerOnTick,
  DEFAULT_BREAKER,
  initialBreaker,
} from './breaker.ts'

export type CircuitStateName = 'closed' | 'open' | 'halfOpen'

export interface CircuitBreakerContext {
  breaker: BreakerState
  config: BreakerConfig
}

export interface CircuitBreakerInput {
  config?: Partial<BreakerConfig>
}

export type CircuitBreakerEvent =
  | { type: 'route'; now: number }
  | { type: 'success'; now: number }
  | { type: 'failure'; now: number }
  | { type: 'tick'; now: number }

export type CircuitBreakerEmitted =
  | { type: 'routed'; now: number }
  | { type: 'rejected'; now: number }
  | { type: 'stateChanged'; from: CircuitStateName; to: CircuitStateName; now: number }

/** The pure breaker functions the machine runs on; replaceable only to build test mutants. */
export interface BreakerLogic {
  canRoute: (s: BreakerState, now: number) => boolean
  onRoute: (s: BreakerState, now: number) => BreakerState
  onOutcome: (
    s: BreakerState,
    outcome: 'success' | 'failure',
    now: number,
    cfg: BreakerConfig,
  ) => BreakerState
  onTick: (s: BreakerState, now: number) => BreakerState
}

export const breakerLogic: BreakerLogic = {
  canRoute: breakerCanRoute,
  onRoute: breakerOnRoute,
  onOutcome: breakerOnOutcome,
  onTick: breakerOnTick,
}

/** The machine state name for a breaker state. */
export function circuitStateName(s: BreakerState): CircuitStateName {
  return s.state === 'half-open' ? 'halfOpen' : s.state
}

/** One event applied to the breaker: the next breaker state and what to emit, in order. */
export function circuitStep(
  logic: BreakerLogic,
  ctx: CircuitBreakerContext,
  event: CircuitBreakerEvent,
): { breaker: BreakerState; emitted: CircuitBreakerEmitted[] } {
  const { now } = event
  const before = ctx.breaker
  let after: BreakerState
  let verdict: CircuitBreakerEmitted | undefined
  switch (event.type) {
    case 'route':
      if (logic.canRoute(before, now)) {
        after = logic.onRoute(before, now)
        verdict = { type: 'routed', now }
      } else {
        after = before
        verdict = { type: 'rejected', now }
      }
      break
    case 'success':
    case 'failure':
      after = logic.onOutcome(before, event.type, now, ctx.config)
      break
    case 'tick':
      after = logic.onTick(before, now)
      break
  }
  const emitted: CircuitBreakerEmitted[] = []
  const from = circuitStateName(before)
  const to = circuitStateName(after)
  if (from !== to) emitted.push({ type: 'stateChanged', from, to, now })
  if (verdict) emitted.push(verdict)
  return { breaker: after, emitted }
}

/** Builds the breaker machine; `logic` defaults to the pure functions of `breaker.ts`. */
export function createCircuitBreakerMachine(logic: BreakerLogic = breakerLogic) {
  const leadsTo = (to: CircuitStateName) => ({
    guard: ({ context, event }: { context: CircuitBreakerContext; event: CircuitBreakerEvent }) =>
      circuitStateName(circuitStep(logic, context, event).breaker) === to,
    target: `.${to}`,
    actions: 'step' as const,
  })
  const transitions = [leadsTo('closed'), leadsTo('open'), leadsTo('halfOpen')]
  return setup({
    types: {
      context: {} as CircuitBreakerContext,
      input: {} as CircuitBreakerInput,
      events: {} as CircuitBreakerEvent,
      emitted: {} as CircuitBreakerEmitted,
    },
    actions: {
      step: enqueueActions(({ context, event, enqueue }) => {
        const { breaker, emitted } = circuitStep(logic, context, event)
        enqueue.assign({ breaker })
        for (const e of emitted) enqueue.emit(e)
      }),
    },
  }).createMachine({
    id: 'circuitBreaker',
    context: ({ input }) => ({ breaker: initialBreaker(), config: { ...DEFAULT_BREAKER, ...input.config } }),
    initial: 'closed',
    states: { closed: {}, open: {}, halfOpen: {} },
    on: { route: transitions, success: transitions, failure: transitions, tick: transitions },
  })
}

export const circuitBreakerMachine = createCircuitBreakerMachine()
export type CircuitBreakerMachine = typeof circuitBreakerMachine
