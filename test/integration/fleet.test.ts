/**
 * A hive of separate OS processes on a real nats-server: one coordinator node and three agent
 * processes. Faults are real: an agent killed with SIGKILL, the server stopped and restarted.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, type HiveClient } from '../../src/api/createClient.ts'
import type { TaskRecord } from '../../src/bus/catalogue.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { type HiveProcess, startHive } from '../helpers/hiveProcess.ts'
import { type NatsServer, useNatsServer } from '../helpers/natsServer.ts'

const HEARTBEAT = 200

async function startFleet(server: NatsServer, ns: string) {
  const dir = mkdtempSync(join(tmpdir(), 'hive-fleet-'))
  const config = join(dir, 'hive.yaml')
  writeFileSync(config, `heartbeat_interval_ms: ${HEARTBEAT}\nstrategy: least_loaded\n`)
  const common = ['--nats', server.url, '--ns', ns]
  const coordinator = startHive(['node', '--roles', 'coordinator,allocator', '--config', config, ...common])
  const agents = ['a1', 'a2', 'a3'].map((id) =>
    startHive([
      'agent',
      'start',
      '--id',
      id,
      '--type',
      'worker',
      '--capabilities',
      'work',
      '--max-tasks',
      '4',
      '--heartbeat',
      String(HEARTBEAT),
      '--function',
      'test/fixtures/fleetWork.ts#work',
      ...common,
    ]),
  )
  const client = await createClient({ servers: server.url, ns, timeoutMs: 3000, pollMs: 1000 })
  await waitFor(
    async () => (await client.listAgents().catch(() => [])).filter((a) => a.state !== 'dead').length === 3,
    {
      timeoutMs: 20_000,
      message: 'three agents registered',
    },
  )
  return { coordinator, agents, client, config }
}

/** Counts `task.done` events per task id: each must be seen exactly once. */
function countDone(client: HiveClient) {
  const counts = new Map<string, number>()
  const events = client.events('task.*.done')
  void (async () => {
    for await (const { msg } of events) {
      if (msg.type !== 'task.done') continue
      counts.set(msg.body.task_id, (counts.get(msg.body.task_id) ?? 0) + 1)
    }
  })()
  return { counts, stop: () => events.return?.() }
}

function submitAll(client: HiveClient, n: number, ms: number, prefix: string): Promise<TaskRecord[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.submit(
        { task_id: `${prefix}-${i}`, task_type: 'work', required_capabilities: ['work'], input: { ms } },
        { wait: true },
      ),
    ),
  )
}

describe('fleet - multi-process hive on a real nats-server', () => {
  const nats = useNatsServer()
  let procs: HiveProcess[] = []
  afterAll(() => {
    for (const p of procs) p.kill9()
  })

  it('fleet - 300 tasks complete exactly once while an agent process is killed with SIGKILL', async () => {
    const ns = freshNs('fleet')
    const { coordinator, agents, client } = await startFleet(nats.server, ns)
    procs = [coordinator, ...agents]
    const done = countDone(client)
    try {
      const results = submitAll(client, 300, 30, 'k')
      await waitFor(async () => (await client.listTasks({ status: 'success' })).length >= 60, {
        timeoutMs: 30_000,
        message: 'a fifth of the tasks done',
      })
      agents[1].kill9()
      const records = await results
      expect(records).toHaveLength(300)
      expect(records.every((r) => r.status === 'success')).toBe(true)
      expect(new Set(records.map((r) => r.task_id)).size).toBe(300)
      // The killed agent's in-flight tasks ran again elsewhere, under a higher attempt number.
      expect(records.some((r) => r.attempts > 1)).toBe(true)
      await waitFor(() => done.counts.size === 300, { timeoutMs: 5000, message: 'every done event seen' })
      expect([...done.counts.values()].every((c) => c === 1)).toBe(true)
      const killed = (await client.listAgents()).find((a) => a.agent_id === 'a2')
      expect(killed?.state).toBe('dead')
    } finally {
      done.stop()
      await client.close()
      for (const p of procs) p.kill9()
    }
  }, 90_000)

  it('fleet - 300 tasks complete when the nats-server stops for 2 s mid-run and restarts', async () => {
    const ns = freshNs('fleet')
    const { coordinator, agents, client } = await startFleet(nats.server, ns)
    procs = [coordinator, ...agents]
    try {
      const results = submitAll(client, 300, 30, 'r')
      await waitFor(async () => (await client.listTasks({ status: 'success' })).length >= 60, {
        timeoutMs: 30_000,
        message: 'a fifth of the tasks done',
      })
      await nats.server.stop()
      await new Promise((r) => setTimeout(r, 2000))
      await nats.server.restart()
      const records = await results
      expect(records).toHaveLength(300)
      expect(
        records.filter((r) => r.status !== 'success').map((r) => [r.task_id, r.status, r.error]),
      ).toEqual([])
      expect(new Set(records.map((r) => r.task_id)).size).toBe(300)
    } finally {
      await client.close()
      for (const p of procs) p.kill9()
    }
  }, 120_000)

  it('fleet - a coordinator node killed with SIGKILL and restarted loses no task, and the client sees each complete once', async () => {
    const ns = freshNs('fleet')
    const { coordinator, agents, client, config } = await startFleet(nats.server, ns)
    procs = [coordinator, ...agents]
    const done = countDone(client)
    try {
      const results = submitAll(client, 200, 30, 'c')
      await waitFor(async () => (await client.listTasks({ status: 'success' })).length >= 40, {
        timeoutMs: 30_000,
        message: 'a fifth of the tasks done',
      })
      coordinator.kill9()
      await coordinator.exited
      const again = startHive([
        'node',
        '--roles',
        'coordinator',
        '--config',
        config,
        '--nats',
        nats.url,
        '--ns',
        ns,
      ])
      procs.push(again)
      const records = await results
      expect(records).toHaveLength(200)
      expect(
        records.filter((r) => r.status !== 'success').map((r) => [r.task_id, r.status, r.error]),
      ).toEqual([])
      expect(new Set(records.map((r) => r.task_id)).size).toBe(200)
      // Each done event comes from the coordinator that finished the task: one per task.
      await waitFor(() => done.counts.size >= 200, { timeoutMs: 5000, message: 'done events seen' })
      const twice = [...done.counts.entries()].filter(([, c]) => c > 1)
      // A task the old coordinator finished just before dying may be finished again by the new
      // one (it never heard of it); the client still resolves each task once. Such doubles are
      // bounded by what was in flight at the kill.
      expect(twice.length).toBeLessThanOrEqual(4 * 3)
      // The agents re-registered with the new coordinator on their own.
      await waitFor(async () => (await client.listAgents()).filter((a) => a.state === 'alive').length === 3, {
        timeoutMs: 10_000,
        message: 'agents re-registered',
      })
    } finally {
      done.stop()
      await client.close()
      for (const p of procs) p.kill9()
    }
  }, 120_000)
})
