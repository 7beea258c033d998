import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/busFactories.ts'
import { runHive, startHive } from '../helpers/hiveProcess.ts'

describe('hive run - one runner per workflow and state directory', () => {
  it('hive run - a second run of the same workflow and state dir is refused while the first runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runlock-'))
    const file = join(dir, 'slow.yaml')
    writeFileSync(
      file,
      `workflow:
  id: slow-lock
  agents:
    - { id: s1, type: shell, capabilities: [shell], exec: ["sh", "-c"] }
  tasks:
    - task_id: nap
      agent_capabilities: [shell]
      run: "while [ ! -e '${join(dir, 'go')}' ]; do sleep 0.1; done; echo '{}'"
`,
    )
    // The first run's task waits for the test to say go: the second run is tried while it surely
    // still runs, however slowly the processes start on a loaded machine.
    const state = join(dir, 'state')
    const first = startHive(['run', file, '--state-dir', state, '--quiet'])
    await waitFor(() => existsSync(join(state, 'slow-lock.lock')), {
      timeoutMs: 15_000,
      message: 'first run locked',
    })
    const second = await runHive(['run', file, '--state-dir', state])
    expect(second.code, second.stderr).toBe(2)
    expect(second.stderr).toContain('already running in process')
    writeFileSync(join(dir, 'go'), '')
    expect(await first.exited).toBe(0)
    // The lock went with the first run: the same command now runs (a finished run starts anew).
    const third = await runHive(['run', file, '--state-dir', state, '--output', 'json'])
    expect(third.code, third.stderr).toBe(0)
  }, 60_000)
})
