/**
 * The `${{ … }}` expression language of workflow files: evaluation, interpolation into task input,
 * and the static questions the loader asks (which expressions are in a value, which tasks they read).
 *
 * Safe by construction: there is no eval, the parser names nothing but `tasks`, `vars`, `workflow`
 * and a fixed set of functions, and a property is read only when it is an own property of a plain
 * object or an array (never `__proto__`, `constructor` or `prototype`). A missing path reads as
 * `undefined` rather than throwing, so `tasks.a.output.x == null` works before `a` has output.
 *
 * Semantics worth knowing:
 * - `==`/`!=` compare by value (arrays and objects deeply); `null` equals a missing value; a number
 *   equals a numeric string (`vars` are always strings, so `vars.n == 3` does what it says).
 * - `<`, `<=`, `>`, `>=` compare two numbers or two strings (a numeric string against a number is
 *   compared as a number); any other pair is `false`.
 * - `&&`/`||` return an operand, as in JavaScript, so `vars.x || 'default'` works; `!` returns a boolean.
 * - `a in b`: element of an array, substring of a string, or own key of an object.
 * - `success()` is true when every dependency succeeded, `failure()` when any failed or timed out,
 *   `always()` is true. Dependencies are `scope.deps` when given, otherwise every task in scope.
 */
import type { ExprScope } from '../schema/workflow.ts'
import { ExpressionError } from './ExpressionError.ts'
import { type Expr, FORBIDDEN_KEYS, parseExpression } from './parseExpression.ts'

export { ExpressionError } from './ExpressionError.ts'
export type { BinaryOp, Expr, FunctionName, RootName } from './parseExpression.ts'
export { parseExpression } from './parseExpression.ts'

const cache = new Map<string, Expr>()
const CACHE_LIMIT = 1000

function parsed(expr: Expr | string): Expr {
  if (typeof expr !== 'string') return expr
  let e = cache.get(expr)
  if (!e) {
    e = parseExpression(expr)
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(expr, e)
  }
  return e
}

function isPlainData(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false
  if (Array.isArray(v)) return true
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** Reads an own property of plain data; anything else is `undefined`. */
function readKey(obj: unknown, key: unknown): unknown {
  if (!isPlainData(obj)) return undefined
  if (typeof key === 'number') {
    if (!Array.isArray(obj) || !Number.isInteger(key)) return undefined
    return obj[key]
  }
  if (typeof key !== 'string' || FORBIDDEN_KEYS.has(key)) return undefined
  return Object.hasOwn(obj, key) ? obj[key] : undefined
}

function truthy(v: unknown): boolean {
  return !(v === false || v === null || v === undefined || v === 0 || v === '' || Number.isNaN(v))
}

const NUMERIC = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/

/** When one side is a number and the other a numeric string, both as numbers; else unchanged. */
function coerce(a: unknown, b: unknown): [unknown, unknown] {
  if (typeof a === 'number' && typeof b === 'string' && NUMERIC.test(b)) return [a, Number(b)]
  if (typeof b === 'number' && typeof a === 'string' && NUMERIC.test(a)) return [Number(a), b]
  return [a, b]
}

function equal(x: unknown, y: unknown): boolean {
  const [a, b] = coerce(x, y)
  if (a === undefined || a === null) return b === undefined || b === null
  if (b === undefined || b === null) return false
  if (typeof a !== 'object' || typeof b !== 'object') return a === b
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]))
  if (!isPlainData(a) || !isPlainData(b)) return false
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]))
}

function compare(op: '<' | '<=' | '>' | '>=', x: unknown, y: unknown): boolean {
  const [a, b] = coerce(x, y)
  const comparable =
    (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string')
  if (!comparable) return false
  const l = a as number | string
  const r = b as number | string
  switch (op) {
    case '<':
      return l < r
    case '<=':
      return l <= r
    case '>':
      return l > r
    case '>=':
      return l >= r
  }
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string')
    return needle !== undefined && needle !== null && haystack.includes(String(needle))
  if (Array.isArray(haystack)) return haystack.some((v) => equal(v, needle))
  if (isPlainData(haystack)) return typeof needle === 'string' && readKey(haystack, needle) !== undefined
  return false
}

function length(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0
  if (typeof v === 'string' || Array.isArray(v)) return v.length
  if (isPlainData(v)) return Object.keys(v).length
  return undefined
}

function depStatuses(scope: ExprScope): string[] {
  const ids = scope.deps ?? Object.keys(scope.tasks ?? {})
  return ids.map((id) => String(readKey(readKey(scope.tasks, id), 'status') ?? 'pending'))
}

function evalNode(e: Expr, scope: ExprScope): unknown {
  switch (e.kind) {
    case 'literal':
      return e.value
    case 'root':
      return (scope as unknown as Record<string, unknown>)[e.name]
    case 'member':
      return readKey(evalNode(e.object, scope), evalNode(e.key, scope))
    case 'not':
      return !truthy(evalNode(e.operand, scope))
    case 'binary': {
      const left = evalNode(e.left, scope)
      if (e.op === '&&') return truthy(left) ? evalNode(e.right, scope) : left
      if (e.op === '||') return truthy(left) ? left : evalNode(e.right, scope)
      const right = evalNode(e.right, scope)
      if (e.op === '==') return equal(left, right)
      if (e.op === '!=') return !equal(left, right)
      if (e.op === 'in') return contains(right, left)
      return compare(e.op, left, right)
    }
    case 'call': {
      const args = e.args.map((a) => evalNode(a, scope))
      switch (e.name) {
        case 'contains':
          return contains(args[0], args[1])
        case 'startsWith':
          return typeof args[0] === 'string' && typeof args[1] === 'string' && args[0].startsWith(args[1])
        case 'endsWith':
          return typeof args[0] === 'string' && typeof args[1] === 'string' && args[0].endsWith(args[1])
        case 'length':
          return length(args[0])
        case 'success':
          return depStatuses(scope).every((s) => s === 'success')
        case 'failure':
          return depStatuses(scope).some((s) => s === 'failed' || s === 'timeout')
        case 'always':
          return true
      }
    }
  }
}

/**
 * Evaluates an expression (source text or a parsed {@link Expr}) against a scope.
 * @throws ExpressionError when the source does not parse; evaluation itself never throws.
 * @example evaluate("tasks.build.status == 'success' && vars.env != 'prod'", scope)
 */
export function evaluate(expr: Expr | string, scope: ExprScope): unknown {
  return evalNode(parsed(expr), scope)
}

/** Whether a `when` condition holds: the truthiness of {@link evaluate}. */
export function evaluateCondition(expr: Expr | string, scope: ExprScope): boolean {
  return truthy(evaluate(expr, scope))
}

/** A `${{ … }}` occurrence in a string: the body and the offsets of `${{` and just past `}}`. */
interface Occurrence {
  body: string
  start: number
  end: number
}

/**
 * Finds the `${{ … }}` occurrences in a string. Quotes inside the body are respected, so
 * `${{ 'a}}b' }}` is one expression.
 * @throws ExpressionError for a `${{` with no closing `}}` (position is the offset in `s`).
 */
export function scanTemplate(s: string): Occurrence[] {
  const out: Occurrence[] = []
  let from = 0
  for (;;) {
    const start = s.indexOf('${{', from)
    if (start < 0) return out
    let i = start + 3
    let quote: string | undefined
    for (;;) {
      if (i >= s.length) throw new ExpressionError("'${{' is not closed by '}}'", start, s)
      const c = s[i]
      if (quote) {
        if (c === '\\') i++
        else if (c === quote) quote = undefined
      } else if (c === '"' || c === "'") {
        quote = c
      } else if (c === '}' && s[i + 1] === '}') {
        break
      }
      i++
    }
    out.push({ body: s.slice(start + 3, i).trim(), start, end: i + 2 })
    from = i + 2
  }
}

function render(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  return JSON.stringify(v) ?? ''
}

/**
 * Resolves every `${{ … }}` in a value, deeply (object keys are left alone). A string that is
 * exactly one expression yields the raw value (an object, a number, …); otherwise the results are
 * concatenated, non-strings as JSON and null/undefined as ''.
 * @example interpolate({ spec: '${{ tasks.design.output }}', msg: 'built ${{ vars.name }}' }, scope)
 */
export function interpolate(value: unknown, scope: ExprScope): unknown {
  if (typeof value === 'string') {
    const occ = scanTemplate(value)
    if (occ.length === 0) return value
    if (occ.length === 1 && occ[0].start === 0 && occ[0].end === value.length)
      return evaluate(occ[0].body, scope)
    let out = ''
    let at = 0
    for (const o of occ) {
      out += value.slice(at, o.start) + render(evaluate(o.body, scope))
      at = o.end
    }
    return out + value.slice(at)
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, scope))
  if (isPlainData(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, scope)
    return out
  }
  return value
}

/**
 * Every `${{ … }}` body in a value, deeply, in document order (for validation).
 * @throws ExpressionError for an unclosed `${{`.
 */
export function findExpressions(value: unknown): string[] {
  if (typeof value === 'string') return scanTemplate(value).map((o) => o.body)
  if (Array.isArray(value)) return value.flatMap(findExpressions)
  if (isPlainData(value)) return Object.values(value).flatMap(findExpressions)
  return []
}

/**
 * Task ids an expression reads through `tasks.<id>` or `tasks['<id>']`, without duplicates.
 * A computed id (`tasks[vars.t]`) cannot be known statically and is not listed.
 */
export function referencedTasks(expr: Expr | string): string[] {
  const ids = new Set<string>()
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'member':
        if (e.object.kind === 'root' && e.object.name === 'tasks' && e.key.kind === 'literal') {
          ids.add(String(e.key.value))
        }
        walk(e.object)
        walk(e.key)
        return
      case 'not':
        walk(e.operand)
        return
      case 'binary':
        walk(e.left)
        walk(e.right)
        return
      case 'call':
        e.args.forEach(walk)
        return
      default:
        return
    }
  }
  walk(parsed(expr))
  return [...ids]
}
