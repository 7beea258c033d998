/**
 * Batching on the wire: a coordinator step that gives an agent several tasks sends them as one
 * `task.assign.batch`, and an agent sends the results that finish together as one
 * `task.result.batch`. Every task still completes exactly once, on the embedded bus and over a
 * real nats-server; a batch too large for the bus goes one message at a time.
 */
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createClient } from '../../src/api/createClient.ts'
import { createHive, type Hive } from '../../src/api/createHive.ts'
import type { AnyEnvelope } from '../../src/bus/index.ts'
import { subject } from '../../src/bus/subjects.ts'
import type { BusEvent } from '../../src/index.ts'
import { waitFor } from '../helpers/busFactories.ts'
import { useNatsServer } from '../helpers/natsServer.ts'

const quiet = () => createLogger({ level: 'silent' })

/** Counts message types on an agent's mailbox and the coordinator's service subject. */
function watch(hive: Hive, agentId: string) {
  const seen: Record<string, number> = {}
  const count = (msg: AnyEnvelope) => {
    seen[msg.type] = (seen[msg.type] ?? 0) + 1
  }
  hive.bus.subscribe(subject(hive.bus.ns, { kind: 'mailbox', actor: 'agent', id: agentId }), count)
  hive.bus.subscribe(subject(hive.bus.ns, { kind: 'service', service: 'coordinator' }), count)
  return seen
}

async function runMany(hive: Hive, n: number, input?: unknown) {
  const records = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      hive.client.submit(
        { task_id: `b${i}`, task_type: 'x', required_capabilities: ['x'], input },
        { wait: true, timeoutMs: 20_000 },
      ),
    ),
  )
  expect(records.map((r) => r.status)).toEqual(Array(n).fill('success'))
  // Exactly once: one attempt each, and each output is its own input's echo.
  expect(records.every((r) => r.attempts === 1)).toBe(true)
  expect(new Set(records.map((r) => r.task_id)).size).toBe(n)
  return records
}

describe('batching', () => {
  it('batching - a batch of submits with one invalid task: each task gets its own answer', async () => {
    const hive = await createHive({
      log: quiet(),
      ns: 'batchbad',
      agents: [{ id: 'a1', type: 'w', capabilities: ['x'], max_tasks: 4, function: async () => 'ok' }],
    })
    try {
      const seen = watch(hive, 'a1')
      const spec = (id: string, priority = 5) => ({
        task_id: id,
        task_type: 'x',
        required_capabilities: ['x'],
        priority,
      })
      const [ok1, bad, ok2] = await Promise.allSettled([
        hive.client.submit(spec('ok1'), { wait: true, timeoutMs: 10_000 }),
        hive.client.submit(spec('bad', 11), { wait: true, timeoutMs: 10_000 }),
        hive.client.submit(spec('ok2'), { wait: true, timeoutMs: 10_000 }),
      ])
      expect(ok1.status === 'fulfilled' && ok1.value.status).toBe('success')
      expect(ok2.status === 'fulfilled' && ok2.value.status).toBe('success')
      expect(bad.status).toBe('rejected')
      expect(String((bad as PromiseRejectedResult).reason)).toMatch(/priority/)
      // The batch was refused as a whole at the bus boundary (it never reached a handler), then
      // each task went alone: the two valid ones reached the coordinator, the invalid one was
      // refused at the boundary again, with its own error.
      expect(seen['task.run.batch']).toBeUndefined()
      expect(seen['task.run']).toBe(2)
    } finally {
      await hive.stop()
    }
  })

  const nats = useNatsServer()

  for (const where of ['embedded bus', 'nats'] as const) {
    it(`batching - 60 tasks at once on one agent travel in batches and each completes once (${where})`, async () => {
      const ran: string[] = []
      const hive = await createHive({
        log: quiet(),
        ns: `batch${where === 'nats' ? 'n' : 'm'}`,
        ...(where === 'nats' ? { nats: { servers: nats.url } } : {}),
        agents: [
          {
            id: 'a1',
            type: 'w',
            capabilities: ['x'],
            max_tasks: 60,
            function: async (task: { task_id: string }) => {
              ran.push(task.task_id)
              return task.task_id
            },
          },
        ],
      })
      try {
        await hive.client.listAgents() // registered
        const seen = watch(hive, 'a1')
        await runMany(hive, 60)
        expect(ran.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `b${i}`).sort())
        expect(seen['task.assign.batch'] ?? 0).toBeGreaterThan(0)
        expect(seen['task.result.batch'] ?? 0).toBeGreaterThan(0)
        // Fewer messages than tasks each way: the batches carried several tasks.
        expect((seen['task.assign'] ?? 0) + (seen['task.assign.batch'] ?? 0)).toBeLessThan(60)
        // The client's 60 submits of one turn went as one `task.run.batch`.
        expect(seen['task.run.batch']).toBe(1)
        expect(seen['task.run']).toBeUndefined()
      } finally {
        await hive.stop()
      }
    })
  }

  for (const where of ['embedded bus', 'nats'] as const) {
    it(`batching - the task events of one step leave as one event.batch; client.events hands each out once (${where})`, async () => {
      const hive = await createHive({
        log: quiet(),
        ns: `evb${where === 'nats' ? 'n' : 'm'}`,
        ...(where === 'nats' ? { nats: { servers: nats.url } } : {}),
        agents: [{ id: 'a1', type: 'w', capabilities: ['x'], max_tasks: 30, function: async () => 'ok' }],
      })
      try {
        await hive.client.listAgents()
        const batches: number[] = []
        hive.bus.subscribe(
          subject(hive.bus.ns, { kind: 'event', actor: 'batch', id: '*', event: '>' }),
          (msg) => {
            if (msg.type === 'event.batch') batches.push(msg.body.items.length)
          },
        )
        const all = hive.client.events('task.>')
        const done = hive.client.events('task.*.done')
        const one = hive.client.events('task.b7.>')
        // A full pattern naming the hive's namespace, from a client of another namespace.
        const other = await createClient({ bus: hive.bus, ns: 'elsewhere' })
        const anyNs = other.events(`hive.${hive.bus.ns}.evt.task.b7.done`)
        const everything = hive.client.events() // `>`: batches arrive on the pattern's own subscription
        await runMany(hive, 30)
        const take = async (it: AsyncIterableIterator<BusEvent>, n: number) => {
          const got: BusEvent[] = []
          for (let i = 0; i < n; i++) got.push((await it.next()).value)
          return got
        }
        const seen = await take(all, 90)
        const byTask = new Map<string, string[]>()
        for (const e of seen) {
          const [, , , , task, name] = e.subject.split('.')
          byTask.set(task, [...(byTask.get(task) ?? []), name])
          // Each item comes as the message it would have been on its own subject.
          expect(e.msg.corr).toBe(task)
          expect(e.msg.type).toBe(name === 'done' ? 'task.done' : 'event')
        }
        expect(byTask.size).toBe(30)
        for (const names of byTask.values()) expect(names).toEqual(['queued', 'assigned', 'done'])
        const dones = await take(done, 30)
        expect(new Set(dones.map((e) => e.subject)).size).toBe(30)
        expect(dones.every((e) => e.msg.type === 'task.done' && e.msg.body.status === 'success')).toBe(true)
        expect((await take(one, 3)).map((e) => e.subject)).toEqual(
          ['queued', 'assigned', 'done'].map((n) => `hive.${hive.bus.ns}.evt.task.b7.${n}`),
        )
        // Everything: the 90 task events (among agent events), never a batch itself.
        const rest: BusEvent[] = []
        while (rest.filter((e) => e.subject.includes('.evt.task.')).length < 90) {
          rest.push((await everything.next()).value)
        }
        expect(rest.every((e) => e.msg.type !== 'event.batch')).toBe(true)
        // Fewer messages than events: the batches carried several each.
        expect(Math.max(...batches)).toBeGreaterThan(1)
        expect(batches.length).toBeLessThan(90)
        expect((await take(anyNs, 1)).map((e) => e.subject)).toEqual([`hive.${hive.bus.ns}.evt.task.b7.done`])
        for (const it of [all, done, one, anyNs, everything]) await it.return?.()
        await other.close()
      } finally {
        await hive.stop()
      }
    })
  }

  it('batching - the agents of one node send the results of one pass together, each under its own agent id', async () => {
    const hive = await createHive({
      log: quiet(),
      ns: 'batchnode',
      agents: ['n1', 'n2', 'n3', 'n4'].map((id) => ({
        id,
        type: 'w',
        capabilities: ['x'],
        max_tasks: 20,
        function: async () => id,
      })),
    })
    try {
      await hive.client.listAgents()
      const batches: { agent_id: string }[][] = []
      let singles = 0
      hive.bus.subscribe(subject(hive.bus.ns, { kind: 'service', service: 'coordinator' }), (msg) => {
        if (msg.type === 'task.result.batch') batches.push(msg.body.items)
        if (msg.type === 'task.result') singles++
      })
      const records = await runMany(hive, 60)
      // The output says which agent ran it: the record names the same agent.
      expect(records.every((r) => r.output === r.agent_id)).toBe(true)
      expect(new Set(records.map((r) => r.agent_id)).size).toBeGreaterThan(1)
      // Some message carried results of several agents, and fewer messages than tasks went.
      expect(batches.some((items) => new Set(items.map((i) => i.agent_id)).size > 1)).toBe(true)
      expect(batches.length + singles).toBeLessThan(60)
    } finally {
      await hive.stop()
    }
  })

  it('batching - assignments too large to travel together go one by one, and all complete', async () => {
    const hive = await createHive({ log: quiet(), ns: 'batchbig', nats: { servers: nats.url }, agents: [] })
    try {
      // 12 inputs of 200 kB wait in the queue; the agent that registers then gets all of them in
      // one step: together far over the server's 1 MB limit, each well under it.
      const waits = Array.from({ length: 12 }, (_, i) =>
        hive.client.submit(
          { task_id: `big${i}`, task_type: 'x', required_capabilities: ['x'], input: 'x'.repeat(200_000) },
          { wait: true, timeoutMs: 20_000 },
        ),
      )
      const ids = Array.from({ length: 12 }, (_, i) => `big${i}`)
      await waitFor(
        async () =>
          (await Promise.all(ids.map((id) => hive.client.status(id).catch(() => undefined)))).every(Boolean),
        { timeoutMs: 5000, message: '12 queued tasks' },
      )
      const seen = watch(hive, 'a1')
      await hive.addAgent({
        id: 'a1',
        type: 'w',
        capabilities: ['x'],
        max_tasks: 12,
        function: async () => 'ok',
      })
      const records = await Promise.all(waits)
      expect(records.map((r) => `${r.status}/${r.attempts}`)).toEqual(Array(12).fill('success/1'))
      expect(seen['task.assign']).toBe(12)
      expect(seen['task.assign.batch']).toBeUndefined()
    } finally {
      await hive.stop()
    }
  })
})
