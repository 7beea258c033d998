import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { delimiter, join, resolve } from 'node:path'

/**
 * Finds the file a `spawn(command)` would run: a command with a `/` is taken relative to `cwd`,
 * anything else is looked up on `PATH`. Resolves `undefined` when there is no executable file.
 * @internal
 */
export async function resolveExecutable(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<string | undefined> {
  if (command === '') return undefined
  const candidates = command.includes('/')
    ? [resolve(cwd, command)]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, command))
  for (const file of candidates) {
    if (await isExecutableFile(file)) return file
  }
  return undefined
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false
    await access(file, constants.X_OK)
    return true
  } catch {
    // Missing or not executable: exactly the "no" this probe exists to answer.
    return false
  }
}
