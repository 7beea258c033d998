// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow expressions are written as ${{ }} in plain strings
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadWorkflow, parseWorkflow } from '../../src/workflow/loadWorkflow.ts'
import { WorkflowFileError } from '../../src/workflow/WorkflowFileError.ts'
import { type WorkflowIssue, WorkflowValidationError } from '../../src/workflow/WorkflowValidationError.ts'

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname

function issuesOf(text: string, vars?: Record<string, string>): WorkflowIssue[] {
  try {
    parseWorkflow(text, 'wf.yaml', { vars })
  } catch (e) {
    if (e instanceof WorkflowValidationError) return e.errors
    throw e
  }
  throw new Error('expected the workflow to be invalid')
}

/** The one issue of `text`, whose message must match `re`. */
function oneIssue(text: string, re: RegExp): WorkflowIssue {
  const issues = issuesOf(text)
  expect(issues.map((i) => i.message)).toEqual([expect.stringMatching(re)])
  return issues[0]
}

const retry = (n: number) => ({ max_retries: n, backoff: 'exponential', initial_delay: 1, max_delay: 60 })

describe('loadWorkflow', () => {
  it('loadWorkflow - the example from the issue parses to the expected WorkflowDef', async () => {
    const def = await loadWorkflow(fixture('seed-feature.yaml'))
    expect(def).toEqual({
      id: 'feature-dev-001',
      name: 'Feature Development Workflow',
      priority: 7,
      timeout: 7200,
      max_parallel: 4,
      on_failure: 'fail_fast',
      agents: [],
      vars: { workflow_dir: dirname(fixture('seed-feature.yaml')) },
      tasks: [
        {
          task_id: 'design-api',
          agent_type: 'Backend-Engineer',
          capabilities: ['api-design', 'openapi'],
          depends_on: [],
          input: {
            action: 'design_api',
            feature: 'user_profile',
            endpoints: ['GET /users/{id}', 'PUT /users/{id}', 'DELETE /users/{id}'],
          },
          timeout: 1800,
          retry: retry(3),
          priority: 7,
        },
        {
          task_id: 'implement-api',
          agent_type: 'Backend-Engineer',
          capabilities: ['python', 'api-development', 'fastapi'],
          depends_on: ['design-api'],
          input: { action: 'implement_api', design_reference: 'design-api' },
          timeout: 3600,
          retry: retry(3),
          priority: 7,
        },
        {
          task_id: 'write-tests',
          agent_type: 'QA-Tester',
          capabilities: ['testing', 'pytest', 'api-testing'],
          depends_on: ['implement-api'],
          input: { action: 'write_tests', test_type: 'integration', api_reference: 'implement-api' },
          timeout: 1800,
          retry: retry(2),
          priority: 7,
        },
        {
          task_id: 'run-tests',
          agent_type: 'QA-Tester',
          capabilities: ['testing', 'pytest'],
          depends_on: ['write-tests'],
          input: { action: 'run_tests', coverage_required: 80 },
          timeout: 900,
          retry: retry(1),
          priority: 7,
        },
      ],
      notification: {
        on_complete: [{ email: 'user@example.com' }],
        on_failure: [{ email: 'admin@example.com' }, { email: 'oncall@example.com' }],
        on_approval_needed: [],
      },
    })
  })

  it('loadWorkflow - shorthands and long forms normalize; --set vars override file defaults', () => {
    const def = parseWorkflow(
      `id: w
priority: 8
max_parallel: 2
on_failure: continue
vars: { env: dev, n: 3 }
agents:
  - { id: sh-1, type: shell, capabilities: [Shell, JS], max_tasks: 2, exec: sh -c }
  - { id: fn, type: js, capabilities: js, function: ./mod.ts#run, weight: 10 }
tasks:
  - task_id: a
    run: echo hi
    capabilities: SHELL
    retry: { max: 2, backoff: fixed, initial: 0.5, max_delay: 5 }
    priority: critical
    approval: Ship it?
  - task_id: b
    exec: [node, -e, "1"]
    depends_on: a
    when: "\${{ tasks.a.status == 'success' && vars.env == 'prod' }}"
    input: { env: "\${{ vars.env }}", out: "\${{ tasks.a.output }}" }
notification:
  on_complete: https://hooks.example.com/x
  on_failure: [notify-send "hive failed", { command: [logger, done] }, { url: "http://x" }]
`,
      'w.yaml',
      { vars: { env: 'prod' } },
    )
    expect(def.priority).toBe(8)
    expect(def.max_parallel).toBe(2)
    expect(def.on_failure).toBe('continue')
    expect(def.vars).toEqual({ env: 'prod', n: '3' })
    expect(def.agents).toEqual([
      { id: 'sh-1', type: 'shell', capabilities: ['shell', 'js'], max_tasks: 2, exec: ['sh', '-c'] },
      { id: 'fn', type: 'js', capabilities: ['js'], max_tasks: 1, function: './mod.ts#run', weight: 10 },
    ])
    expect(def.tasks[0]).toMatchObject({
      run: 'echo hi',
      capabilities: ['shell'],
      retry: { max_retries: 2, backoff: 'fixed', initial_delay: 0.5, max_delay: 5 },
      priority: 9,
      approval: { required: true, message: 'Ship it?' },
    })
    expect(def.tasks[1]).toMatchObject({
      exec: ['node', '-e', '1'],
      depends_on: ['a'],
      when: "tasks.a.status == 'success' && vars.env == 'prod'",
      priority: 8,
      retry: retry(0),
    })
    expect(def.notification).toEqual({
      on_complete: [{ url: 'https://hooks.example.com/x' }],
      on_failure: [
        { command: ['notify-send', 'hive failed'] },
        { command: ['logger', 'done'] },
        { url: 'http://x' },
      ],
      on_approval_needed: [],
    })
  })

  it('loadWorkflow - JSON input works, with the id taken from the file name when absent', () => {
    const def = parseWorkflow(
      JSON.stringify(
        {
          tasks: [
            { task_id: 'a', run: 'true' },
            { task_id: 'b', depends_on: ['a'] },
          ],
        },
        null,
        2,
      ),
      'dir/build.json',
    )
    expect(def.id).toBe('build')
    expect(def.name).toBe('build')
    expect(def.priority).toBe(5)
    expect(def.tasks.map((t) => [t.task_id, t.depends_on])).toEqual([
      ['a', []],
      ['b', ['a']],
    ])
  })

  it('loadWorkflow - JSON errors are located too', () => {
    const i = oneIssue(
      '{\n  "tasks": [\n    { "task_id": "a", "dependson": ["b"] }\n  ]\n}\n',
      /unknown key `dependson`/,
    )
    expect([i.line, i.column, i.fix]).toEqual([3, 23, 'did you mean `depends_on`?'])
  })

  it('loadWorkflow - duplicate task ids point at the second and name the first', () => {
    const i = oneIssue(
      'tasks:\n  - task_id: a\n  - task_id: b\n  - task_id: a\n',
      /duplicate task id `a` \(first defined at line 2\)/,
    )
    expect([i.file, i.line, i.column]).toEqual(['wf.yaml', 4, 14])
  })

  it('loadWorkflow - unknown dependency suggests the closest id', () => {
    const i = oneIssue(
      'tasks:\n  - task_id: design-api\n  - task_id: build\n    depends_on:\n      - desing-api\n',
      /task `build` depends on unknown task `desing-api`/,
    )
    expect([i.line, i.column, i.fix]).toEqual([5, 9, 'did you mean `design-api`?'])
  })

  it('loadWorkflow - a cycle is named and located at the dependency that closes it', () => {
    const i = oneIssue(
      'tasks:\n  - task_id: a\n    depends_on: c\n  - task_id: b\n    depends_on: a\n  - task_id: c\n    depends_on: [b]\n',
      /dependency cycle: a -> b -> c -> a/,
    )
    expect([i.line, i.fix]).toEqual([
      5,
      'remove one dependency of the cycle (e.g. `a` from the depends_on of `b`)',
    ])
    expect(oneIssue('tasks:\n  - task_id: a\n    depends_on: [a]\n', /dependency cycle: a -> a/).line).toBe(3)
  })

  it('loadWorkflow - unknown keys suggest the known key, at the key itself', () => {
    const issues = issuesOf(
      'workflow:\n  id: x\n  tasks:\n    - task_id: a\n      depnds_on: [b]\n  max_paralel: 3\n',
    )
    expect(issues.map((i) => [i.line, i.column, i.message, i.fix])).toEqual([
      [5, 7, 'unknown key `depnds_on`', 'did you mean `depends_on`?'],
      [6, 3, 'unknown key `max_paralel`', 'did you mean `max_parallel`?'],
    ])
  })

  it('loadWorkflow - bad types and values are mapped back to their line', () => {
    const issues = issuesOf(
      'priority: urgent\ntasks:\n  - task_id: a\n    timeout: -5\n    retry: lots\n  - task_id: b\n    run: ls\n    exec: [ls]\n  - description: no id\n',
    )
    expect(issues.map((i) => [i.line, i.message])).toEqual([
      [1, expect.stringContaining('`priority` must be one of low, medium, high, critical or a number')],
      [4, '`timeout` must be a positive number of seconds'],
      [5, '`retry` must be a number or a mapping, not string "lots"'],
      [8, '`exec` a task has `run` (a shell line) or `exec` (an argv), not both'],
      [9, '`task_id` is required'],
    ])
  })

  it('loadWorkflow - expressions that do not parse are reported at the node holding them', () => {
    const i = oneIssue(
      'tasks:\n  - task_id: a\n  - task_id: b\n    depends_on: [a]\n    input:\n      x: ok\n      y: "${{ tasks.a.output == }}"\n',
      /expression `tasks.a.output ==` does not parse: expected an expression after '=='/,
    )
    expect(i.line).toBe(7)
    expect(oneIssue("tasks:\n  - task_id: a\n    when: tasks.a.x = 'y'\n", /use '=='/).line).toBe(3)
    expect(oneIssue('tasks:\n  - task_id: a\n    input: "${{ vars.x"\n', /not closed/).line).toBe(3)
  })

  it('loadWorkflow - a when or input reading a task that is not a dependency is an error', () => {
    const text =
      "tasks:\n  - task_id: a\n  - task_id: b\n  - task_id: c\n    depends_on: [b]\n    when: tasks.a.status == 'success'\n"
    const i = oneIssue(text, /task `c` reads `tasks.a`, which is not among its dependencies/)
    expect([i.line, i.fix]).toEqual([6, 'add `a` to the depends_on of `c`'])
    // An ancestor (through b) is fine.
    const ok = text.replace('  - task_id: b\n', '  - task_id: b\n    depends_on: [a]\n')
    expect(parseWorkflow(ok, 'wf.yaml').tasks[2].when).toBe("tasks.a.status == 'success'")
    expect(oneIssue('tasks:\n  - task_id: a\n    when: tasks.a.status\n', /reads its own result/).line).toBe(
      3,
    )
    expect(
      oneIssue("tasks:\n  - task_id: a\n    input: '${{ tasks.ab.output }}'\n", /unknown task `ab`/).fix,
    ).toBe('did you mean `a`?')
  })

  it('loadWorkflow - vars must be declared or passed; expressions never go into run', () => {
    const text = "tasks:\n  - task_id: a\n    input: { d: '${{ vars.workdir }}' }\n"
    expect(oneIssue(text, /`vars.workdir` is not defined/).line).toBe(3)
    expect(parseWorkflow(text, 'wf.yaml', { vars: { workdir: '/tmp/x' } }).vars).toEqual({
      workdir: '/tmp/x',
    })
    const run = oneIssue(
      "tasks:\n  - task_id: a\n    run: 'ls ${{ vars.d }}'\nvars: { d: x }\n",
      /not expanded in `run`/,
    )
    expect(run.line).toBe(3)
  })

  it('loadWorkflow - YAML syntax errors carry the line the parser reports', () => {
    const issues = issuesOf('tasks:\n  - task_id: a\n    input: [1, 2\n  - task_id: b\n')
    expect(issues.length).toBeGreaterThan(0)
    expect(issues[0].message).toMatch(/^YAML syntax: /)
    expect(issues[0].line).toBe(4)
    const dup = issuesOf('tasks:\n  - task_id: a\n    run: x\n    run: y\n')
    expect(dup.map((i) => [i.line, i.fix])).toEqual([[4, 'remove or rename one of the duplicate keys']])
  })

  it('loadWorkflow - a file that is not a mapping, and a workflow without tasks', () => {
    expect(oneIssue('- a\n- b\n', /holds a mapping/).line).toBe(1)
    expect(oneIssue('workflow:\n  id: x\n', /`tasks` is required/).line).toBe(2)
    expect(oneIssue('tasks: []\n', /at least one task/).line).toBe(1)
  })

  it('loadWorkflow - all problems are collected and formatted as file:line:col: message (fix: …)', () => {
    try {
      parseWorkflow('tasks:\n  - task_id: a\n    bogus: 1\n  - task_id: b\n    priority: 11\n', 'x/wf.yaml')
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(WorkflowValidationError)
      const err = e as WorkflowValidationError
      expect(err.name).toBe('WorkflowValidationError')
      expect(err.retryable).toBe(false)
      expect(err.errors).toHaveLength(2)
      expect(err.message).toContain('x/wf.yaml:3:5: unknown key `bogus` (fix: ')
      expect(err.message).toContain('x/wf.yaml:5:15: `priority` ')
    }
  })

  it('loadWorkflow - a missing file is a WorkflowFileError naming the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hive-wf-'))
    const missing = join(dir, 'nope.yaml')
    await expect(loadWorkflow(missing)).rejects.toThrow(WorkflowFileError)
    await expect(loadWorkflow(missing)).rejects.toThrow(`workflow file ${missing} does not exist`)
    await writeFile(join(dir, 'ok.yml'), 'tasks: [{ task_id: a }]\n')
    expect((await loadWorkflow(join(dir, 'ok.yml'))).id).toBe('ok')
  })
})
