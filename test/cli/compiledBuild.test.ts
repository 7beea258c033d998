/**
 * The compiled build (scripts/build.mjs) runs Hive as the sources do, TypeScript function modules
 * included. Compiled here into a directory of its own (inside the repository, so the build finds
 * node_modules) rather than dist/, which other tests' processes may be running.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const TIMEOUT = 60_000

describe('the compiled build', () => {
  let out: string
  beforeAll(() => {
    mkdirSync(join(ROOT, '.hive'), { recursive: true })
    out = mkdtempSync(join(ROOT, '.hive', 'test-build-'))
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc')
    execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' })
  }, TIMEOUT)
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it(
    'compiled build - hive run loads a TypeScript function module and runs the workflow',
    async () => {
      const main = join(out, 'src', 'cli', 'main.js')
      const wf = join(out, 'double.yaml')
      writeFileSync(
        wf,
        `workflow:
  id: double
  agents:
    - id: fn-1
      type: fn
      capabilities: [double]
      function: ${join(ROOT, 'test', 'fixtures', 'taskFunctions.ts')}#double
  tasks:
    - task_id: twice
      capabilities: double
      input: 21
`,
      )
      const state = mkdtempSync(join(out, 'state-'))
      const child = spawn(process.execPath, [main, 'run', wf, '-o', 'json', '--state-dir', state], {
        cwd: out,
        env: { ...process.env, HIVE_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const code = await new Promise<number | null>((r) => child.on('close', r))
      expect(code, stderr).toBe(0)
      const run = JSON.parse(stdout)
      expect(run.status).toBe('success')
      expect(run.tasks.twice).toMatchObject({ status: 'success', output: 42, agent_id: 'fn-1' })
    },
    TIMEOUT,
  )
})
