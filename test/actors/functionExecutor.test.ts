import { relative } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFunctionExecutor } from '../../src/actors/executors/createFunctionExecutor.ts'
import { ExecutorConfigError } from '../../src/actors/executors/ExecutorConfigError.ts'
import { parseFunctionSpec } from '../../src/actors/executors/parseFunctionSpec.ts'
import { makeCtx, makeTask, tempDir } from './executorKit.ts'

const fixtures = relative(process.cwd(), new URL('../fixtures/', import.meta.url).pathname)
const fromFixture = (name: string) =>
  createFunctionExecutor(parseFunctionSpec(`${fixtures}/taskFunctions.ts#${name}`))
let ws: string
let remove: () => Promise<void>

beforeEach(async () => {
  ;({ dir: ws, remove } = await tempDir())
})
afterEach(() => remove())

describe('createFunctionExecutor', () => {
  it('createFunctionExecutor - loads a .ts module by relative path and calls its default export', async () => {
    const ex = createFunctionExecutor({ module: `${fixtures}/taskFunctions.ts` })
    const r = await ex.execute(
      makeCtx(ws, { task: makeTask({ task_id: 'a1', input: { q: 1 } }), attempt: 2 }),
    )
    expect(r).toEqual({
      status: 'success',
      output: { input: { q: 1 }, task_id: 'a1', attempt: 2, workspace: ws },
    })
    expect(await ex.healthCheck()).toBe(true)
  })

  it('createFunctionExecutor - the resolved value of a named async export is the output', async () => {
    const r = await fromFixture('double').execute(makeCtx(ws, { task: makeTask({ input: 21 }) }))
    expect(r).toEqual({ status: 'success', output: 42 })
  })

  it('createFunctionExecutor - a throw fails the task with its message', async () => {
    expect(await fromFixture('fail').execute(makeCtx(ws))).toEqual({
      status: 'failed',
      error: 'the review found 3 problems',
    })
  })

  it('createFunctionExecutor - an abort cancels the run and aborts the function signal', async () => {
    let seen: AbortSignal | undefined
    const ex = createFunctionExecutor({
      fn: (_task, ctx) => {
        seen = ctx.signal
        return new Promise(() => {})
      },
    })
    const ac = new AbortController()
    const run = ex.execute(makeCtx(ws, { signal: ac.signal }))
    await Promise.resolve()
    ac.abort()
    expect(await run).toEqual({ status: 'cancelled', error: 'cancelled' })
    expect(seen?.aborted).toBe(true)
  })

  it('createFunctionExecutor - an abort heard through onAbort (as agents send it) cancels the run, before or during it', async () => {
    let seen: AbortSignal | undefined
    const ex = createFunctionExecutor({
      fn: (_task, ctx) => {
        seen = ctx.signal
        return new Promise(() => {})
      },
    })
    const listeners: (() => void)[] = []
    const signal = new AbortController().signal // never aborted: onAbort alone must do it
    const run = ex.execute({ ...makeCtx(ws, { signal }), onAbort: (l) => listeners.push(l) })
    await Promise.resolve()
    expect(listeners).toHaveLength(1)
    for (const l of listeners) l()
    expect(await run).toEqual({ status: 'cancelled', error: 'cancelled' })
    expect(seen?.aborted).toBe(true)
    // Aborted before it starts: onAbort calls at once, the function never runs.
    let ran = false
    const late = createFunctionExecutor({ fn: () => (ran = true) })
    const r = await late.execute({ ...makeCtx(ws, { signal }), onAbort: (l) => l() })
    expect(r).toEqual({ status: 'cancelled', error: 'cancelled' })
    await new Promise((res) => setImmediate(res)) // the load and the call would have run by now
    expect(ran).toBe(false)
  })

  it("createFunctionExecutor - the task's timeout ends a function that never settles", async () => {
    const started = Date.now()
    const r = await fromFixture('waitForAbort').execute(makeCtx(ws, { task: makeTask({ timeout: 0.1 }) }))
    expect(r).toEqual({ status: 'timeout', error: 'timed out after 100 ms' })
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('createFunctionExecutor - an already aborted signal does not call the function', async () => {
    let called = false
    const ex = createFunctionExecutor({
      fn: () => {
        called = true
      },
    })
    const ac = new AbortController()
    ac.abort()
    expect((await ex.execute(makeCtx(ws, { signal: ac.signal }))).status).toBe('cancelled')
    expect(called).toBe(false)
  })

  it('createFunctionExecutor - a synchronous throw is a failed result, not a rejection', async () => {
    const ex = createFunctionExecutor({
      fn: () => {
        throw new TypeError('bad input')
      },
    })
    expect(await ex.execute(makeCtx(ws))).toEqual({ status: 'failed', error: 'bad input' })
  })

  it('createFunctionExecutor - a missing export, a non-function or a broken module fail clearly', async () => {
    const missing = await fromFixture('nope').execute(makeCtx(ws))
    expect(missing.status).toBe('failed')
    expect(missing.error).toMatch(/has no function export "nope" \(exports: .*double/)
    expect((await fromFixture('notAFunction').execute(makeCtx(ws))).error).toMatch(
      /no function export "notAFunction"/,
    )
    const broken = createFunctionExecutor({ module: `${fixtures}/brokenModule.ts` })
    const r = await broken.execute(makeCtx(ws))
    expect(r.status).toBe('failed')
    expect(r.error).toMatch(
      /cannot load function module .*brokenModule\.ts: this module is broken on purpose/,
    )
    expect(await broken.healthCheck()).toBe(false)
    expect(await createFunctionExecutor({ module: './no/such/module.ts' }).healthCheck()).toBe(false)
  })

  it('createFunctionExecutor - close() cancels every run still going', async () => {
    const ex = fromFixture('waitForAbort')
    const run = ex.execute(makeCtx(ws))
    await ex.close?.()
    expect((await run).status).toBe('cancelled')
  })
})

describe('parseFunctionSpec', () => {
  it('createFunctionExecutor - reads the workspace only when the function does (lazy workspace)', async () => {
    let reads = 0
    const lazyCtx = (task = makeTask()) => ({
      ...makeCtx(ws, { task }),
      get workspace() {
        reads++
        return ws
      },
    })
    const ignores = createFunctionExecutor({ fn: () => 1 })
    expect(ignores.lazyWorkspace).toBe(true)
    expect(await ignores.execute(lazyCtx())).toEqual({ status: 'success', output: 1 })
    expect(reads).toBe(0)
    const uses = createFunctionExecutor({ fn: (_t, ctx) => ctx.workspace })
    expect(await uses.execute(lazyCtx())).toEqual({ status: 'success', output: ws })
    expect(reads).toBe(1)
  })

  it('parseFunctionSpec - splits module and export, defaulting to default', () => {
    expect(parseFunctionSpec('agents/review.ts#review')).toEqual({
      module: 'agents/review.ts',
      export: 'review',
    })
    expect(parseFunctionSpec('agents/review.ts')).toEqual({ module: 'agents/review.ts', export: 'default' })
    expect(parseFunctionSpec('dir#x/mod.ts#fn')).toEqual({ module: 'dir#x/mod.ts', export: 'fn' })
  })

  it('parseFunctionSpec - refuses an empty module or export', () => {
    expect(() => parseFunctionSpec('#fn')).toThrow(ExecutorConfigError)
    expect(() => parseFunctionSpec('mod.ts#')).toThrow(/empty export/)
  })
})
