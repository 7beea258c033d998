/**
 * Regression: the nats-server restarting while a workflow run waits out a retry backoff. The
 * snapshot write due at the retry failed, after which the run's snapshot writer never wrote again
 * and its final flush rejected: `hive run` died of an unhandled rejection at the end of a run that
 * succeeded (exit 1, no result), leaving a stale run in KV to be "resumed" later.
 */
import { describe, expect, it } from 'vitest'
import { createKvSnapshotStore } from '../../src/store/createKvSnapshotStore.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
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
  storedStatuses,
  tempDir,
  workflowYaml,
  writeWorkflow,
} from '../workflow/workflowRunKit.ts'

describe('workflow run - nats-server restart', () => {
  const nats = useNatsServer()

  it('workflow run - a server restart while a retry waits: the run ends with its result, exit 0, and KV holds the final state', async () => {
    const ns = freshNs('restart')
    const hive = await startNatsHive(nats.url, ns, [
      { id: 'sh-1', type: 'shell', capabilities: ['shell'], max_tasks: 1 },
    ])
    try {
      const logdir = tempDir('restart-log')
      const file = writeWorkflow(
        tempDir('restart'),
        'restart.yaml',
        workflowYaml({ id: 'server-restart' }, [
          step(
            'first',
            [],
            {},
            [
              `[ "$(grep -c '^first ' "$d/log")" -ge 2 ] || { echo "first run fails" >&2; exit 1; }`,
              `echo '{"n":4}'`,
            ],
            ['retry: { max: 1, backoff: fixed, initial: 2 }'],
          ),
          step('second', ['first'], { n: 'tasks.first.output.n' }, [
            read('n'),
            'echo "{\\"n\\":$((n * 2))}"',
          ]),
        ]),
      )
      const running = runWorkflow(file, { logdir, nats: { url: nats.url, ns } })
      await waitFor(() => readLog(logdir).length === 1, { timeoutMs: 30_000, message: 'first ran once' })
      // The failure reaches the runner, then the server goes away over the retry's due time.
      await new Promise((r) => setTimeout(r, 300))
      await nats.server.stop()
      await new Promise((r) => setTimeout(r, 3500))
      await nats.server.restart()

      const run = await running
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toContain('could not save the workflow snapshot; retrying')
      const r = parseRunResult(run)
      expect(comparable(r)).toEqual({
        workflow_id: 'server-restart',
        status: 'success',
        tasks: {
          first: { status: 'success', attempts: 2, output: { n: 4 }, error: null },
          second: { status: 'success', attempts: 1, output: { n: 8 }, error: null },
        },
      })
      const nc = (hive.client.bus as unknown as { nc?: Parameters<typeof createKvSnapshotStore>[0] }).nc
      if (!nc) throw new Error('the client bus has no NATS connection')
      const store = await createKvSnapshotStore(nc, ns)
      const stored = (await store.get('workflow.server-restart')) as StoredRun | undefined
      expect(stored?.run_id).toBe(r.run_id)
      expect(storedStatuses(stored)).toEqual({ first: 'success', second: 'success' })
    } finally {
      await hive.stop()
    }
  }, 90_000)
})
