/** Shared bits of the executor tests: tasks, temporary workspaces, process liveness. */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { ExecutionContext } from '../../src/actors/executors/types.ts'
import type { Task } from '../../src/schema/domain.ts'

export function makeTask(over: Partial<Task> = {}): Task {
  return { task_id: 't1', task_type: 'test', required_capabilities: ['shell'], priority: 5, ...over }
}

export function makeCtx(workspace: string, over: Partial<ExecutionContext> = {}): ExecutionContext {
  return { task: makeTask(), attempt: 1, workspace, signal: new AbortController().signal, ...over }
}

/** A fresh directory per test, removed by the returned cleanup. */
export async function tempDir(prefix = 'hive-exec-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

/**
 * Whether `pid` is dead but not yet reaped. An orphaned grandchild is reparented to PID 1, and in
 * a container PID 1 may reap late or never; until then `kill(pid, 0)` still finds the zombie,
 * although nothing of the process runs any more. Linux only (reads /proc); false elsewhere.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/** Asserts that `pid` no longer runs: `kill(pid, 0)` throws ESRCH, or only its zombie is left. */
export function expectGone(pid: number): void {
  expect(Number.isInteger(pid) && pid > 0, `not a pid: ${pid}`).toBe(true)
  expect(isAlive(pid) && !isZombie(pid), `process ${pid} is still running`).toBe(false)
}
