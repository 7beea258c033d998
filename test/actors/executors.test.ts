import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCommandExecutor } from '../../src/actors/executors/createCommandExecutor.ts'
import { ExecutorConfigError } from '../../src/actors/executors/ExecutorConfigError.ts'
import { expectGone, makeCtx, makeTask, tempDir } from './executorKit.ts'

const node = process.execPath
let ws: string
let remove: () => Promise<void>

beforeEach(async () => {
  ;({ dir: ws, remove } = await tempDir())
})
afterEach(() => remove())

/** Collects progress lines and resolves `first(n)` once n lines have arrived. */
function progress() {
  const lines: string[] = []
  const waiters: Array<{ n: number; resolve: () => void }> = []
  return {
    lines,
    onProgress(line: string) {
      lines.push(line)
      for (const w of waiters) if (lines.length >= w.n) w.resolve()
    },
    first(n: number): Promise<string[]> {
      if (lines.length >= n) return Promise.resolve(lines.slice(0, n))
      return new Promise((resolve) => waiters.push({ n, resolve: () => resolve(lines.slice(0, n)) }))
    },
  }
}

describe('createCommandExecutor', () => {
  it('createCommandExecutor - argv runs without a shell: metacharacters in arguments stay literal', async () => {
    const canary = join(ws, 'pwned')
    const hostile = ['a; rm -rf /tmp/nothing', `$(touch ${canary})`, `\`touch ${canary}\``, '*', '$HOME']
    const ex = createCommandExecutor({ argv: ['printf', '%s\\n', ...hostile] })
    const r = await ex.execute(makeCtx(ws))
    expect(r.status).toBe('success')
    expect(r.stdout?.split('\n').slice(0, -1)).toEqual(hostile)
    expect(existsSync(canary)).toBe(false)
  })

  it('createCommandExecutor - hostile task input reaches the process only as data', async () => {
    const canary = join(ws, 'pwned')
    const input = { text: `it's "$(touch ${canary})"; \`touch ${canary}\``, n: [1, 2] }
    const ex = createCommandExecutor({
      shell: 'cat > stdin.json; printf %s "$HIVE_INPUT" > env.json; echo done',
    })
    const r = await ex.execute(makeCtx(ws, { task: makeTask({ input }) }))
    expect(r.status).toBe('success')
    expect(JSON.parse(await readFile(join(ws, 'stdin.json'), 'utf8'))).toEqual(input)
    expect(JSON.parse(await readFile(join(ws, 'env.json'), 'utf8'))).toEqual(input)
    expect(existsSync(canary)).toBe(false)
  })

  it('createCommandExecutor - sets the HIVE_* environment and runs in the workspace', async () => {
    const script = `console.log(JSON.stringify({ cwd: process.cwd(), id: process.env.HIVE_TASK_ID,
      attempt: process.env.HIVE_ATTEMPT, type: process.env.HIVE_TASK_TYPE, ws: process.env.HIVE_WORKSPACE,
      extra: process.env.EXTRA }))`
    const ex = createCommandExecutor({ argv: [node, '-e', script], env: { EXTRA: 'yes' } })
    const task = makeTask({ task_id: 'build-7', task_type: 'compile' })
    const r = await ex.execute(makeCtx(ws, { task, attempt: 3 }))
    expect(r).toMatchObject({ status: 'success', exitCode: 0 })
    expect(r.output).toEqual({ cwd: ws, id: 'build-7', attempt: '3', type: 'compile', ws, extra: 'yes' })
  })

  it('createCommandExecutor - parses JSON stdout, and wraps plain text as { stdout } trimmed', async () => {
    const json = await createCommandExecutor({ shell: `echo '  {"ok": true, "n": [1]}  '` }).execute(
      makeCtx(ws),
    )
    expect(json.output).toEqual({ ok: true, n: [1] })
    const text = await createCommandExecutor({ shell: 'echo; echo "  hello world  "; echo' }).execute(
      makeCtx(ws),
    )
    expect(text.output).toEqual({ stdout: 'hello world' })
  })

  it('createCommandExecutor - output.json written by the command wins over stdout', async () => {
    const ex = createCommandExecutor({
      shell: `echo '{"from":"file"}' > output.json; echo '{"from":"stdout"}'`,
    })
    expect((await ex.execute(makeCtx(ws))).output).toEqual({ from: 'file' })
  })

  it('createCommandExecutor - an output.json left before the run is not taken as its output', async () => {
    await writeFile(join(ws, 'output.json'), '{"from":"stale"}')
    const r = await createCommandExecutor({ shell: `echo '{"from":"stdout"}'` }).execute(makeCtx(ws))
    expect(r.output).toEqual({ from: 'stdout' })
  })

  it('createCommandExecutor - an output.json that is not JSON fails the task', async () => {
    const r = await createCommandExecutor({ shell: 'echo "{nope" > output.json' }).execute(makeCtx(ws))
    expect(r.status).toBe('failed')
    expect(r.error).toMatch(/output\.json is not valid JSON/)
  })

  it('createCommandExecutor - a non-zero exit fails with the code and the end of stderr', async () => {
    const r = await createCommandExecutor({ shell: 'echo "disk full" >&2; exit 3' }).execute(makeCtx(ws))
    expect(r).toMatchObject({ status: 'failed', exitCode: 3 })
    expect(r.error).toBe('exited with code 3: disk full')
  })

  it('createCommandExecutor - a hanging command and its grandchild are killed at the timeout', async () => {
    const p = progress()
    const ex = createCommandExecutor({
      shell: 'echo $$; sleep 30 & echo $!; wait',
      timeoutMs: 300,
      killGraceMs: 500,
    })
    const started = Date.now()
    const r = await ex.execute(makeCtx(ws, { onProgress: p.onProgress }))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(r.status).toBe('timeout')
    expect(r.error).toBe('timed out after 300 ms (SIGTERM)')
    const [shPid, sleepPid] = (await p.first(2)).map(Number)
    expectGone(shPid)
    expectGone(sleepPid)
  })

  it('createCommandExecutor - a command that ignores SIGTERM gets SIGKILL after the grace period', async () => {
    const p = progress()
    const ex = createCommandExecutor({
      shell: `trap '' TERM; echo $$; sleep 30 & echo $!; wait; wait; wait`,
      timeoutMs: 200,
      killGraceMs: 400,
    })
    const started = Date.now()
    const r = await ex.execute(makeCtx(ws, { onProgress: p.onProgress }))
    const took = Date.now() - started
    expect(r.status).toBe('timeout')
    expect(r.signal).toBe('SIGKILL')
    expect(r.error).toBe('timed out after 200 ms (SIGTERM, then SIGKILL after 400 ms)')
    expect(took).toBeGreaterThanOrEqual(550)
    expect(took).toBeLessThan(5000)
    const [shPid, sleepPid] = (await p.first(2)).map(Number)
    expectGone(shPid)
    expectGone(sleepPid)
  })

  it("createCommandExecutor - the task's timeout (seconds) overrides the executor's", async () => {
    const ex = createCommandExecutor({ argv: ['sleep', '30'], timeoutMs: 60_000 })
    const r = await ex.execute(makeCtx(ws, { task: makeTask({ timeout: 0.2 }) }))
    expect(r.status).toBe('timeout')
    expect(r.error).toMatch(/^timed out after 200 ms/)
  })

  it('createCommandExecutor - caps captured output, keeps the tail and marks the truncation', async () => {
    const ex = createCommandExecutor({
      shell: `head -c 200000 /dev/zero | tr '\\0' a; echo; echo END; head -c 50000 /dev/zero | tr '\\0' e >&2`,
      maxOutputBytes: 1000,
    })
    const r = await ex.execute(makeCtx(ws))
    expect(r.status).toBe('success')
    expect(r.stdout).toMatch(/^\[… 199005 bytes truncated …\]\n/)
    expect(r.stdout?.endsWith('a\nEND\n')).toBe(true)
    expect(r.stdout?.length).toBeLessThan(1100)
    expect(r.stderr).toMatch(/^\[… 49000 bytes truncated …\]\ne{1000}$/)
    expect(r.output).toEqual({ stdout: expect.stringMatching(/END$/) })
  })

  it('createCommandExecutor - a missing command is a failed result with a clear message, not a throw', async () => {
    const ex = createCommandExecutor({ argv: ['hive-no-such-command-xyz', '--flag'] })
    const r = await ex.execute(makeCtx(ws))
    expect(r).toMatchObject({
      status: 'failed',
      error: 'cannot run "hive-no-such-command-xyz": not found on PATH (ENOENT)',
    })
    expect(await ex.healthCheck()).toBe(false)
  })

  it('createCommandExecutor - a missing workspace is a failed result naming it', async () => {
    const r = await createCommandExecutor({ argv: ['true'] }).execute(makeCtx(join(ws, 'gone')))
    expect(r).toEqual({ status: 'failed', error: `workspace ${join(ws, 'gone')} does not exist` })
  })

  it('createCommandExecutor - an abort cancels the run and kills the process', async () => {
    const p = progress()
    const ac = new AbortController()
    const ex = createCommandExecutor({ shell: 'echo $$; sleep 30 & echo $!; wait' })
    const run = ex.execute(makeCtx(ws, { signal: ac.signal, onProgress: p.onProgress }))
    const [shPid, sleepPid] = (await p.first(2)).map(Number)
    ac.abort()
    const r = await run
    expect(r).toMatchObject({ status: 'cancelled', error: 'cancelled' })
    expectGone(shPid)
    expectGone(sleepPid)
  })

  it('createCommandExecutor - an already aborted signal runs nothing', async () => {
    const ac = new AbortController()
    ac.abort()
    const r = await createCommandExecutor({ shell: 'touch ran' }).execute(makeCtx(ws, { signal: ac.signal }))
    expect(r.status).toBe('cancelled')
    expect(existsSync(join(ws, 'ran'))).toBe(false)
  })

  it('createCommandExecutor - close() cancels every run still going', async () => {
    const p = progress()
    const ex = createCommandExecutor({ shell: 'echo up; sleep 30' })
    const run = ex.execute(makeCtx(ws, { onProgress: p.onProgress }))
    await p.first(1)
    await ex.close?.()
    expect((await run).status).toBe('cancelled')
  })

  it('createCommandExecutor - reports stdout lines as they arrive', async () => {
    const p = progress()
    await createCommandExecutor({ shell: 'printf "one\\r\\ntwo\\nthree"' }).execute(
      makeCtx(ws, { onProgress: p.onProgress }),
    )
    expect(p.lines).toEqual(['one', 'two', 'three'])
  })

  it('createCommandExecutor - large input goes to a file instead of the environment', async () => {
    const input = { blob: 'x'.repeat(200_000) }
    const ex = createCommandExecutor({
      shell: 'test -z "$HIVE_INPUT" && cmp -s "$HIVE_INPUT_FILE" - && echo same',
    })
    const r = await ex.execute(makeCtx(ws, { task: makeTask({ input }) }))
    expect(r.output).toEqual({ stdout: 'same' })
  })

  it('createCommandExecutor - healthCheck finds argv[0] or sh on PATH', async () => {
    expect(await createCommandExecutor({ argv: ['sleep', '1'] }).healthCheck()).toBe(true)
    expect(await createCommandExecutor({ shell: 'true' }).healthCheck()).toBe(true)
    expect(await createCommandExecutor({ argv: [join(ws, 'nothing-here')] }).healthCheck()).toBe(false)
  })

  it('createCommandExecutor - refuses a configuration with neither or both of argv and shell', () => {
    expect(() => createCommandExecutor({})).toThrow(ExecutorConfigError)
    expect(() => createCommandExecutor({ argv: ['true'], shell: 'true' })).toThrow(
      /exactly one of argv or shell/,
    )
    expect(() => createCommandExecutor({ argv: [] })).toThrow(/non-empty argv/)
  })
})
