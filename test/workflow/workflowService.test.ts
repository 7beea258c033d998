/**
 * The workflow service on a real nats-server, with an in-process hive whose agent runs the tasks'
 * shell lines: runs are started, approved, rejected, cancelled and queried over the bus, and
 * found again in the JetStream KV store by a second service.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { startWorkflowRun } from '../../src/actors/startWorkflowRun.ts'
import { startWorkflowService, type WorkflowRunView } from '../../src/actors/startWorkflowService.ts'
import type { Body, MessageType } from '../../src/bus/catalogue.ts'
import { expectType } from '../../src/bus/createBus.ts'
import { envelope } from '../../src/bus/envelope.ts'
import { subject } from '../../src/bus/subjects.ts'
import { createKvSnapshotStore } from '../../src/store/createKvSnapshotStore.ts'
import { parseWorkflow } from '../../src/workflow/loadWorkflow.ts'
import { waitFor } from '../helpers/busFactories.ts'
import { useShellHive } from './workflowRunKit.ts'

const log = createLogger({ level: 'silent' })
const shell = useShellHive('wfsvc')

async function ask<T extends MessageType>(type: MessageType, body: unknown, reply: T): Promise<Body<T>> {
  const svc = subject(shell.hive.bus.ns, { kind: 'service', service: 'workflow' })
  const msg = envelope(type as 'ping', body as Body<'ping'>, { from: 'test' })
  return expectType(await shell.hive.bus.request(svc, msg, { timeoutMs: 5000 }), reply).body
}

const status = (runId: string) => ask('workflow.status', { run_id: runId }, 'workflow.status.result')

async function until(runId: string, ok: (v: WorkflowRunView) => boolean, what: string) {
  let last: WorkflowRunView | undefined
  await waitFor(
    async () => {
      last = await status(runId)
      return ok(last)
    },
    { timeoutMs: 10_000, intervalMs: 50, message: what },
  )
  return last!
}

const def = (yaml: string) => parseWorkflow(yaml, 'test.yaml')
const gated = (id: string) =>
  def(`
id: ${id}
tasks:
  - task_id: build
    run: printf '{"built":true}'
    capabilities: shell
  - task_id: deploy
    depends_on: build
    approval: ship it?
    run: echo deployed
    capabilities: shell
`)

describe('workflow service', () => {
  it('workflowService - createHive runs it beside the coordinator; a run is started, listed, exported and succeeds', async () => {
    expect(shell.hive.workflows).toBeDefined()
    const wf = def(`
id: simple
tasks:
  - task_id: a
    run: printf '{"n":1}'
    capabilities: shell
  - task_id: b
    depends_on: a
    run: echo two
    capabilities: shell
`)
    const started = await ask('workflow.start', { definition: wf, fresh: true }, 'workflow.started')
    expect(started).toMatchObject({ workflow_id: 'simple', resumed: false })
    const v = await until(started.run_id, (r) => r.status === 'success', 'run succeeded')
    expect(v.tasks.a).toMatchObject({ status: 'success', attempts: 1, agent_id: 'sh-1', output: { n: 1 } })
    expect(v.tasks.b.status).toBe('success')
    const { runs } = await ask('workflow.list', {}, 'workflow.list.result')
    expect(runs.map((r) => r.run_id)).toContain(started.run_id)
    const exported = await ask('workflow.export', { run_id: started.run_id }, 'workflow.definition')
    expect(exported.definition).toEqual(wf)
  })

  it('workflowService - an approval gate waits; approve runs the task; approving it again is refused', async () => {
    const { run_id } = await ask('workflow.start', { definition: gated('gate-ok') }, 'workflow.started')
    await until(run_id, (r) => r.tasks.deploy.status === 'waiting_approval', 'deploy waits for approval')
    await expect(
      ask('workflow.approve', { run_id, task_id: 'build' }, 'workflow.status.result'),
    ).rejects.toMatchObject({ code: 'NOT_AWAITING_APPROVAL' })
    await expect(
      ask('workflow.approve', { run_id, task_id: 'nope' }, 'workflow.status.result'),
    ).rejects.toMatchObject({ code: 'UNKNOWN_TASK' })
    const after = await ask(
      'workflow.approve',
      { run_id, task_id: 'deploy', by: 'ann' },
      'workflow.status.result',
    )
    expect(['ready', 'running', 'success']).toContain(after.tasks.deploy.status)
    await until(run_id, (r) => r.status === 'success', 'run succeeded')
    await expect(
      ask('workflow.approve', { run_id, task_id: 'deploy' }, 'workflow.status.result'),
    ).rejects.toMatchObject({ code: 'RUN_FINISHED' })
  })

  it('workflowService - reject fails the gated task with the reason, and the run with it', async () => {
    const { run_id } = await ask('workflow.start', { definition: gated('gate-no') }, 'workflow.started')
    await until(run_id, (r) => r.tasks.deploy.status === 'waiting_approval', 'deploy waits for approval')
    await ask('workflow.reject', { run_id, task_id: 'deploy', reason: 'not today' }, 'workflow.status.result')
    const v = await until(run_id, (r) => r.status === 'failed', 'run failed')
    expect(v.tasks.deploy).toMatchObject({ status: 'failed', error: 'rejected: not today' })
  })

  it('workflowService - cancel stops a running run and its task process gets SIGTERM', async () => {
    const mark = join(shell.dir, 'cancel-mark')
    const up = join(shell.dir, 'cancel-up')
    const { run_id } = await ask(
      'workflow.start',
      {
        definition: def(`
id: sleepy
tasks:
  - task_id: nap
    run: trap 'echo term > ${mark}; exit 143' TERM; echo up > ${up}; sleep 30 & wait
    capabilities: shell
`),
      },
      'workflow.started',
    )
    await until(run_id, (r) => r.tasks.nap.status === 'running', 'nap running')
    // Cancel once the shell has set its trap, or it would die of SIGTERM without a word.
    await waitFor(() => existsSync(up), { message: 'the task shell is up' })
    const v = await ask('workflow.cancel', { run_id, reason: 'enough' }, 'workflow.status.result')
    expect(v.status).toBe('cancelled')
    await waitFor(() => existsSync(mark), { timeoutMs: 5000, message: 'the task shell trapped SIGTERM' })
    expect(readFileSync(mark, 'utf8').trim()).toBe('term')
    expect((await status(run_id)).tasks.nap.status).toBe('cancelled')
  })

  it('workflowService - unknown run ids, invalid definitions and a second live run are typed errors', async () => {
    for (const [type, body] of [
      ['workflow.status', { run_id: 'nope-0123456789' }],
      ['workflow.cancel', { run_id: 'nope' }],
      ['workflow.approve', { run_id: 'nope', task_id: 'x' }],
      ['workflow.reject', { run_id: 'nope', task_id: 'x' }],
      ['workflow.export', { run_id: 'nope' }],
    ] as const) {
      await expect(ask(type, body, 'workflow.status.result')).rejects.toMatchObject({
        code: 'UNKNOWN_RUN',
        name: 'UnknownRunError',
      })
    }
    const bad = { ...gated('bad'), tasks: [{ ...gated('bad').tasks[1], depends_on: ['ghost'] }] }
    await expect(ask('workflow.start', { definition: bad }, 'workflow.started')).rejects.toMatchObject({
      code: 'INVALID_WORKFLOW',
      message: expect.stringMatching(/ghost/),
    })
    const first = await ask('workflow.start', { definition: gated('twice') }, 'workflow.started')
    await expect(
      ask('workflow.start', { definition: gated('twice'), fresh: true }, 'workflow.started'),
    ).rejects.toMatchObject({ code: 'WORKFLOW_RUNNING', data: { run_id: first.run_id } })
    await ask('workflow.cancel', { run_id: first.run_id }, 'workflow.status.result')
  })

  it('workflowService - a second service finds finished runs in the KV store and forwards approvals to a run it does not host; a start resumes an orphaned run', async () => {
    const store = await createKvSnapshotStore(
      (shell.hive.bus as unknown as { nc: Parameters<typeof createKvSnapshotStore>[0] }).nc,
      shell.hive.bus.ns,
    )
    const { run_id } = await ask(
      'workflow.start',
      { definition: gated('elsewhere-done') },
      'workflow.started',
    )
    await until(run_id, (r) => r.tasks.deploy.status === 'waiting_approval', 'gate reached')
    await ask('workflow.reject', { run_id, task_id: 'deploy' }, 'workflow.status.result')
    await until(run_id, (r) => r.status === 'failed', 'run failed')
    // A run hosted by no service, as `hive run --nats` hosts one.
    const outside = await startWorkflowRun({
      def: gated('outside'),
      bus: shell.hive.bus,
      client: shell.hive.client,
      store,
      log,
    })
    const second = startWorkflowService({ bus: shell.hive.bus, client: shell.hive.client, store, log })
    try {
      const found = await second.view(run_id)
      expect(found).toMatchObject({ status: 'failed', live: false })
      expect((await second.list()).map((r) => r.run_id)).toEqual(
        expect.arrayContaining([run_id, outside.runId]),
      )
      await waitFor(() => outside.summary().tasks.deploy.status === 'waiting_approval', {
        message: 'gate reached',
      })
      // Whichever service answers, the approval reaches the run's mailbox.
      await ask('workflow.approve', { run_id: outside.runId, task_id: 'deploy' }, 'workflow.status.result')
      expect((await outside.done).status).toBe('success')

      // A run left unfinished by a process that is gone: its stored gate cannot be answered, and
      // a start of the same workflow resumes it.
      const orphan = await startWorkflowRun({
        def: gated('orphan'),
        bus: shell.hive.bus,
        client: shell.hive.client,
        store,
        log,
      })
      await waitFor(() => orphan.summary().tasks.deploy.status === 'waiting_approval', {
        message: 'gate reached',
      })
      orphan.stop()
      await waitFor(
        async () => (await second.view(orphan.runId)).tasks.deploy.status === 'waiting_approval',
        {
          message: 'gate stored',
        },
      )
      await expect(
        ask('workflow.approve', { run_id: orphan.runId, task_id: 'deploy' }, 'workflow.status.result'),
      ).rejects.toMatchObject({ code: 'RUN_NOT_LIVE' })
      const resumed = await ask('workflow.start', { definition: gated('orphan') }, 'workflow.started')
      expect(resumed).toEqual({ run_id: orphan.runId, workflow_id: 'orphan', resumed: true })
      await ask('workflow.approve', { run_id: orphan.runId, task_id: 'deploy' }, 'workflow.status.result')
      await until(orphan.runId, (r) => r.status === 'success', 'resumed run succeeded')
    } finally {
      await second.stop()
      outside.stop()
    }
  })
})
