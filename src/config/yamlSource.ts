import { readFile } from 'node:fs/promises'
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'
import type { z } from 'zod'
import { HiveError } from '../bus/errors.ts'
import { closest } from '../workflow/closest.ts'

export interface SourceProblem {
  file: string
  line: number
  column: number
  message: string
  fix?: string
}

/** A config or workflow file that does not validate: every problem, each with its file, line and fix. */
export class ConfigFileError extends HiveError {
  readonly problems: SourceProblem[]
  constructor(problems: SourceProblem[]) {
    super(problems.map(formatProblem).join('\n'), { code: 'INVALID_FILE', data: { problems } })
    this.name = 'ConfigFileError'
    this.problems = problems
  }
}

export function formatProblem(p: SourceProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`
}

/** Parsed YAML (or JSON) with a way back from a value path to its line and column. */
export interface YamlSource {
  file: string
  value: unknown
  locate(path: ReadonlyArray<PropertyKey>): { line: number; column: number }
}

export async function readYamlSource(file: string): Promise<YamlSource> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigFileError([
      {
        file,
        line: 0,
        column: 0,
        message: `cannot read the file: ${(err as Error).message}`,
        fix: 'check the path',
      },
    ])
  }
  return parseYamlSource(text, file)
}

export function parseYamlSource(text: string, file: string): YamlSource {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length) {
    throw new ConfigFileError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0])
        return { file, line: pos.line, column: pos.col, message: `YAML syntax: ${e.message.split('\n')[0]}` }
      }),
    )
  }
  const at = (offset: number | undefined) => {
    const p = lc.linePos(offset ?? 0)
    return { line: p.line, column: p.col }
  }
  return {
    file,
    value: doc.toJS(),
    locate(path) {
      let node: unknown = doc.contents
      let last: Node | undefined = doc.contents ?? undefined
      for (const key of path) {
        if (isMap(node)) {
          const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === key)
          if (!pair) break
          last = (pair.value as Node) ?? (pair.key as Node)
          // Point at the key of an unknown or wrong entry, which is where the reader looks.
          if (path[path.length - 1] === key) last = (pair.key as Node) ?? last
          node = pair.value
        } else if (isSeq(node) && typeof key === 'number') {
          node = node.items[key]
          if (node) last = node as Node
        } else break
      }
      return at(last?.range?.[0])
    },
  }
}

/** Validates a source against a zod schema; every issue becomes a located problem with a fix. */
export function validateSource<S extends z.ZodType>(
  src: YamlSource,
  schema: S,
  valueAt: ReadonlyArray<PropertyKey> = [],
): z.output<S> {
  let value: unknown = src.value
  for (const k of valueAt) value = (value as Record<PropertyKey, unknown> | undefined)?.[k]
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const problems: SourceProblem[] = []
  for (const issue of parsed.error.issues) {
    const path = [...valueAt, ...issue.path]
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path)
      for (const key of issue.keys) {
        const guess = closest(key, known)
        problems.push({
          file: src.file,
          ...src.locate([...path, key]),
          message: `unknown key \`${key}\` at ${where(path)}`,
          fix: guess ? `did you mean \`${guess}\`?` : `remove it; known keys: ${known.join(', ')}`,
        })
      }
      continue
    }
    problems.push({
      file: src.file,
      ...src.locate(path),
      message: `${where(path)}: ${issue.message}`,
      fix: fixFor(issue),
    })
  }
  throw new ConfigFileError(problems)
}

function where(path: ReadonlyArray<PropertyKey>): string {
  return path.length ? path.map(String).join('.') : 'the top level'
}

function fixFor(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `give ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`
    case 'too_small':
      return `use at least ${String(issue.minimum)}`
    case 'too_big':
      return `use at most ${String(issue.maximum)}`
    case 'invalid_value':
      return `use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    default:
      return undefined
  }
}

function knownKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  // Peel optional/default/nullable wrappers only: zod 4 arrays have unwrap() too, and must keep
  // their place so a numeric path step can step into the element.
  const peel = (x: any) => {
    while (x && !x.shape && x._zod?.def?.type !== 'array' && typeof x.unwrap === 'function') x = x.unwrap()
    return x
  }
  let s: any = peel(schema)
  for (const k of path) {
    if (s?.shape) s = s.shape[k as string]
    else if (s?._zod?.def?.type === 'array') s = s.element
    else return []
    s = peel(s)
  }
  return s?.shape ? Object.keys(s.shape) : []
}
