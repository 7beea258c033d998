import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createCommandExecutor } from '../../src/actors/executors/createCommandExecutor.ts'
import {
  killLeftoverProcessGroups,
  recordProcessGroup,
} from '../../src/actors/executors/leftoverProcesses.ts'
import { expectGone, makeCtx, makeTask, tempDir } from './executorKit.ts'

describe('leftover processes', () => {
  // Regression: a `hive run` killed with SIGKILL left its tasks' processes running, and the resumed
  // run started the same task again beside the old copy.
  it('leftover processes - a new run of the task ends the process group an earlier, killed Hive left behind', async () => {
    const { dir, remove } = await tempDir()
    try {
      const ws = join(dir, 't1', '1')
      await mkdir(ws, { recursive: true })
      // What a killed Hive leaves: a detached group still working, and its record.
      const orphan = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' })
      await recordProcessGroup(ws, 1, orphan.pid!)
      const exec = createCommandExecutor({ argv: ['sh', '-c', 'echo \'{"ok":true}\''] })
      const ws2 = join(dir, 't1', '2')
      await mkdir(ws2, { recursive: true })
      const res = await exec.execute(makeCtx(ws2, { task: makeTask(), attempt: 2 }))
      expect(res.status).toBe('success')
      await new Promise((r) => setTimeout(r, 50))
      expectGone(orphan.pid!)
      // The run cleaned up its own record; none is left for the task.
      expect(readdirSync(join(dir, 't1')).filter((n) => n.startsWith('.hive-pgid-'))).toEqual([])
    } finally {
      await remove()
    }
  })

  it('leftover processes - a running task is recorded, and a record whose pid was reused is not killed', async () => {
    const { dir, remove } = await tempDir()
    try {
      const ws = join(dir, 't1', '1')
      await mkdir(ws, { recursive: true })
      const exec = createCommandExecutor({ argv: ['sh', '-c', 'sleep 0.5'] })
      const running = exec.execute(makeCtx(ws))
      await new Promise((r) => setTimeout(r, 200))
      expect(existsSync(join(dir, 't1', '.hive-pgid-1'))).toBe(true)
      await running
      expect(existsSync(join(dir, 't1', '.hive-pgid-1'))).toBe(false)
      // A record naming a live process that started at another time (a reused pid) is dropped, not killed.
      const bystander = spawn('sleep', ['5'], { detached: true, stdio: 'ignore' })
      const { writeFile } = await import('node:fs/promises')
      await writeFile(join(dir, 't1', '.hive-pgid-7'), JSON.stringify({ pgid: bystander.pid, start: '1' }))
      expect(await killLeftoverProcessGroups(ws)).toEqual([])
      expect(() => process.kill(bystander.pid!, 0)).not.toThrow()
      bystander.kill('SIGKILL')
    } finally {
      await remove()
    }
  })
})
