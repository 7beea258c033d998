import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { evaluateCondition, interpolate } from '../../src/machines/expressions.ts'
import type { ExprScope, WorkflowDef } from '../../src/schema/workflow.ts'
import { loadWorkflow } from '../../src/workflow/loadWorkflow.ts'

const examples = new URL('../../examples/', import.meta.url).pathname
/**
 * Running the examples spawns some 60 short node processes: quick on an idle machine, tens of
 * seconds on a loaded CI runner, so the runs are opt-in (`HIVE_EXAMPLES_E2E=1`).
 */
const e2e = process.env.HIVE_EXAMPLES_E2E === '1'

/**
 * A deliberately minimal stand-in for the workflow runner (sequential, no retries), enough to show
 * that each example's shell tasks do what they claim on a copy of the sample project. The real
 * runner's end-to-end tests belong to the runner.
 */
async function runSequentially(def: WorkflowDef): Promise<ExprScope['tasks']> {
  const scope: ExprScope = { tasks: {}, workflow: { id: def.id, name: def.name }, vars: def.vars }
  const pending = [...def.tasks]
  while (pending.length > 0) {
    const i = pending.findIndex((t) => t.depends_on.every((d) => scope.tasks[d]?.status === 'success'))
    if (i < 0) throw new Error(`stuck with ${pending.map((t) => t.task_id).join(', ')} pending`)
    const [task] = pending.splice(i, 1)
    if (task.when !== undefined && !evaluateCondition(task.when, { ...scope, deps: task.depends_on })) {
      scope.tasks[task.task_id] = { status: 'skipped', attempts: 0 }
      continue
    }
    const agent = def.agents.find((a) => task.capabilities.every((c) => a.capabilities.includes(c)))
    if (!agent?.exec || task.run === undefined) throw new Error(`no command agent for ${task.task_id}`)
    const input = JSON.stringify(interpolate(task.input ?? null, scope))
    const workspace = await mkdtemp(join(tmpdir(), `hive-ex-${task.task_id}-`))
    const [cmd, ...args] = agent.exec
    const r = spawnSync(cmd, [...args, task.run], {
      cwd: workspace,
      input,
      env: { ...process.env, HIVE_INPUT: input, HIVE_WORKSPACE: workspace },
      encoding: 'utf8',
      timeout: 20_000,
    })
    await rm(workspace, { recursive: true, force: true })
    if (r.status !== 0) throw new Error(`${task.task_id} exited ${r.status}: ${r.stderr}`)
    scope.tasks[task.task_id] = { status: 'success', attempts: 1, output: JSON.parse(r.stdout) }
  }
  return scope.tasks
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name)] = await readFile(join(e.parentPath, e.name), 'utf8')
  }
  return out
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

  it.runIf(e2e)(
    'examples - each workflow does its work on a copy and leaves the sample project untouched',
    async () => {
      const project = join(examples, 'sample-project')
      const before = await snapshot(project)
      const workdirs: string[] = []
      try {
        for (const name of ['tdd', 'bugfix', 'feature']) {
          const def = await loadWorkflow(join(examples, 'workflows', `${name}.yaml`))
          const tasks = await runSequentially(def)
          expect(Object.values(tasks).map((t) => t.status)).toEqual(def.tasks.map(() => 'success'))
          const first = tasks[def.tasks[0].task_id].output as { dir: string }
          workdirs.push(first.dir)
          expect(first.dir.startsWith(project)).toBe(false)
        }
      } finally {
        for (const d of workdirs) await rm(d, { recursive: true, force: true })
      }
      expect(await snapshot(project)).toEqual(before)
    },
    120_000,
  )

  it.runIf(e2e)(
    'examples - the bugfix root cause is skipped when the bug does not reproduce',
    async () => {
      const def = await loadWorkflow(join(examples, 'workflows', 'bugfix.yaml'), {
        vars: { title: 'plain', expected: 'plain' },
      })
      const tasks = await runSequentially({ ...def, tasks: def.tasks.slice(0, 2) })
      expect([tasks.reproduce.status, tasks['root-cause'].status]).toEqual(['success', 'skipped'])
      await rm((tasks.reproduce.output as { dir: string }).dir, { recursive: true, force: true })
    },
    60_000,
  )
})
