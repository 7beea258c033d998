import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadWorkflow, parseWorkflow } from '../../src/workflow/loadWorkflow.ts'
import { listTemplates, renderTemplate, TemplateError } from '../../src/workflow/templates.ts'

async function userDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hive-tpl-'))
  for (const [n, t] of Object.entries(files)) await writeFile(join(dir, n), t)
  return dir
}

const CUSTOM = `description: One step
parameters:
  who: { description: Who to greet }
  greeting: hello
  prio: 5
---
workflow:
  id: greet-{{ who }}
  tasks:
    - task_id: greet
      run: echo {{greeting}} {{ who }}
      priority: "{{ prio }}"
`

describe('templates', () => {
  it('templates - lists the built-ins with their parameters', async () => {
    const list = await listTemplates()
    expect(list.map((t) => [t.name, t.source])).toEqual([
      ['bugfix', 'builtin'],
      ['feature', 'builtin'],
      ['tdd', 'builtin'],
    ])
    const tdd = list.find((t) => t.name === 'tdd')!
    expect(tdd.parameters.find((p) => p.name === 'feature_name')).toEqual({
      name: 'feature_name',
      description: expect.any(String),
      required: true,
    })
    expect(tdd.parameters.find((p) => p.name === 'priority')).toMatchObject({
      default: 'medium',
      required: false,
    })
  })

  it('templates - every built-in renders to a workflow that loads, with the phases of its kind', async () => {
    const phases: Record<string, string[]> = {
      tdd: ['red', 'green', 'refactor'],
      feature: ['design', 'backend', 'frontend', 'integration', 'testing', 'review'],
      bugfix: ['reproduce', 'root-cause', 'fix', 'test', 'regression'],
    }
    const values: Record<string, Record<string, string>> = {
      tdd: { feature_name: 'slugify', requirements: 'turn titles into url slugs' },
      feature: { feature_name: 'dashboard', requirements: 'a dashboard', priority: 'high' },
      bugfix: { bug_id: 'BUG-5678', description: 'memory leak: in the cache', severity: 'critical' },
    }
    const dir = await userDir({})
    for (const [name, ids] of Object.entries(phases)) {
      const text = await renderTemplate(name, values[name])
      expect(text).not.toMatch(/(?<!\$)\{\{/)
      const file = join(dir, `${name}.yaml`)
      await writeFile(file, text)
      const def = await loadWorkflow(file)
      expect(def.tasks.map((t) => t.task_id)).toEqual(ids)
    }
    const feature = parseWorkflow(await renderTemplate('feature', values.feature), 'f.yaml')
    expect([feature.id, feature.priority]).toEqual(['feature-dashboard', 7])
    expect(feature.tasks.find((t) => t.task_id === 'integration')!.depends_on).toEqual([
      'backend',
      'frontend',
    ])
    const bug = parseWorkflow(await renderTemplate('bugfix', values.bugfix), 'b.yaml')
    expect([bug.id, bug.priority, bug.vars]).toEqual(['bugfix-BUG-5678', 9, { bug_id: 'BUG-5678' }])
  })

  it('templates - user templates are listed, rendered with defaults, and may replace a built-in', async () => {
    const dir = await userDir({
      'greet.yaml': CUSTOM,
      'tdd.yml': CUSTOM.replace('greet-', 'mytdd-'),
      'notes.txt': 'x',
    })
    const list = await listTemplates(dir)
    expect(list.map((t) => [t.name, t.source])).toEqual([
      ['bugfix', 'builtin'],
      ['feature', 'builtin'],
      ['greet', 'user'],
      ['tdd', 'user'],
    ])
    const def = parseWorkflow(await renderTemplate('greet', { who: 'ana' }, dir), 'g.yaml')
    expect([def.id, def.tasks[0].run, def.tasks[0].priority]).toEqual(['greet-ana', 'echo hello ana', 5])
    const high = parseWorkflow(await renderTemplate('greet', { who: 'ana', prio: '8' }, dir), 'g.yaml')
    expect(high.tasks[0].priority).toBe(8)
    expect(parseWorkflow(await renderTemplate('tdd', { who: 'bo' }, dir), 't.yaml').id).toBe('mytdd-bo')
  })

  it('templates - errors name the template or parameter at fault', async () => {
    await expect(renderTemplate('tdx', {})).rejects.toThrow(/unknown template `tdx` \(did you mean `tdd`\?\)/)
    await expect(renderTemplate('tdd', {})).rejects.toThrow(/template `tdd` needs `feature_name`/)
    const e = await renderTemplate('tdd', { feature_name: 'x', featur: 'y' }).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(TemplateError)
    expect((e as TemplateError).parameter).toBe('featur')
    expect((e as TemplateError).message).toMatch(
      /has no parameter `featur` \(did you mean `feature_name`\?\)/,
    )
    await expect(renderTemplate('tdd', { feature_name: 'a\nb' })).rejects.toThrow(/single line/)
    // Values are data, not YAML: quotes and `: ` stay inside the string they were put in.
    const tricky = await renderTemplate('tdd', { feature_name: 'x', requirements: 'say "hi": then # stop' })
    expect(parseWorkflow(tricky, 't.yaml').tasks[0].input).toMatchObject({
      instructions: expect.stringContaining('say "hi": then # stop'),
    })
    // A value that makes an invalid workflow is caught at render time, with the loader's message.
    await expect(renderTemplate('tdd', { feature_name: 'x', priority: 'urgent' })).rejects.toThrow(
      /`priority` must be/,
    )
  })

  it('templates - a placeholder the template does not declare is an error naming it', async () => {
    const dir = await userDir({ 'bad.yaml': `${CUSTOM}      input: { x: "{{ whom }}" }\n` })
    await expect(renderTemplate('bad', { who: 'a' }, dir)).rejects.toThrow(
      /uses `\{\{ whom \}\}` but declares no parameter `whom`/,
    )
    const noSep = await userDir({ 'flat.yaml': 'workflow:\n  tasks: [{ task_id: a }]\n' })
    await expect(listTemplates(noSep)).rejects.toThrow(/no `---` line/)
  })
})
