/**
 * `hive run` killed with SIGKILL mid-workflow, then run again: it resumes the stored run (same
 * run id) without running finished tasks again and ends with the result an uninterrupted run
 * gives; `--fresh` starts over. On the embedded bus (state in `--state-dir`) and over NATS (state in
 * JetStream KV, with coordinator and agents as separate processes that outlive the runner). Also an
 * agent process killed mid-task over NATS: its task is requeued to another agent.
 */
import { describe, expect, it } from 'vitest'
import type { HiveClient } from '../../src/api/createClient.ts'
import { createKvSnapshotStore } from '../../src/store/createKvSnapshotStore.ts'
import type { SnapshotStore } from '../../src/store/snapshotStore.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { runHive, startHive } from '../helpers/hiveProcess.ts'
import { useNatsServer } from '../helpers/natsServer.ts'
import {
  comparable,
  parseRunResult,
  read,
  readLog,
  runWorkflow,
  type StoredRun,
  startNatsHive,
  step,
  storedRunInDir,
  storedStatuses,
  tempDir,
  workflowYaml,
  writeWorkflow,
} from '../workflow/workflowRunKit.ts'

const WORKFLOW_ID = 'crash-chain'
const AGENTS = [{ id: 'sh-1', type: 'shell', capabilities: ['shell'], max_tasks: 2 }]

/** a → b → (slow ∥ c) → d; every step logs its run; outputs carry numbers from step to step. */
function crashWorkflow(dir: string): string {
  const tasks = [
    step('a', [], {}, [`echo '{"n":1}'`]),
    step('b', ['a'], { n: 'tasks.a.output.n' }, [read('n'), 'echo "{\\"n\\":$((n + 1))}"']),
    step('slow', ['b'], { n: 'tasks.b.output.n' }, [read('n'), 'sleep 2', 'echo "{\\"n\\":$((n * 100))}"']),
    step('c', ['b'], { n: 'tasks.b.output.n' }, [read('n'), 'echo "{\\"n\\":$((n + 10))}"']),
    step('d', ['slow', 'c'], { n: 'tasks.slow.output.n', m: 'tasks.c.output.n' }, [
      read('n'),
      read('m'),
      'echo "{\\"sum\\":$((n + m))}"',
    ]),
  ]
  return writeWorkflow(dir, 'crash.yaml', workflowYaml({ id: WORKFLOW_ID, agent: true }, tasks))
}

/** What every complete run of the crash workflow reports, however often it was interrupted. */
const EXPECTED = {
  workflow_id: WORKFLOW_ID,
  status: 'success',
  tasks: {
    a: { status: 'success', attempts: 1, output: { n: 1 }, error: null },
    b: { status: 'success', attempts: 1, output: { n: 2 }, error: null },
    slow: { status: 'success', attempts: 1, output: { n: 200 }, error: null },
    c: { status: 'success', attempts: 1, output: { n: 12 }, error: null },
    d: { status: 'success', attempts: 1, output: { sum: 212 }, error: null },
  },
}

/** Where the kill lands: a, b and c done and saved, slow running (its process started). */
const MID_RUN = { a: 'success', b: 'success', slow: 'running', c: 'success', d: 'pending' }

/** How often each task of run `runId` ran, by the shared log. */
function countsOf(logdir: string, runId: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const e of readLog(logdir).filter((l) => l.attemptId.startsWith(`${runId}:`)))
    out[e.task] = (out[e.task] ?? 0) + 1
  return out
}

/**
 * Starts `hive run`, waits until the stored run stands at {@link MID_RUN}, kills the runner with
 * SIGKILL and returns the id of the run it left behind.
 */
async function runAndKill(args: string[], logdir: string, stored: () => Promise<StoredRun | undefined>) {
  const runner = startHive(['run', ...args, '--output', 'json'], { env: { HIVE_LOG_LEVEL: 'warn' } })
  let runId = ''
  await waitFor(
    async () => {
      const s = await stored()
      if (!s || JSON.stringify(storedStatuses(s)) !== JSON.stringify(MID_RUN)) return false
      runId = s.run_id
      return readLog(logdir).some((l) => l.task === 'slow' && l.attemptId.startsWith(`${runId}:`))
    },
    { timeoutMs: 30_000, intervalMs: 20, message: 'the run saved with slow running' },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${runner.output()}`)
  })
  runner.kill9()
  expect(await runner.exited).toBe(null) // killed by the signal, not ended by itself
  return runId
}

/**
 * The whole scenario on one bus: kill, resume, kill again, `--fresh`. `extraRuns` says how often
 * `slow` runs in all for the interrupted run: on the embedded bus the killed runner took its agent
 * with it, so resume runs slow again; over NATS the agent outlives the runner and the coordinator
 * answers the resubmitted attempt from the run it already has.
 */
async function crashScenario(
  args: string[],
  logdir: string,
  stored: () => Promise<StoredRun | undefined>,
  slowRuns: number,
) {
  const runId = await runAndKill(args, logdir, stored)
  expect(countsOf(logdir, runId)).toEqual({ a: 1, b: 1, slow: 1, c: 1 })

  const resumed = await runHive(['run', ...args, '--output', 'json'])
  const r = parseRunResult(resumed)
  expect(resumed.code, resumed.stderr).toBe(0)
  expect(resumed.stderr).toContain(`resuming run ${runId}`)
  expect(resumed.stderr).not.toContain('changed since') // same file, same --set
  expect(r.run_id).toBe(runId)
  expect(comparable(r)).toEqual(EXPECTED)
  // a, b and c finished before the kill: not run again.
  expect(countsOf(logdir, runId)).toEqual({ a: 1, b: 1, slow: slowRuns, c: 1, d: 1 })

  // Interrupted again, then started over with --fresh: a new run, every task once, same result.
  const second = await runAndKill(args, logdir, stored)
  expect(second).not.toBe(runId)
  const fresh = await runHive(['run', ...args, '--output', 'json', '--fresh'])
  const f = parseRunResult(fresh)
  expect(fresh.code, fresh.stderr).toBe(0)
  expect(fresh.stderr).not.toContain('resuming')
  expect(f.run_id).not.toBe(second)
  expect(f.run_id).not.toBe(runId)
  expect(countsOf(logdir, f.run_id)).toEqual({ a: 1, b: 1, slow: 1, c: 1, d: 1 })
  // The uninterrupted run reports what the resumed one did.
  expect(comparable(f)).toEqual(comparable(r))
}

describe('workflow crash - embedded bus', () => {
  it.concurrent('workflow crash - a runner killed with SIGKILL resumes from --state-dir without rerunning finished tasks; --fresh starts over', async () => {
    const dir = tempDir('crash')
    const logdir = tempDir('crash-log')
    const stateDir = tempDir('crash-state')
    const args = [crashWorkflow(dir), '--state-dir', stateDir, '--set', `logdir=${logdir}`]
    await crashScenario(args, logdir, async () => storedRunInDir(stateDir, WORKFLOW_ID), 2)
  }, 90_000)
})

describe('workflow crash - over NATS', () => {
  const nats = useNatsServer()

  /** The run `hive run` keeps in the namespace's KV bucket, read from the test's own connection. */
  async function kvStore(client: HiveClient, ns: string): Promise<SnapshotStore> {
    const nc = (client.bus as unknown as { nc?: Parameters<typeof createKvSnapshotStore>[0] }).nc
    if (!nc) throw new Error('the client bus has no NATS connection')
    return createKvSnapshotStore(nc, ns)
  }

  it.concurrent('workflow crash - a runner killed with SIGKILL resumes from JetStream KV while coordinator and agent stay up', async () => {
    const ns = freshNs('crash')
    const hive = await startNatsHive(nats.url, ns, AGENTS)
    try {
      const store = await kvStore(hive.client, ns)
      const dir = tempDir('crash')
      const logdir = tempDir('crash-log')
      const args = [crashWorkflow(dir), '--nats', nats.url, '--ns', ns, '--set', `logdir=${logdir}`]
      const stored = async () => (await store.get(`workflow.${WORKFLOW_ID}`)) as StoredRun | undefined
      await crashScenario(args, logdir, stored, 1)
    } finally {
      await hive.stop()
    }
  }, 90_000)

  it.concurrent('workflow crash - an agent killed with SIGKILL mid-task: its task is requeued to another agent and the run succeeds', async () => {
    const ns = freshNs('agentkill')
    const agents = ['sh-1', 'sh-2'].map((id) => ({
      id,
      type: 'shell',
      capabilities: ['shell'],
      max_tasks: 1,
    }))
    const hive = await startNatsHive(nats.url, ns, agents, { heartbeatMs: 200 })
    try {
      const dir = tempDir('agentkill')
      const logdir = tempDir('agentkill-log')
      const file = writeWorkflow(
        dir,
        'agentkill.yaml',
        workflowYaml({ id: 'agent-kill' }, [
          step('a', [], {}, [`echo '{"n":3}'`]),
          step('long', ['a'], { n: 'tasks.a.output.n' }, [
            read('n'),
            'sleep 2',
            'echo "{\\"n\\":$((n * 7))}"',
          ]),
          step('z', ['long'], { n: 'tasks.long.output.n' }, [read('n'), 'echo "{\\"n\\":$((n + 1))}"']),
        ]),
      )
      const running = runWorkflow(file, { logdir, nats: { url: nats.url, ns } })
      let victim = ''
      await waitFor(
        () => {
          victim = readLog(logdir).find((l) => l.task === 'long')?.agent ?? ''
          return victim !== ''
        },
        { timeoutMs: 30_000, intervalMs: 20, message: 'long started' },
      )
      const survivor = victim === 'sh-1' ? 'sh-2' : 'sh-1'
      expect(hive.agents.has(victim)).toBe(true)
      hive.agents.get(victim)?.kill9()

      const run = await running
      const r = parseRunResult(run)
      expect(run.code, run.stderr).toBe(0)
      expect(comparable(r)).toEqual({
        workflow_id: 'agent-kill',
        status: 'success',
        tasks: {
          a: { status: 'success', attempts: 1, output: { n: 3 }, error: null },
          long: { status: 'success', attempts: 1, output: { n: 21 }, error: null },
          z: { status: 'success', attempts: 1, output: { n: 22 }, error: null },
        },
      })
      expect(r.tasks.long.agent_id).toBe(survivor)
      // long ran on the killed agent, then once more (same attempt task id) on the survivor.
      const longRuns = readLog(logdir).filter((l) => l.task === 'long')
      expect(longRuns.map((l) => l.agent)).toEqual([victim, survivor])
      expect(new Set(longRuns.map((l) => l.attemptId)).size).toBe(1)
      expect(
        readLog(logdir)
          .filter((l) => l.task !== 'long')
          .map((l) => l.task),
      ).toEqual(['a', 'z'])
      const dead = (await hive.client.listAgents()).find((a) => a.agent_id === victim)
      expect(dead?.state).toBe('dead')
    } finally {
      await hive.stop()
    }
  }, 90_000)
})
