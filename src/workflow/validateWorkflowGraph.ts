/**
 * The checks a schema cannot express: task and agent ids unique, dependencies known and acyclic,
 * `${{ … }}` expressions that parse and read only what the task may see (itself, its ancestors,
 * declared vars). Problems come back with the path of the node to blame; the loader turns paths
 * into lines.
 */
import { ExpressionError } from '../machines/ExpressionError.ts'
import { scanTemplate } from '../machines/expressions.ts'
import { type Expr, parseExpression } from '../machines/parseExpression.ts'
import type { WorkflowDef } from '../schema/workflow.ts'
import { closest } from './closest.ts'
import type { TaskFile, WorkflowFile } from './workflowFileSchema.ts'

export type NodePath = (string | number)[]

/** A problem located by the path of a node in the file (relative to the workflow mapping). */
export interface PathIssue {
  path: NodePath
  message: string
  fix: string
}

/** Line of a node, for messages that point at a second place ("first defined at line 4"). */
export type LineOf = (path: NodePath) => number

const depList = (t: TaskFile): { id: string; path: NodePath }[] =>
  t.depends_on === undefined
    ? []
    : Array.isArray(t.depends_on)
      ? t.depends_on.map((id, j) => ({ id, path: ['depends_on', j] }))
      : [{ id: t.depends_on, path: ['depends_on'] }]

function uniqueIds(
  items: { id: string }[],
  what: string,
  path: (i: number) => NodePath,
  lineOf: LineOf,
): PathIssue[] {
  const seen = new Map<string, number>()
  const out: PathIssue[] = []
  items.forEach((it, i) => {
    const first = seen.get(it.id)
    if (first === undefined) seen.set(it.id, i)
    else
      out.push({
        path: path(i),
        message: `duplicate ${what} id \`${it.id}\` (first defined at line ${lineOf(path(first))})`,
        fix: `give each ${what} its own id`,
      })
  })
  return out
}

/** Every elementary cycle found by depth-first search, each once, as a list of ids ending where it began. */
function findCycles(deps: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const cycles: string[][] = []
  const seen = new Set<string>()
  const visit = (id: string): void => {
    state.set(id, 'open')
    stack.push(id)
    for (const d of deps.get(id) ?? []) {
      if (!deps.has(d)) continue
      if (state.get(d) === 'open') {
        // The edge id -> d closes a cycle; report it in dependency order: d is needed by ... by id.
        const cyc = stack.slice(stack.indexOf(d))
        const key = [...cyc].sort().join('\0')
        if (!seen.has(key)) {
          seen.add(key)
          cycles.push([...cyc, d])
        }
      } else if (state.get(d) === undefined) visit(d)
    }
    stack.pop()
    state.set(id, 'done')
  }
  for (const id of deps.keys()) if (state.get(id) === undefined) visit(id)
  return cycles
}

function ancestorsOf(id: string, deps: Map<string, string[]>): Set<string> {
  const out = new Set<string>()
  const todo = [...(deps.get(id) ?? [])]
  while (todo.length > 0) {
    const d = todo.pop()!
    if (out.has(d) || !deps.has(d)) continue
    out.add(d)
    todo.push(...(deps.get(d) ?? []))
  }
  return out
}

/** Every string in a value with its path, for expression checks. */
function* strings(v: unknown, path: NodePath): Generator<[string, NodePath]> {
  if (typeof v === 'string') yield [v, path]
  else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* strings(v[i], [...path, i])
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) yield* strings(x, [...path, k])
}

function walk(e: Expr, visit: (e: Expr) => void): void {
  visit(e)
  if (e.kind === 'member') {
    walk(e.object, visit)
    walk(e.key, visit)
  } else if (e.kind === 'not') walk(e.operand, visit)
  else if (e.kind === 'binary') {
    walk(e.left, visit)
    walk(e.right, visit)
  } else if (e.kind === 'call') for (const a of e.args) walk(a, visit)
}

interface ExprContext {
  /** The task the expression belongs to, if any. */
  task?: string
  /** Tasks it may read. */
  visible: Set<string>
  isWhen: boolean
  allTasks: string[]
  vars: Record<string, string>
}

function checkExpression(body: string, path: NodePath, cx: ExprContext): PathIssue[] {
  let expr: Expr
  try {
    expr = parseExpression(body)
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e
    return [
      {
        path,
        message: `expression \`${body}\` does not parse: ${e.reason} at position ${e.position}`,
        fix: 'correct the expression',
      },
    ]
  }
  const out: PathIssue[] = []
  walk(expr, (n) => {
    if (n.kind !== 'member' || n.object.kind !== 'root' || n.key.kind !== 'literal') return
    const name = String(n.key.value)
    if (n.object.name === 'tasks') {
      if (!cx.allTasks.includes(name)) {
        const near = closest(name, cx.allTasks)
        out.push({
          path,
          message: `expression \`${body}\` reads unknown task \`${name}\``,
          fix: near ? `did you mean \`${near}\`?` : 'name a task of this workflow',
        })
      } else if (cx.task !== undefined && name === cx.task && cx.isWhen) {
        out.push({
          path,
          message: `\`when\` of task \`${name}\` reads its own result, which does not exist yet`,
          fix: 'read a dependency instead',
        })
      } else if (cx.task !== undefined && name !== cx.task && !cx.visible.has(name)) {
        out.push({
          path,
          message: `task \`${cx.task}\` reads \`tasks.${name}\`, which is not among its dependencies, so it may not have run yet`,
          fix: `add \`${name}\` to the depends_on of \`${cx.task}\``,
        })
      }
    } else if (n.object.name === 'vars' && !Object.hasOwn(cx.vars, name)) {
      const near = closest(name, Object.keys(cx.vars))
      out.push({
        path,
        message: `\`vars.${name}\` is not defined (in \`${body}\`)`,
        fix: near
          ? `did you mean \`vars.${near}\`?`
          : `declare \`${name}\` under \`vars:\` or pass \`--set ${name}=…\``,
      })
    }
  })
  return out
}

function checkStrings(value: unknown, path: NodePath, cx: ExprContext, where?: string): PathIssue[] {
  const out: PathIssue[] = []
  for (const [s, p] of strings(value, path)) {
    let bodies: string[]
    try {
      bodies = scanTemplate(s).map((o) => o.body)
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e
      out.push({
        path: p,
        message: `${e.reason} (at offset ${e.position} of the string)`,
        fix: 'close the expression with `}}`',
      })
      continue
    }
    if (bodies.length > 0 && where) {
      out.push({
        path: p,
        message: `\`\${{ … }}\` is not expanded in \`${where}\`: task data never becomes part of a command line`,
        fix: 'pass the value in `input` and read it from the HIVE_INPUT environment variable (JSON) or stdin',
      })
      continue
    }
    for (const b of bodies) out.push(...checkExpression(b, p, cx))
  }
  return out
}

/** The semantic problems of a file that passed the schema; `def` is its normalized form. */
export function validateWorkflowGraph(file: WorkflowFile, def: WorkflowDef, lineOf: LineOf): PathIssue[] {
  const out: PathIssue[] = []
  const taskIds = file.tasks.map((t) => t.task_id)
  out.push(
    ...uniqueIds(
      file.tasks.map((t) => ({ id: t.task_id })),
      'task',
      (i) => ['tasks', i, 'task_id'],
      lineOf,
    ),
  )
  out.push(
    ...uniqueIds(
      (file.agents ?? []).map((a) => ({ id: a.id })),
      'agent',
      (i) => ['agents', i, 'id'],
      lineOf,
    ),
  )

  const deps = new Map<string, string[]>()
  file.tasks.forEach((t, i) => {
    const known: string[] = []
    for (const d of depList(t)) {
      if (taskIds.includes(d.id)) known.push(d.id)
      else {
        const near = closest(d.id, taskIds)
        out.push({
          path: ['tasks', i, ...d.path],
          message: `task \`${t.task_id}\` depends on unknown task \`${d.id}\``,
          fix: near ? `did you mean \`${near}\`?` : `declare a task \`${d.id}\` or remove it from depends_on`,
        })
      }
    }
    if (!deps.has(t.task_id)) deps.set(t.task_id, known)
  })

  for (const cyc of findCycles(deps)) {
    // Blame the dependency entry that closes the cycle: the last task's reference back to the first.
    const from = cyc[cyc.length - 2]
    const to = cyc[cyc.length - 1]
    const i = file.tasks.findIndex((t) => t.task_id === from)
    const entry = depList(file.tasks[i]).find((d) => d.id === to)
    out.push({
      path: ['tasks', i, ...(entry?.path ?? ['task_id'])],
      message: `dependency cycle: ${[...cyc].reverse().join(' -> ')} (each task waits for the one before it)`,
      fix: `remove one dependency of the cycle (e.g. \`${to}\` from the depends_on of \`${from}\`)`,
    })
  }

  const base = { allTasks: taskIds, vars: def.vars }
  file.tasks.forEach((t, i) => {
    const cx: ExprContext = { ...base, task: t.task_id, visible: ancestorsOf(t.task_id, deps), isWhen: false }
    const p: NodePath = ['tasks', i]
    if (t.when !== undefined && typeof t.when === 'string') {
      const when = def.tasks[i].when!
      out.push(...checkExpression(when, [...p, 'when'], { ...cx, isWhen: true }))
    }
    out.push(...checkStrings(t.run, [...p, 'run'], cx, 'run'))
    out.push(...checkStrings(t.exec, [...p, 'exec'], cx, 'exec'))
    out.push(...checkStrings(t.input, [...p, 'input'], cx))
    out.push(...checkStrings(t.description, [...p, 'description'], cx))
  })
  const wf: ExprContext = { ...base, visible: new Set(taskIds), isWhen: false }
  out.push(...checkStrings(file.name, ['name'], wf), ...checkStrings(file.description, ['description'], wf))
  return out
}
