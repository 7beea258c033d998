/**
 * `hive workflow …` as a user runs it: separate CLI processes against a hive (in this process) on
 * a real nats-server, whose agent runs the workflows' shell lines. Templates render to files that
 * `hive run` runs on the embedded bus.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/output.ts'
import { loadWorkflow, parseWorkflow } from '../../src/workflow/loadWorkflow.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { runHive } from '../helpers/hiveProcess.ts'
import { useShellHive } from '../workflow/workflowRunKit.ts'

// Each CLI process costs ~2 s of CPU to start (tsx); on a loaded 2-core machine a test's few
// sequential calls can take far longer than that.
const TIMEOUT = 90_000
const shell = useShellHive('wfcli')

function file(name: string, text: string): string {
  const path = join(shell.dir, name)
  writeFileSync(path, text)
  return path
}

const gated = (id: string) =>
  file(
    `${id}.yaml`,
    `workflow:
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
`,
  )

async function hive$(...args: string[]) {
  return runHive([...args, '--nats', shell.server.url, '--ns', shell.ns])
}

async function startRun(path: string): Promise<string> {
  const r = await hive$('workflow', 'start', path)
  expect(r.code, r.stderr).toBe(EXIT.ok)
  const runId = r.stdout.trim()
  expect(runId).toMatch(/^[\w-]+-[\w-]{10}$/)
  return runId
}

const waitingApproval = (runId: string) =>
  waitFor(async () => (await shell.hive.workflows!.view(runId)).tasks.deploy.status === 'waiting_approval', {
    timeoutMs: 10_000,
    message: 'deploy waits for approval',
  })

describe('hive workflow', () => {
  it.concurrent(
    'workflowCli - start, status at the gate, approve, result (waited for) as hive run prints it',
    async () => {
      const runId = await startRun(gated('cli-gate'))
      await waitingApproval(runId)
      const status = await hive$('workflow', 'status', runId, '-o', 'json')
      expect(status.code, status.stderr).toBe(EXIT.ok)
      expect(JSON.parse(status.stdout)).toMatchObject({
        run_id: runId,
        status: 'running',
        live: true,
        tasks: { build: { status: 'success' }, deploy: { status: 'waiting_approval' } },
      })
      const approve = await hive$('workflow', 'approve', runId, 'deploy', '--by', 'ann')
      expect(approve.code, approve.stderr).toBe(EXIT.ok)
      expect(approve.stdout).toMatch(/approved deploy/)
      const result = await hive$('workflow', 'result', runId, '--wait', '-o', 'json')
      expect(result.code, result.stderr).toBe(EXIT.ok)
      const r = JSON.parse(result.stdout)
      expect(r).toEqual({
        workflow_id: 'cli-gate',
        run_id: runId,
        status: 'success',
        tasks: {
          build: expect.objectContaining({
            status: 'success',
            attempts: 1,
            agent_id: 'sh-1',
            output: { built: true },
          }),
          deploy: expect.objectContaining({ status: 'success', error: null }),
        },
      })
      expect(Object.keys(r.tasks.build).sort()).toEqual(
        ['agent_id', 'attempts', 'error', 'finished_at', 'output', 'started_at', 'status'].sort(),
      )
      expect(r.tasks.build.started_at).toMatch(/^\d{4}-\d\d-\d\dT/)
    },
    TIMEOUT,
  )

  it.concurrent(
    'workflowCli - reject fails the run, monitor shows it (exit 1), and export gives back a loadable definition',
    async () => {
      const path = gated('cli-reject')
      const runId = await startRun(path)
      await waitingApproval(runId)
      const reject = await hive$('workflow', 'reject', runId, 'deploy', '--reason', 'not today')
      expect(reject.code, reject.stderr).toBe(EXIT.ok)
      const monitor = await hive$('workflow', 'monitor', runId)
      expect(monitor.code, monitor.stderr).toBe(EXIT.failed)
      // Off a TTY the progress is plain lines, one per change; the result table goes to stdout.
      expect(monitor.stderr).toMatch(/deploy: failed/)
      expect(monitor.stderr).toMatch(new RegExp(`run ${runId}: failed`))
      expect(monitor.stdout).toMatch(/deploy\s+failed\s+0\s+rejected: not today/)
      const exported = await hive$('workflow', 'export', runId)
      expect(exported.code, exported.stderr).toBe(EXIT.ok)
      expect(parseWorkflow(exported.stdout, 'exported.yaml')).toEqual(await loadWorkflow(path))
    },
    TIMEOUT,
  )

  it.concurrent(
    'workflowCli - cancel stops a running run and signals its task process',
    async () => {
      const up = join(shell.dir, 'nap-up')
      const mark = join(shell.dir, 'nap-term')
      const runId = await startRun(
        file(
          'nap.yaml',
          `id: cli-nap
tasks:
  - task_id: nap
    run: trap 'echo term > ${mark}; exit 143' TERM; echo up > ${up}; sleep 30 & wait
    capabilities: shell
`,
        ),
      )
      await waitFor(() => existsSync(up), { timeoutMs: 10_000, message: 'the task shell is up' })
      const cancel = await hive$('workflow', 'cancel', runId, '--reason', 'enough')
      expect(cancel.code, cancel.stderr).toBe(EXIT.ok)
      expect(cancel.stdout).toMatch(/cancelled/)
      await waitFor(() => existsSync(mark), { timeoutMs: 5000, message: 'the shell trapped SIGTERM' })
      expect(readFileSync(mark, 'utf8').trim()).toBe('term')
      expect(await shell.hive.workflows!.view(runId)).toMatchObject({ status: 'cancelled', error: 'enough' })
    },
    TIMEOUT,
  )

  it.concurrent(
    'workflowCli - unknown runs, bad files and a missing service are one-line errors with their exit codes',
    async () => {
      const [status, noService, bad] = await Promise.all([
        hive$('workflow', 'status', 'nope-0123456789'),
        runHive(['workflow', 'list', '--nats', shell.server.url, '--ns', freshNs('empty')]),
        hive$(
          'workflow',
          'start',
          file('bad.yaml', 'id: bad\ntasks:\n  - task_id: a\n    depends_on: ghost\n'),
        ),
      ])
      expect(status.code).toBe(EXIT.usage)
      expect(status.stderr.trim()).toMatch(/^hive: unknown workflow run "nope-0123456789"[^\n]*$/)
      expect(noService.code).toBe(EXIT.unavailable)
      expect(noService.stderr).toMatch(/no workflow service answers/)
      expect(bad.code).toBe(EXIT.usage)
      expect(bad.stderr).toMatch(/bad\.yaml:4:\d+: .*ghost/)
    },
    TIMEOUT,
  )

  it.concurrent(
    'workflowCli - template list and render; the rendered file runs with hive run on the embedded bus',
    async () => {
      const tplDir = mkdtempSync(join(tmpdir(), 'hive-wfcli-tpl-'))
      writeFileSync(
        join(tplDir, 'greet.yaml'),
        `description: Greet someone with a shell agent
parameters:
  who: { description: Who to greet }
---
workflow:
  id: greet-{{ who }}
  agents:
    - { id: sh, type: shell, capabilities: [shell], exec: [sh, -c] }
  tasks:
    - task_id: hello
      run: printf '{"hello":"{{ who }}"}'
      capabilities: shell
`,
      )
      const out = join(shell.dir, 'greet-bob.yaml')
      const [list, render] = await Promise.all([
        runHive(['workflow', 'template', 'list', '--dir', tplDir, '-o', 'json']),
        runHive(['workflow', 'template', 'render', 'greet', '--dir', tplDir, '--set', 'who=bob', '-o', out]),
      ])
      expect(list.code, list.stderr).toBe(EXIT.ok)
      expect(JSON.parse(list.stdout).map((t: { name: string }) => t.name)).toEqual([
        'bugfix',
        'feature',
        'greet',
        'tdd',
      ])
      expect(render.code, render.stderr).toBe(EXIT.ok)
      expect(render.stdout).toMatch(/wrote .*greet-bob\.yaml \(workflow greet-bob\)/)
      const run = await runHive(['run', out, '-o', 'json', '--state-dir', join(shell.dir, 'state')])
      expect(run.code, run.stderr).toBe(EXIT.ok)
      expect(JSON.parse(run.stdout)).toMatchObject({
        workflow_id: 'greet-bob',
        status: 'success',
        tasks: { hello: { status: 'success', output: { hello: 'bob' } } },
      })
    },
    TIMEOUT,
  )
})
