import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createHive } from '../../src/api/createHive.ts'
import { waitFor } from '../helpers/busFactories.ts'

const quiet = () => createLogger({ level: 'silent' })

describe('allocator - resources on a running hive', () => {
  it('allocator - tasks that need resources never run past an agent’s capacity', async () => {
    let running = 0
    let peak = 0
    const hive = await createHive({
      log: quiet(),
      agents: [
        {
          id: 'big',
          type: 'worker',
          capabilities: ['mem'],
          max_tasks: 4,
          resources: { memory_mb: 1000 },
          function: async () => {
            running++
            peak = Math.max(peak, running)
            await new Promise((r) => setTimeout(r, 30))
            running--
            return 'ok'
          },
        },
      ],
    })
    try {
      const recs = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          hive.client.submit(
            {
              task_id: `m${i}`,
              task_type: 'mem',
              required_capabilities: ['mem'],
              resources: { memory_mb: 600 },
            },
            { wait: true },
          ),
        ),
      )
      expect(recs.map((r) => r.status)).toEqual(Array(6).fill('success'))
      // 4 task slots, but only one 600 MB task fits in 1000 MB at a time.
      expect(peak).toBe(1)
    } finally {
      await hive.stop()
    }
  })

  it('allocator - a higher-priority task preempts a lower one, which is requeued and still completes', async () => {
    const started: string[] = []
    const hive = await createHive({
      log: quiet(),
      agents: [
        {
          id: 'big',
          type: 'worker',
          capabilities: ['mem'],
          max_tasks: 2,
          resources: { memory_mb: 1000 },
          function: async (task, ctx) => {
            started.push(`${task.task_id}#${ctx.attempt}`)
            await new Promise<void>((resolve, reject) => {
              const t = setTimeout(resolve, task.task_id === 'low' ? 400 : 20)
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t)
                reject(new Error('preempted'))
              })
            })
            return task.task_id
          },
        },
      ],
    })
    try {
      const low = hive.client.submit(
        {
          task_id: 'low',
          task_type: 'mem',
          required_capabilities: ['mem'],
          priority: 2,
          resources: { memory_mb: 800 },
        },
        { wait: true },
      )
      await waitFor(() => started.includes('low#1'), { timeoutMs: 5000 })
      const high = await hive.client.submit(
        {
          task_id: 'high',
          task_type: 'mem',
          required_capabilities: ['mem'],
          priority: 9,
          resources: { memory_mb: 800 },
        },
        { wait: true },
      )
      expect(high.status).toBe('success')
      const lowRec = await low
      expect(lowRec.status).toBe('success')
      expect(lowRec.attempts).toBeGreaterThan(1)
      // The high-priority task started while the low one's first attempt held the memory.
      expect(started.indexOf('high#1')).toBeLessThan(started.indexOf('low#2'))
    } finally {
      await hive.stop()
    }
  })
})
