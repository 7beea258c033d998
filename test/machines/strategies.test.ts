import { describe, expect, it } from 'vitest'
import {
  type AgentCandidate,
  capabilityMatch,
  createDurationTable,
  DEFAULT_DURATION_MS,
  expectedDuration,
  leastLoaded,
  predictive,
  priorityWeighted,
  recordDuration,
  roundRobin,
  STRATEGY_NAMES,
  type StrategyContext,
  strategies,
} from '../../src/machines/strategies/index.ts'
import type { AgentInfo, Task } from '../../src/schema/domain.ts'

function agent(id: string, load: number, over: Partial<AgentInfo> = {}): AgentCandidate {
  return {
    id,
    load,
    info: { agent_id: id, agent_type: 'worker', capabilities: ['code'], max_tasks: 4, weight: 50, ...over },
  }
}

function task(over: Partial<Task> = {}): Task {
  return { task_id: 't1', task_type: 'build', required_capabilities: ['code'], priority: 5, ...over }
}

const ctx = (over: Partial<StrategyContext> = {}): StrategyContext => ({
  now: 0,
  expectedDuration: () => DEFAULT_DURATION_MS,
  ...over,
})

describe('strategies', () => {
  it('strategies - the registry names every strategy and nothing picks from no candidates', () => {
    expect(Object.keys(strategies).sort()).toEqual([...STRATEGY_NAMES].sort())
    for (const name of STRATEGY_NAMES) expect(strategies[name]([], task(), ctx())).toBeUndefined()
  })

  it('roundRobin - cycles through ids in order and wraps around', () => {
    const cs = [agent('c', 0), agent('a', 0), agent('b', 0)]
    const picks: string[] = []
    let last: string | undefined
    for (let i = 0; i < 4; i++) {
      last = roundRobin(cs, task(), ctx({ lastRoundRobin: last }))
      picks.push(last as string)
    }
    expect(picks).toEqual(['a', 'b', 'c', 'a'])
  })

  it('roundRobin - skips to the next id when the last pick has left the candidates', () => {
    expect(roundRobin([agent('a', 0), agent('d', 0)], task(), ctx({ lastRoundRobin: 'b' }))).toBe('d')
  })

  it('leastLoaded - picks the lowest utilisation, then lower load, then smaller id', () => {
    expect(
      leastLoaded([agent('a', 1, { max_tasks: 2 }), agent('b', 2, { max_tasks: 10 })], task(), ctx()),
    ).toBe('b')
    expect(
      leastLoaded([agent('b', 1, { max_tasks: 2 }), agent('a', 2, { max_tasks: 4 })], task(), ctx()),
    ).toBe('b')
    expect(leastLoaded([agent('b', 0), agent('a', 0)], task(), ctx())).toBe('a')
  })

  it('capabilityMatch - prefers agents with the preferred capabilities, then the closest fit, then load', () => {
    const t = task({ metadata: { preferred_capabilities: ['Rust'] } })
    const generalist = agent('g', 0, { capabilities: ['code', 'rust', 'python', 'go'] })
    const specialist = agent('s', 3, { capabilities: ['code', 'rust'] })
    const noRust = agent('n', 0, { capabilities: ['code'] })
    expect(capabilityMatch([noRust, generalist, specialist], t, ctx())).toBe('s')
    expect(capabilityMatch([noRust, generalist], t, ctx())).toBe('g')
    // Same score: lower load wins, then the smaller id.
    expect(capabilityMatch([agent('b', 2), agent('c', 1)], task(), ctx())).toBe('c')
    expect(capabilityMatch([agent('b', 1), agent('a', 1)], task(), ctx())).toBe('a')
  })

  it('priorityWeighted - deterministic pick is the highest weight per (load + 1)', () => {
    const heavy = agent('h', 3, { weight: 100 }) // 25
    const light = agent('l', 0, { weight: 30 }) // 30
    expect(priorityWeighted([heavy, light], task(), ctx())).toBe('l')
    expect(priorityWeighted([agent('h', 1, { weight: 100 }), light], task(), ctx())).toBe('h')
  })

  it('priorityWeighted - with randomness the draw follows the scores and sharpens with priority', () => {
    const cs = [agent('a', 0, { weight: 90 }), agent('b', 0, { weight: 10 })]
    const share = (priority: number) => {
      let seed = 7
      const random = () => {
        seed = (seed * 16807) % 2147483647
        return (seed - 1) / 2147483646
      }
      let a = 0
      for (let i = 0; i < 2000; i++)
        if (priorityWeighted(cs, task({ priority }), ctx({ random })) === 'a') a++
      return a / 2000
    }
    expect(share(5)).toBeGreaterThan(0.85)
    expect(share(5)).toBeLessThan(0.95)
    expect(share(10)).toBeGreaterThan(share(5))
    expect(share(1)).toBeLessThan(share(5))
  })

  it('predictive - learns exponentially weighted means and falls back to type, global, default', () => {
    const t = createDurationTable()
    expect(expectedDuration(t, 'a', 'build')).toBe(DEFAULT_DURATION_MS)
    recordDuration(t, 'a', 'build', 1000)
    recordDuration(t, 'a', 'build', 2000)
    expect(expectedDuration(t, 'a', 'build')).toBeCloseTo(1300)
    expect(expectedDuration(t, 'b', 'build')).toBeCloseTo(1300) // type mean
    recordDuration(t, 'b', 'test', 100)
    expect(expectedDuration(t, 'c', 'lint')).toBeCloseTo(1300 + 0.3 * (100 - 1300)) // global mean
    recordDuration(t, 'a', 'build', Number.NaN)
    expect(expectedDuration(t, 'a', 'build')).toBeCloseTo(1300)
  })

  it('predictive - picks the smallest (load + 1) × expected duration', () => {
    const t = createDurationTable()
    recordDuration(t, 'fast', 'build', 100)
    recordDuration(t, 'slow', 'build', 1000)
    const c = ctx({ expectedDuration: (a, ty) => expectedDuration(t, a, ty) })
    expect(predictive([agent('slow', 0), agent('fast', 5)], task(), c)).toBe('fast') // 600 < 1000
    expect(predictive([agent('slow', 0), agent('fast', 12)], task(), c)).toBe('slow') // 1300 > 1000
  })
})
