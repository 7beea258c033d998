import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createHive } from '../../src/api/createHive.ts'

describe('oversized results', () => {
  // Regression: a result over the bus's payload limit threw inside an emitted-event listener,
  // which XState rethrows on a timer: the whole process died.
  it('agent - a result too large for the bus fails the task with a clear error, and the hive lives on', async () => {
    const hive = await createHive({
      log: createLogger({ level: 'silent' }),
      agents: [
        {
          id: 'big',
          type: 'w',
          capabilities: ['x'],
          function: async (task) => (task.input === 'huge' ? 'x'.repeat(2 * 1024 * 1024) : 'small'),
        },
      ],
    })
    try {
      const rec = await hive.client.submit(
        { task_type: 'x', required_capabilities: ['x'], input: 'huge' },
        { wait: true, timeoutMs: 10_000 },
      )
      expect(rec.status).toBe('failed')
      expect(rec.error).toMatch(/too large for the bus/)
      const next = await hive.client.submit({ task_type: 'x', required_capabilities: ['x'] }, { wait: true })
      expect(next).toMatchObject({ status: 'success', output: 'small' })
    } finally {
      await hive.stop()
    }
  })
})
