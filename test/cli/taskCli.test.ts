/**
 * The task, agent and events commands end to end: `hive` processes against a hive on a real
 * nats-server, checked by what they print (JSON lines with `-o json`) and their exit codes.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createHive, type Hive } from '../../src/api/createHive.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { runHive, startHive } from '../helpers/hiveProcess.ts'
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts'
import { tempDir } from '../workflow/workflowRunKit.ts'

const FIELDS = ['task_id', 'status', 'agent_id', 'attempts', 'output', 'error', 'started_at', 'finished_at']

let server: NatsServer
let hive: Hive
let common: string[]

beforeAll(async () => {
  server = await startNatsServer()
  const ns = freshNs('taskcli')
  common = ['--nats', server.url, '--ns', ns]
  hive = await createHive({
    ns,
    nats: { servers: server.url },
    log: createLogger({ level: 'silent' }),
    agents: [
      {
        id: 'fn-1',
        type: 'worker',
        capabilities: ['double'],
        max_tasks: 8,
        function: 'test/fixtures/taskFunctions.ts#double',
      },
    ],
  })
  await waitFor(async () => (await hive.client.listAgents()).length === 1, { message: 'agent registered' })
}, 20_000)

afterAll(async () => {
  await hive?.stop()
  await server?.stop()
})

const hive$ = (...args: string[]) => runHive([...args, ...common])
const jsonLines = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))

describe('hive task / agent / events', () => {
  it('task submit --wait -o json prints the record; task status and task list show it; an unknown id exits 2', async () => {
    const run = await hive$(
      'task',
      'submit',
      '--type',
      't',
      '--capabilities',
      'double',
      '--input',
      '21',
      '--wait',
      '-o',
      'json',
    )
    expect(run.code, run.stderr).toBe(0)
    const [record] = jsonLines(run.stdout)
    expect(Object.keys(record).sort()).toEqual([...FIELDS].sort())
    expect(record).toMatchObject({
      status: 'success',
      agent_id: 'fn-1',
      attempts: 1,
      output: 42,
      error: null,
    })

    const status = await hive$('task', 'status', record.task_id, '-o', 'json')
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({
      task_id: record.task_id,
      status: 'success',
      output: 42,
    })
    const list = await hive$('task', 'list', '--status', 'success', '-o', 'json')
    expect(JSON.parse(list.stdout).map((t: { task_id: string }) => t.task_id)).toContain(record.task_id)

    const unknown = await hive$('task', 'status', 'no-such-task', '-o', 'json')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown task "no-such-task"')
  }, 60_000)

  it('task submit --file --wait prints one JSON line per task; events tails the done events of the batch once each', async () => {
    const dir = tempDir('taskcli')
    const ids = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6']
    const file = join(dir, 'tasks.jsonl')
    writeFileSync(
      file,
      ids
        .map((id, i) =>
          JSON.stringify({ task_id: id, task_type: 't', required_capabilities: ['double'], input: i }),
        )
        .join('\n'),
    )
    const tail = startHive(['events', 'task.*.done', '-o', 'json', ...common], {
      env: { HIVE_LOG_LEVEL: 'error' },
    })
    try {
      // Ready when a task submitted now shows up in its output.
      let n = 0
      await waitFor(
        async () => {
          await hive.client.submit(
            { task_id: `warm-${n++}`, task_type: 't', required_capabilities: ['double'], input: 0 },
            { wait: true },
          )
          return tail.output().includes('"subject":"hive.')
        },
        { timeoutMs: 20_000, message: `hive events printed a done event: ${tail.output()}` },
      )
      const run = await hive$('task', 'submit', '--file', file, '--wait', '-o', 'json')
      expect(run.code, run.stderr).toBe(0)
      const records = jsonLines(run.stdout)
      expect(records.map((r) => r.task_id).sort()).toEqual(ids)
      expect(records.every((r) => r.status === 'success' && r.output === 2 * ids.indexOf(r.task_id))).toBe(
        true,
      )

      const done = () => jsonLines(tail.output()).filter((e) => ids.includes(e.corr))
      await waitFor(() => done().length >= ids.length, {
        timeoutMs: 10_000,
        message: `events: ${tail.output()}`,
      })
      // Nothing more comes for these tasks: the coordinator publishes events in order, so once a
      // task submitted after them shows its done event, any repeat of theirs would be out already.
      await hive.client.submit(
        { task_id: 'last', task_type: 't', required_capabilities: ['double'], input: 0 },
        { wait: true },
      )
      await waitFor(() => jsonLines(tail.output()).some((e) => e.corr === 'last'), {
        timeoutMs: 10_000,
        message: `the last task's done event: ${tail.output()}`,
      })
      const events = done()
      expect(events.map((e) => e.subject).sort()).toEqual(
        ids.map((id) => `hive.${hive.bus.ns}.evt.task.${id}.done`),
      )
      expect(events.every((e) => e.type === 'task.done' && e.body.status === 'success')).toBe(true)
    } finally {
      await tail.stop()
    }
  }, 90_000)

  it('agent list filters, agent status, agent drain; an unknown agent exits 2', async () => {
    const list = await hive$('agent', 'list', '--type', 'worker', '--has-capacity', '-o', 'json')
    expect(list.code, list.stderr).toBe(0)
    expect(JSON.parse(list.stdout).map((a: { agent_id: string }) => a.agent_id)).toEqual(['fn-1'])
    const none = await hive$('agent', 'list', '--type', 'nobody', '-o', 'json')
    expect(JSON.parse(none.stdout)).toEqual([])

    const status = await hive$('agent', 'status', 'fn-1', '-o', 'json')
    expect(JSON.parse(status.stdout)).toMatchObject({
      agent_id: 'fn-1',
      capabilities: ['double'],
      max_tasks: 8,
    })
    const unknown = await hive$('agent', 'status', 'ghost')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('ghost')

    const drain = await hive$('agent', 'drain', 'fn-1', '-o', 'json')
    expect(drain.code, drain.stderr).toBe(0)
    await waitFor(async () => !(await hive.client.agentStatus('fn-1')).available, {
      message: 'fn-1 draining',
    })
    const available = await hive$('agent', 'list', '--available', '-o', 'json')
    expect(JSON.parse(available.stdout)).toEqual([])
  }, 60_000)
})
