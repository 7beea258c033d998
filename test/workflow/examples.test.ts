/**
 * The example workflows, loaded and run to their end by the real runner: `hive run` on the embedded
 * bus, and `hive run --nats` against a coordinator node and the example's agents as separate
 * processes on a real nats-server. Each run works on a copy of the sample project in a temp dir.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadWorkflow } from '../../src/workflow/loadWorkflow.ts'
import { freshNs } from '../helpers/busFactories.ts'
import { runHive } from '../helpers/hiveProcess.ts'
import { useNatsServer } from '../helpers/natsServer.ts'
import { parseRunResult, type RunResult, snapshotFiles, startNatsHive, tempDir } from './workflowRunKit.ts'

const examples = new URL('../../examples/', import.meta.url).pathname
const workflowFile = (name: string) => join(examples, 'workflows', name)

/** One run of an example: its file, extra `--set`s, and what its result must show. */
interface ExampleCase {
  name: string
  file: string
  sets: string[]
  check(r: RunResult, workdir: string): void
}

const statuses = (r: RunResult) =>
  Object.fromEntries(Object.entries(r.tasks).map(([id, t]) => [id, t.status]))
const outputs = (r: RunResult) => Object.fromEntries(Object.entries(r.tasks).map(([id, t]) => [id, t.output]))

const CASES: ExampleCase[] = [
  {
    name: 'tdd',
    file: 'tdd.yaml',
    sets: [],
    check(r, w) {
      expect(statuses(r)).toEqual({ red: 'success', green: 'success', refactor: 'success' })
      // green and refactor cd into the dir red's output names: without result passing they fail.
      expect(outputs(r)).toEqual({
        red: { dir: w, failed: true },
        green: { dir: w, passed: true },
        refactor: { dir: w, passed: true },
      })
      expect(readFileSync(join(w, 'src/slugify.mjs'), 'utf8')).toContain('NOT_ALPHANUMERIC')
      expect(existsSync(join(w, 'test/punctuation.test.mjs'))).toBe(true)
    },
  },
  {
    name: 'bugfix',
    file: 'bugfix.yaml',
    sets: [],
    check(r, w) {
      expect(statuses(r)).toEqual({
        reproduce: 'success',
        'root-cause': 'success',
        fix: 'success',
        test: 'success',
        regression: 'success',
      })
      const o = outputs(r)
      const repro = { dir: w, title: 'Hello,  World!', expected: 'hello-world' }
      expect(o.reproduce).toEqual({ ...repro, actual: 'hello,--world!', reproduced: true })
      expect(o['root-cause']).toMatchObject({ file: 'src/slugify.mjs', line: expect.any(Number) })
      expect(o.fix).toEqual({ changed: ['src/slugify.mjs'] })
      expect(o.test).toEqual({ ...repro, actual: 'hello-world', reproduced: false })
      expect(o.regression).toEqual({ passed: true, suites: 1 })
    },
  },
  {
    name: 'bugfix (the bug does not reproduce: root-cause skipped by its when)',
    file: 'bugfix.yaml',
    sets: ['title=plain', 'expected=plain'],
    check(r, w) {
      expect(statuses(r)).toEqual({
        reproduce: 'success',
        'root-cause': 'skipped',
        fix: 'skipped',
        test: 'skipped',
        regression: 'skipped',
      })
      expect(r.tasks.reproduce.output).toEqual({
        dir: w,
        title: 'plain',
        expected: 'plain',
        actual: 'plain',
        reproduced: false,
      })
      expect(r.tasks['root-cause'].attempts).toBe(0)
      expect(r.tasks.fix.error).toBe('dependency root-cause ended skipped')
      expect(readFileSync(join(w, 'src/slugify.mjs'), 'utf8')).toContain('\\s') // not fixed
    },
  },
  {
    name: 'feature',
    file: 'feature.yaml',
    sets: ['separator=.'],
    check(r, w) {
      expect(statuses(r)).toEqual({
        design: 'success',
        backend: 'success',
        frontend: 'success',
        integration: 'success',
        testing: 'success',
        review: 'success',
      })
      const o = outputs(r)
      expect(o.design).toMatchObject({
        dir: w,
        example: { title: 'Hello, World!', separator: '.', expected: 'hello.world' },
      })
      expect(o.backend).toEqual({ files: ['src/slugify.mjs'] })
      expect(o.frontend).toEqual({ files: ['bin/slugify.mjs'] })
      // The CLI ran with the separator from the design's output (itself from --set).
      expect(o.integration).toEqual({ cli_output: 'hello.world' })
      expect(o.testing).toEqual({ passed: true, suites: 2 })
      // review's input `changed` is backend's output `files`.
      expect(o.review).toEqual({ approved: true, changed: ['src/slugify.mjs'] })
      expect([r.tasks.backend.agent_id, r.tasks.frontend.agent_id]).toEqual(['backend-1', 'frontend-1'])
    },
  },
]

let examplesBefore: Record<string, string>
beforeAll(() => {
  examplesBefore = snapshotFiles(examples)
})

/** Runs one case with `extra` args; checks exit code, result and that examples/ is unchanged. */
async function runCase(c: ExampleCase, extra: string[]) {
  const workdir = join(tempDir(`ex-${c.file.replace('.yaml', '')}`), 'work')
  const sets = [...c.sets, `workdir=${workdir}`].flatMap((s) => ['--set', s])
  const run = await runHive(['run', workflowFile(c.file), '--output', 'json', ...sets, ...extra])
  const r = parseRunResult(run)
  expect(run.code, run.stderr).toBe(0)
  const def = await loadWorkflow(workflowFile(c.file))
  expect(r.workflow_id).toBe(def.id)
  expect(r.run_id.startsWith(`${def.id}-`)).toBe(true)
  expect(r.status).toBe('success')
  expect(Object.keys(r.tasks)).toEqual(def.tasks.map((t) => t.task_id))
  c.check(r, workdir)
  expect(snapshotFiles(examples)).toEqual(examplesBefore)
}
describe('examples', () => {
  it('examples - every workflow file loads and validates', async () => {
    const files = (await readdir(join(examples, 'workflows'))).filter((f) => /\.(ya?ml|json)$/.test(f))
    expect(files.sort()).toEqual(['bugfix.yaml', 'feature.yaml', 'tdd.yaml'])
    for (const f of files) {
      const def = await loadWorkflow(join(examples, 'workflows', f))
      expect(def.agents.length).toBeGreaterThan(0)
      expect(def.tasks.some((t) => t.when !== undefined)).toBe(true)
    }
  })

  it('examples - the feature workflow runs backend and frontend after design, in parallel', async () => {
    const def = await loadWorkflow(join(examples, 'workflows', 'feature.yaml'))
    const deps = Object.fromEntries(def.tasks.map((t) => [t.task_id, t.depends_on]))
    expect(deps).toEqual({
      design: [],
      backend: ['design'],
      frontend: ['design'],
      integration: ['backend', 'frontend'],
      testing: ['integration'],
      review: ['testing'],
    })
    expect(def.max_parallel).toBe(2)
  })

  describe('examples - run by the real runner on the embedded bus', () => {
    for (const c of CASES) {
      it.concurrent(`examples - ${c.name} runs to success with hive run on the embedded bus`, async () => {
        await runCase(c, ['--state-dir', tempDir('ex-state'), '--fresh'])
      }, 90_000)
    }
  })

  describe('examples - run by the real runner over NATS', () => {
    const nats = useNatsServer()

    // One hive (coordinator + the example's agents, each its own process) per example file.
    for (const file of ['tdd.yaml', 'bugfix.yaml', 'feature.yaml']) {
      it.concurrent(`examples - ${file} runs to success with hive run --nats against a coordinator and agent processes`, async () => {
        const def = await loadWorkflow(workflowFile(file))
        // The agents run the task's `run` line the way the file's agents do.
        expect(def.agents.every((a) => a.exec?.join(' ') === 'sh -c')).toBe(true)
        const ns = freshNs('ex')
        const hive = await startNatsHive(nats.url, ns, def.agents)
        try {
          for (const c of CASES.filter((x) => x.file === file)) {
            await runCase(c, ['--nats', nats.url, '--ns', ns])
          }
        } finally {
          await hive.stop()
        }
      }, 90_000)
    }
  })
})
