import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createHive } from '../../src/api/createHive.ts'
import { PayloadTooLargeError, RequestTimeoutError } from '../../src/bus/errors.ts'
import { createMemoryBus } from '../../src/bus/index.ts'

const quiet = () => createLogger({ level: 'silent' })

describe('createClient', () => {
  // Regression: a second waiting submit of the same task id replaced the first waiter, whose
  // promise never settled (`hive task submit -f` with a duplicated line hung).
  it('client - two waiting submits of one task id both resolve, with the same record', async () => {
    const hive = await createHive({
      log: quiet(),
      agents: [{ id: 'a1', type: 'w', capabilities: ['x'], function: async () => 'done' }],
    })
    try {
      const task = { task_id: 'same', task_type: 'x', required_capabilities: ['x'] }
      const [a, b] = await Promise.all([
        hive.client.submit(task, { wait: true }),
        hive.client.submit(task, { wait: true }),
      ])
      expect(a.status).toBe('success')
      expect(b).toEqual(a)
    } finally {
      await hive.stop()
    }
  })

  // Submits leave from a timer (one batch per turn): a task too large for the bus must reject its
  // own promise there, not throw where it would end the process.
  it('client - a waiting submit too large for the bus rejects alone; the others of its batch complete', async () => {
    const bus = createMemoryBus({ ns: 'big', maxPayload: 64 * 1024 })
    const hive = await createHive({
      bus,
      log: quiet(),
      agents: [{ id: 'a1', type: 'w', capabilities: ['x'], function: async () => 'ok' }],
    })
    try {
      const spec = (id: string, input?: string) => ({
        task_id: id,
        task_type: 'x',
        required_capabilities: ['x'],
        input,
      })
      const [small, big, other] = await Promise.allSettled([
        hive.client.submit(spec('small'), { wait: true, timeoutMs: 5000 }),
        hive.client.submit(spec('big', 'x'.repeat(100_000)), { wait: true, timeoutMs: 5000 }),
        hive.client.submit(spec('other'), { wait: true, timeoutMs: 5000 }),
      ])
      expect(small.status === 'fulfilled' && small.value.status).toBe('success')
      expect(other.status === 'fulfilled' && other.value.status).toBe('success')
      expect(big.status).toBe('rejected')
      expect((big as PromiseRejectedResult).reason).toBeInstanceOf(PayloadTooLargeError)
      // And alone (the single-task path).
      await expect(
        hive.client.submit(spec('big2', 'x'.repeat(100_000)), { wait: true, timeoutMs: 5000 }),
      ).rejects.toBeInstanceOf(PayloadTooLargeError)
      // An input that cannot be encoded at all (a cycle) throws while sending: rejected too.
      const cycle: Record<string, unknown> = {}
      cycle.self = cycle
      await expect(
        hive.client.submit({ ...spec('cyclic'), input: cycle }, { wait: true, timeoutMs: 5000 }),
      ).rejects.toThrow()
      expect((await hive.client.submit(spec('after'), { wait: true })).status).toBe('success')
    } finally {
      await hive.stop()
      await bus.close()
    }
  })

  it('client - a waiting submit gives up after its timeoutMs when no agent can take the task', async () => {
    const hive = await createHive({ log: quiet(), agents: [] })
    try {
      const started = Date.now()
      await expect(
        hive.client.submit(
          { task_type: 'x', required_capabilities: ['nobody-has-this'] },
          { wait: true, timeoutMs: 300 },
        ),
      ).rejects.toBeInstanceOf(RequestTimeoutError)
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      await hive.stop()
    }
  })

  // Regression: createHive({ bus }) gave its client the default namespace, not the bus's.
  it('client - a hive on a given bus serves its client in that bus namespace', async () => {
    const bus = createMemoryBus({ ns: 'prod' })
    const hive = await createHive({
      bus,
      log: quiet(),
      agents: [{ id: 'a1', type: 'w', capabilities: ['x'], function: async () => 1 }],
    })
    try {
      const rec = await hive.client.submit({ task_type: 'x', required_capabilities: ['x'] }, { wait: true })
      expect(rec.status).toBe('success')
      await expect(createHive({ bus, ns: 'other' })).rejects.toThrow(/differs/)
    } finally {
      await hive.stop()
      await bus.close()
    }
  })
})
