import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/** Working directories for task attempts, one per (task, attempt), under one root. */
export interface Workspaces {
  readonly root: string
  /** Creates (if needed) and returns `root/<safe task id>/<attempt>`. */
  forTask(taskId: string, attempt: number): Promise<string>
  /**
   * The same directory, made only when first asked for (synchronously): for executors that may
   * never use it, since a mkdir per task costs more than a no-op task itself.
   */
  lazy(taskId: string, attempt: number): () => string
  /** Removes every attempt's directory of the task. */
  cleanup(taskId: string): Promise<void>
}

/**
 * Task ids come from clients, so each becomes a path-safe directory name ({@link safeTaskDir}):
 * no id can reach outside `root`, and no two ids share a directory.
 *
 * @example const ws = createWorkspaces('.hive/workspaces'); const dir = await ws.forTask('build', 1)
 */
export function createWorkspaces(root: string): Workspaces {
  const abs = resolve(root)
  return {
    root: abs,
    async forTask(taskId, attempt) {
      const dir = attemptDir(abs, taskId, attempt)
      await mkdir(dir, { recursive: true })
      return dir
    },
    lazy(taskId, attempt) {
      checkAttempt(attempt)
      let dir: string | undefined
      return () => {
        if (dir === undefined) {
          const d = attemptDir(abs, taskId, attempt)
          mkdirSync(d, { recursive: true })
          dir = d
        }
        return dir
      }
    },
    async cleanup(taskId) {
      await rm(join(abs, safeTaskDir(taskId)), { recursive: true, force: true })
    },
  }
}

function checkAttempt(attempt: number): void {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`)
  }
}

function attemptDir(root: string, taskId: string, attempt: number): string {
  checkAttempt(attempt)
  return join(root, safeTaskDir(taskId), String(attempt))
}

/** Longest directory name made, well under the usual 255-byte limit. */
const MAX_DIR = 120

/**
 * A directory name for a task id: readable, never `.`/`..`, never a path, and one-to-one, so two
 * ids never share a directory. Characters outside `[A-Za-z0-9._-]` are written `~XX` (UTF-8 hex);
 * names longer than {@link MAX_DIR} end in `~~` and a hash instead (a form escaping never makes).
 */
export function safeTaskDir(taskId: string): string {
  if (taskId === '') throw new RangeError('a task id cannot be empty')
  if (taskId === '.' || taskId === '..') return taskId.replaceAll('.', '~2e')
  const escaped = taskId.replace(/[^A-Za-z0-9._-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `~${b.toString(16).padStart(2, '0')}`).join(''),
  )
  if (escaped.length <= MAX_DIR) return escaped
  const hash = createHash('sha256').update(taskId).digest('hex').slice(0, 16)
  return `${escaped.slice(0, MAX_DIR - 18)}~~${hash}`
}
