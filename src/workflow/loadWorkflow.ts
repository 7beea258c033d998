/**
 * Loads a workflow file (YAML or JSON) into a validated, normalized `WorkflowDef`. Every problem is
 * reported at once, each with its file, line and column and a suggested fix, in one
 * `WorkflowValidationError`. Shape problems (unknown keys, wrong types) are reported first; the
 * graph and expression checks run once the shape is right, since they need it.
 */
import { readFile } from 'node:fs/promises'
import { basename, dirname, extname, resolve } from 'node:path'
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml'
import type { z } from 'zod'
import type { WorkflowDef } from '../schema/workflow.ts'
import { closest } from './closest.ts'
import { normalizeWorkflow } from './normalizeWorkflow.ts'
import { type NodePath, type PathIssue, validateWorkflowGraph } from './validateWorkflowGraph.ts'
import { WorkflowFileError } from './WorkflowFileError.ts'
import { type WorkflowIssue, WorkflowValidationError } from './WorkflowValidationError.ts'
import { KNOWN_KEYS, type WorkflowFile, workflowFileSchema } from './workflowFileSchema.ts'

export interface LoadWorkflowOptions {
  /** `--set key=value` pairs; they override the file's `vars:` defaults. */
  vars?: Record<string, string>
}

/** The var `loadWorkflow` defines: the absolute directory of the workflow file. */
export const WORKFLOW_DIR_VAR = 'workflow_dir'

/**
 * Reads and validates a workflow file. Besides the file's own vars it defines
 * `vars.workflow_dir`, the file's absolute directory, so a workflow can name files beside it
 * (tasks run in their own workspaces, not where `hive run` was started).
 * @throws WorkflowFileError when the file cannot be read; WorkflowValidationError when it is invalid.
 */
export async function loadWorkflow(path: string, opts: LoadWorkflowOptions = {}): Promise<WorkflowDef> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`
    throw new WorkflowFileError(`workflow file ${path} ${why}`, path, e)
  }
  return parseWorkflow(text, path, {
    ...opts,
    vars: { [WORKFLOW_DIR_VAR]: dirname(resolve(path)), ...opts.vars },
  })
}

function typeName(v: unknown, withValue = false): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return withValue ? `${typeof v} ${JSON.stringify(v)}` : `a ${typeof v}`
}

const expectedName = (t: string): string =>
  t === 'array' ? 'a list' : t === 'object' ? 'a mapping' : t === 'boolean' ? 'true or false' : `a ${t}`

function readPath(root: unknown, path: NodePath): unknown {
  let v = root
  for (const k of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined
  return v
}

function fieldName(path: NodePath): string {
  const last = path[path.length - 1]
  if (typeof last === 'number') return `${String(path[path.length - 2] ?? 'item')}[${last}]`
  return last === undefined ? 'the workflow' : `\`${last}\``
}

/** Turns one zod issue into located problems (several for several unknown keys). */
function fromZodIssue(
  issue: z.core.$ZodIssue,
  base: NodePath,
  data: unknown,
): (PathIssue & { key?: boolean })[] {
  const path = [...base, ...(issue.path as NodePath)]
  switch (issue.code) {
    case 'unrecognized_keys': {
      const pattern = path.map((k) => (typeof k === 'number' ? '*' : k)).join('.')
      const known = KNOWN_KEYS[pattern] ?? []
      return issue.keys.map((k) => {
        const near = closest(k, known)
        return {
          path: [...path, k],
          key: true,
          message: `unknown key \`${k}\``,
          fix: near ? `did you mean \`${near}\`?` : `remove it (known keys: ${known.join(', ')})`,
        }
      })
    }
    case 'invalid_union': {
      // Follow the branch that got furthest (its own type matched); else say which values would do.
      const topLevel = (i: z.core.$ZodIssue) =>
        i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')
      const best = issue.errors.find((b) => !b.some(topLevel))
      if (best) return best.flatMap((i) => fromZodIssue(i, path, data))
      const wanted = [
        ...new Set(
          issue.errors.flat().flatMap((i) => {
            if (i.path.length > 0) return []
            if (i.code === 'invalid_value') return [`one of ${i.values.join(', ')}`]
            return i.code === 'invalid_type' ? [expectedName(i.expected)] : []
          }),
        ),
      ]
      const got = readPath(data, path)
      return [
        {
          path,
          message: `${fieldName(path)} must be ${wanted.join(' or ')}, not ${typeName(got, true)}`,
          fix: `write ${fieldName(path)} as ${wanted.join(' or ')}`,
        },
      ]
    }
    case 'invalid_type': {
      const got = readPath(data, path)
      if (got === undefined) {
        return [{ path, message: `${fieldName(path)} is required`, fix: `add ${fieldName(path)}` }]
      }
      return [
        {
          path,
          message: `${fieldName(path)} must be ${expectedName(issue.expected)}, not ${typeName(got, true)}`,
          fix: `change the value of ${fieldName(path)}`,
        },
      ]
    }
    case 'invalid_value':
      return [
        {
          path,
          message: `${fieldName(path)} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
          fix: `use one of ${issue.values.join(', ')}`,
        },
      ]
    default: {
      const msg = issue.message.replace(/^(Invalid input|Too small|Too big|Invalid string): /, '')
      return [{ path, message: `${fieldName(path)} ${msg}`, fix: `change the value of ${fieldName(path)}` }]
    }
  }
}

/**
 * Parses and validates workflow text. `file` names it in error locations and supplies the id of a
 * workflow that declares none (its base name).
 * @throws WorkflowValidationError listing every problem found.
 * @example parseWorkflow(await readFile('wf.yaml', 'utf8'), 'wf.yaml', { vars: { env: 'prod' } })
 */
export function parseWorkflow(text: string, file: string, opts: LoadWorkflowOptions = {}): WorkflowDef {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true })
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset)
    return { line: p.line, column: p.col }
  }

  if (doc.errors.length > 0) {
    throw new WorkflowValidationError(
      doc.errors.map((e) => ({
        file,
        ...(e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : at(e.pos[0])),
        message: `YAML syntax: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        fix:
          e.code === 'DUPLICATE_KEY'
            ? 'remove or rename one of the duplicate keys'
            : e.code === 'TAB_AS_INDENT'
              ? 'indent with spaces, not tabs'
              : 'fix the YAML syntax here (indentation, a `:` after each key, closed quotes and brackets)',
      })),
    )
  }

  const raw: unknown = doc.toJS()
  const wrapped = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'workflow' in raw
  const base: NodePath = wrapped ? ['workflow'] : []
  const data = wrapped ? (raw as { workflow: unknown }).workflow : raw

  /** Location of the node at `path` (or of its nearest existing ancestor); `key` points at a mapping key. */
  const locate = (rel: NodePath, key = false): { line: number; column: number } => {
    const path = [...base, ...rel]
    for (let n = path.length; n >= 0; n--) {
      if (key && n === path.length && n > 0) {
        const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[n - 1])
          if (pair && isScalar(pair.key) && pair.key.range) return at(pair.key.range[0])
        }
        continue
      }
      const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | undefined
      if (node?.range) return at(node.range[0])
    }
    return { line: 1, column: 1 }
  }
  const located = (issues: (PathIssue & { key?: boolean })[]): WorkflowIssue[] =>
    issues
      .map((i) => ({ file, ...locate(i.path, i.key), message: i.message, fix: i.fix }))
      .sort((a, b) => a.line - b.line || a.column - b.column)

  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new WorkflowValidationError(
      located([
        {
          path: [],
          message: `a workflow file holds a mapping (optionally under \`workflow:\`), not ${typeName(data)}`,
          fix: 'start the file with `workflow:` and indent `id`, `name` and `tasks` under it',
        },
      ]),
    )
  }

  const parsed = workflowFileSchema.safeParse(data)
  if (!parsed.success) {
    throw new WorkflowValidationError(located(parsed.error.issues.flatMap((i) => fromZodIssue(i, [], data))))
  }
  const fileDef: WorkflowFile = parsed.data
  const fallbackId = basename(file, extname(file)) || 'workflow'
  const def = normalizeWorkflow(fileDef, fallbackId, opts.vars)
  const problems = validateWorkflowGraph(fileDef, def, (p) => locate(p).line)
  if (problems.length > 0) throw new WorkflowValidationError(located(problems))
  return def
}
