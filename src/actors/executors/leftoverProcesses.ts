import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/**
 * A task's process group, recorded in its workspace while it runs, so that a Hive process that
 * was killed outright (SIGKILL: no chance to clean up) does not leave it working on: the next run
 * of the same task on the same agent — a resumed workflow, a requeued attempt — ends it first.
 * Records hold the group leader's start time from /proc, so a recycled pid is never killed.
 * @internal
 */
const PREFIX = '.hive-pgid-'

/** The start time of a live process (undefined when gone, or a zombie: dead, not yet reaped). */
function startTime(pid: number): Promise<string | undefined> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (s) => {
      // Fields after the command name, which may hold spaces: state is field 3, starttime field 22.
      const fields = s.slice(s.lastIndexOf(')') + 2).split(' ')
      return fields[0] === 'Z' ? undefined : fields[19]
    },
    () => undefined,
  )
}

/** Records a started process group in the attempt's workspace. */
export async function recordProcessGroup(workspace: string, attempt: number, pgid: number): Promise<void> {
  const start = await startTime(pgid)
  if (start === undefined) return
  await writeFile(join(dirname(workspace), `${PREFIX}${attempt}`), JSON.stringify({ pgid, start })).catch(
    () => {},
  )
}

/** Forgets a process group that ended normally. */
export function forgetProcessGroup(workspace: string, attempt: number): Promise<void> {
  return rm(join(dirname(workspace), `${PREFIX}${attempt}`), { force: true })
}

/**
 * Kills the recorded process groups of earlier runs of this task (any attempt) that are still
 * alive, and waits until they are gone. Returns the pgids it killed.
 */
export async function killLeftoverProcessGroups(workspace: string): Promise<number[]> {
  const taskDir = dirname(workspace)
  const names = await readdir(taskDir).catch(() => [] as string[])
  const killed: number[] = []
  for (const name of names.filter((n) => n.startsWith(PREFIX))) {
    const file = join(taskDir, name)
    try {
      const { pgid, start } = JSON.parse(await readFile(file, 'utf8')) as { pgid: number; start: string }
      if ((await startTime(pgid)) === start) {
        process.kill(-pgid, 'SIGKILL')
        killed.push(pgid)
        for (let i = 0; i < 50 && (await startTime(pgid)) === start; i++) {
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    } catch {
      // Unreadable record or already gone: nothing to kill.
    }
    await rm(file, { force: true })
  }
  return killed
}
