import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createHive } from '../../src/api/createHive.ts'
import { RequestTimeoutError } from '../../src/bus/errors.ts'
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
