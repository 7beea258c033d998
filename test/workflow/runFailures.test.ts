/**
 * `hive run` with failing tasks: retries with a fixed backoff, `on_failure: fail_fast` cancelling a
 * running sibling (its process group is signalled), `on_failure: continue` running the independent
 * branch. Exit code 1 and status `failed` whenever the run does not succeed.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { useNatsServer } from '../helpers/natsServer.ts'
import {
  isRunning,
  parseRunResult,
  read,
  readLog,
  readStr,
  runWorkflow,
  startNatsHive,
  step,
  tempDir,
  workflowYaml,
  writeWorkflow,
} from './workflowRunKit.ts'

const statuses = (tasks: Record<string, { status: string }>) =>
  Object.fromEntries(Object.entries(tasks).map(([id, t]) => [id, t.status]))

/** Runs `file` on the embedded bus with a fresh log dir; returns the result and the log dir. */
async function runEmbedded(file: string, sets: string[] = []) {
  const logdir = tempDir('fail-log')
  const run = await runWorkflow(
    file,
    { logdir, stateDir: tempDir('fail-state') },
    ...sets.flatMap((s) => ['--set', s]),
  )
  return { run, result: parseRunResult(run), logdir }
}

/** flaky fails until its third run; `next` takes its output. */
function retryWorkflow(max: number): string {
  const stamp = (what: string) => `echo "${what} $(date +%s%N)" >> "$d/flaky.times"`
  return writeWorkflow(
    tempDir('retry'),
    'retry.yaml',
    workflowYaml({ id: `retry-${max}`, agent: true }, [
      step(
        'flaky',
        [],
        {},
        [
          stamp('start'),
          `n=$(grep -c '^flaky ' "$d/log")`,
          `[ "$n" -ge 3 ] || { echo "run $n fails" >&2; ${stamp('end')}; exit 1; }`,
          'echo "{\\"n\\":$n}"',
        ],
        [`retry: { max: ${max}, backoff: fixed, initial: 0.1 }`],
      ),
      step('next', ['flaky'], { n: 'tasks.flaky.output.n' }, [read('n'), 'echo "{\\"got\\":$n}"']),
    ]),
  )
}

/** slow runs `sleep 30` in its process group; bad fails once slow runs; after waits for slow. */
function failFastWorkflow(agent: boolean): string {
  return writeWorkflow(
    tempDir('failfast'),
    'failfast.yaml',
    workflowYaml({ id: 'fail-fast', agent }, [
      step('slow', [], {}, [
        'sleep 30 &',
        'echo $! > "$d/sleep.pid"',
        'echo $$ > "$d/slow.pid"',
        'wait',
        "echo '{}'",
      ]),
      step('bad', [], {}, ['until [ -s "$d/slow.pid" ]; do sleep 0.05; done', 'echo boom >&2', 'exit 3']),
      step('after', ['slow'], {}, ["echo '{}'"]),
    ]),
  )
}

/** What a fail_fast run reports, and that slow's processes are gone. */
async function expectFailedFast(run: Awaited<ReturnType<typeof runWorkflow>>, logdir: string) {
  const r = parseRunResult(run)
  expect(run.code, run.stderr).toBe(1)
  expect(r.status).toBe('failed')
  expect(statuses(r.tasks)).toEqual({ slow: 'cancelled', bad: 'failed', after: 'cancelled' })
  expect(r.tasks.bad.error).toContain('exited with code 3: boom')
  expect(r.tasks.slow.error).toContain('task bad failed')
  expect(r.tasks.after.attempts).toBe(0)
  const pids = ['slow.pid', 'sleep.pid'].map((f) => Number(readFileSync(join(logdir, f), 'utf8')))
  expect(pids.every((p) => p > 1)).toBe(true)
  await waitFor(() => pids.every((p) => !isRunning(p)), {
    timeoutMs: 5000,
    message: `slow's shell and its sleep (${pids.join(', ')}) gone`,
  })
  // Each task ran once: nothing was retried or rerun on the way out.
  expect(
    readLog(logdir)
      .map((l) => l.task)
      .sort(),
  ).toEqual(['bad', 'slow'])
}

describe('workflow failures - retries', () => {
  it.concurrent('workflow failures - a task failing twice passes on its 3rd attempt with retry max 2', async () => {
    const { run, result: r, logdir } = await runEmbedded(retryWorkflow(2))
    expect(run.code, run.stderr).toBe(0)
    expect(r.status).toBe('success')
    expect(r.tasks.flaky).toMatchObject({ status: 'success', attempts: 3, output: { n: 3 }, error: null })
    expect(r.tasks.next).toMatchObject({ status: 'success', attempts: 1, output: { got: 3 } })
    const runs = readLog(logdir).filter((l) => l.task === 'flaky')
    expect(runs.map((l) => l.attemptId)).toEqual([1, 2, 3].map((a) => `${r.run_id}:flaky:${a}`))
    // The fixed backoff: each retry starts at least 0.1 s after the failure before it.
    const times = readFileSync(join(logdir, 'flaky.times'), 'utf8').trim().split('\n')
    const ms = (l: string) => Number(BigInt(l.split(' ')[1]) / 1_000_000n)
    expect(times.map((l) => l.split(' ')[0])).toEqual(['start', 'end', 'start', 'end', 'start'])
    for (const i of [1, 3]) expect(ms(times[i + 1]) - ms(times[i])).toBeGreaterThanOrEqual(100)
  }, 60_000)

  it.concurrent('workflow failures - with retry max 1 the same task fails after 2 attempts and the run exits 1', async () => {
    const { run, result: r, logdir } = await runEmbedded(retryWorkflow(1))
    expect(run.code, run.stderr).toBe(1)
    expect(r.status).toBe('failed')
    expect(r.tasks.flaky).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: 'exited with code 1: run 2 fails',
    })
    expect(r.tasks.next.status).not.toBe('success')
    expect(r.tasks.next.attempts).toBe(0)
    expect(readLog(logdir).map((l) => l.task)).toEqual(['flaky', 'flaky'])
  }, 60_000)
})

describe('workflow failures - on_failure', () => {
  it.concurrent('workflow failures - fail_fast cancels the running sibling, kills its processes and exits 1', async () => {
    const { run, logdir } = await runEmbedded(failFastWorkflow(true))
    await expectFailedFast(run, logdir)
  }, 60_000)

  /** good1 finishes only once the runner has saved bad as failed, so fail_fast would cancel it. */
  function branchesWorkflow(onFailure: string): string {
    const saved = '"bad":{"status":"failed"'
    return writeWorkflow(
      tempDir('branches'),
      'branches.yaml',
      workflowYaml({ id: `branches-${onFailure}`, onFailure, agent: true }, [
        step('bad', [], {}, ['sleep 0.1', 'exit 4']),
        step('bad-child', ['bad'], {}, ["echo '{}'"]),
        step('good1', [], { state: 'vars.state' }, [
          readStr('state'),
          'i=0',
          `until grep -qF '${saved}' "$state"/*.json 2>/dev/null; do`,
          '  i=$((i + 1)); [ "$i" -lt 400 ] || { echo "bad never saved as failed" >&2; exit 7; }',
          '  sleep 0.05',
          'done',
          `echo '{"n":5}'`,
        ]),
        step('good2', ['good1'], { n: 'tasks.good1.output.n' }, [read('n'), 'echo "{\\"n\\":$((n * 2))}"']),
      ]),
    )
  }

  async function runBranches(onFailure: string) {
    const logdir = tempDir('branches-log')
    const state = tempDir('branches-state')
    const file = branchesWorkflow(onFailure)
    const run = await runWorkflow(file, { logdir, stateDir: state }, '--set', `state=${state}`)
    return { run, r: parseRunResult(run) }
  }

  it.concurrent('workflow failures - continue runs the independent branch to success and still exits 1', async () => {
    const [cont, fast] = await Promise.all([runBranches('continue'), runBranches('fail_fast')])
    expect(cont.run.code, cont.run.stderr).toBe(1)
    expect(cont.r.status).toBe('failed')
    expect(statuses(cont.r.tasks)).toEqual({
      bad: 'failed',
      'bad-child': 'skipped',
      good1: 'success',
      good2: 'success',
    })
    expect(cont.r.tasks.good2.output).toEqual({ n: 10 })
    expect(cont.r.tasks['bad-child'].error).toBe('dependency bad ended failed')
    // The same workflow under fail_fast: the branch is cancelled when bad fails.
    expect(fast.run.code, fast.run.stderr).toBe(1)
    expect(statuses(fast.r.tasks)).toMatchObject({ bad: 'failed', good1: 'cancelled', good2: 'cancelled' })
  }, 60_000)
})

describe('workflow failures - over NATS', () => {
  const nats = useNatsServer()

  it('workflow failures - fail_fast reaches a separate agent process: the sibling is killed, the agent lives on', async () => {
    const ns = freshNs('ff')
    const hive = await startNatsHive(nats.url, ns, [
      { id: 'sh-1', type: 'shell', capabilities: ['shell'], max_tasks: 2 },
    ])
    try {
      const logdir = tempDir('ff-log')
      const file = failFastWorkflow(false)
      const run = await runWorkflow(file, { logdir, nats: { url: nats.url, ns } })
      await expectFailedFast(run, logdir)
      // The agent process did the killing and is still there, with nothing left running.
      expect(hive.agents.get('sh-1')?.child.exitCode).toBe(null)
      await waitFor(async () => (await hive.client.agentStatus('sh-1'))?.load === 0, {
        timeoutMs: 5000,
        message: 'sh-1 idle again',
      })
    } finally {
      await hive.stop()
    }
  }, 60_000)
})
