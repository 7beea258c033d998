// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow expressions are written as ${{ }} in plain strings
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Expr,
  ExpressionError,
  evaluate,
  evaluateCondition,
  findExpressions,
  interpolate,
  parseExpression,
  referencedTasks,
} from '../../src/machines/expressions.ts'
import type { ExprScope } from '../../src/schema/workflow.ts'

const scope: ExprScope = {
  tasks: {
    'design-api': {
      status: 'success',
      attempts: 1,
      output: { spec: { paths: ['/a', '/b'] }, count: 3, name: 'api' },
    },
    build: { status: 'failed', attempts: 2, error: 'boom' },
    '1-setup': { status: 'success', attempts: 1, output: [10, 20] },
  },
  workflow: { id: 'wf-1', name: 'Feature', run_id: 'r1' },
  vars: { env: 'staging', n: '5', empty: '' },
}

function errorOf(src: string): ExpressionError {
  try {
    parseExpression(src)
  } catch (e) {
    if (e instanceof ExpressionError) return e
    throw e
  }
  throw new Error(`expected ${src} to fail`)
}

describe('expressions', () => {
  it('expressions - reads paths with dashed ids, brackets, digits and the three roots', () => {
    expect(evaluate('tasks.design-api.status', scope)).toBe('success')
    expect(evaluate("tasks['design-api'].output.spec.paths[1]", scope)).toBe('/b')
    expect(evaluate('tasks.1-setup.output.0', scope)).toBe(10)
    expect(evaluate('vars.env', scope)).toBe('staging')
    expect(evaluate('workflow.id', scope)).toBe('wf-1')
    expect(evaluate('tasks.build.attempts', scope)).toBe(2)
  })

  it('expressions - missing paths are undefined, not errors', () => {
    expect(evaluate('tasks.nope.output.x.y', scope)).toBeUndefined()
    expect(evaluate('tasks.build.output.x', scope)).toBeUndefined()
    expect(evaluate('vars.missing == null', scope)).toBe(true)
    expect(evaluate('vars.env.length', scope)).toBeUndefined()
  })

  it('expressions - every comparison operator', () => {
    expect(evaluate("vars.env == 'staging'", scope)).toBe(true)
    expect(evaluate("vars.env != 'staging'", scope)).toBe(false)
    expect(evaluate('1 < 2', scope)).toBe(true)
    expect(evaluate('2 < 2', scope)).toBe(false)
    expect(evaluate('2 <= 2', scope)).toBe(true)
    expect(evaluate('3 > 2', scope)).toBe(true)
    expect(evaluate('2 > 2', scope)).toBe(false)
    expect(evaluate('2 >= 2', scope)).toBe(true)
    expect(evaluate("'a' < 'b'", scope)).toBe(true)
    expect(evaluate("1 < 'b'", scope)).toBe(false)
    expect(evaluate('null < 1', scope)).toBe(false)
  })

  it('expressions - numeric strings compare as numbers against numbers (vars are strings)', () => {
    expect(evaluate('vars.n == 5', scope)).toBe(true)
    expect(evaluate('vars.n > 4', scope)).toBe(true)
    expect(evaluate("vars.n == '5'", scope)).toBe(true)
    expect(evaluate("'10' < '9'", scope)).toBe(true) // two strings stay strings
  })

  it('expressions - equality is by value, deep', () => {
    const s: ExprScope = {
      ...scope,
      tasks: { a: { status: 'success', attempts: 1, output: { x: [1, { y: 2 }] } } },
    }
    const s2: ExprScope = { ...s, vars: {} }
    expect(evaluate('tasks.a.output == tasks.a.output', s)).toBe(true)
    expect(evaluate('tasks.a.output.x[1].y == 2', s2)).toBe(true)
    expect(evaluate('null == null', s)).toBe(true)
    expect(evaluate('0 == null', s)).toBe(false)
    expect(evaluate("'' == null", s)).toBe(false)
  })

  it('expressions - logical operators short-circuit and return operands', () => {
    expect(evaluate('true && false', scope)).toBe(false)
    expect(evaluate('true || false', scope)).toBe(true)
    expect(evaluate("vars.empty || 'default'", scope)).toBe('default')
    expect(evaluate("vars.env && 'yes'", scope)).toBe('yes')
    expect(evaluate('!true', scope)).toBe(false)
    expect(evaluate('!vars.missing', scope)).toBe(true)
    expect(evaluate('!!vars.env', scope)).toBe(true)
  })

  it('expressions - precedence: ! binds tighter than comparison, comparison than ==, == than &&, && than ||', () => {
    expect(evaluate('true || false && false', scope)).toBe(true)
    expect(evaluate('(true || false) && false', scope)).toBe(false)
    expect(evaluate('1 < 2 == true', scope)).toBe(true)
    expect(evaluate('!false == true', scope)).toBe(true)
    expect(evaluate("vars.env == 'staging' && tasks.build.status == 'failed' || false", scope)).toBe(true)
  })

  it('expressions - in and the functions', () => {
    expect(evaluate("'/a' in tasks.design-api.output.spec.paths", scope)).toBe(true)
    expect(evaluate("'/c' in tasks.design-api.output.spec.paths", scope)).toBe(false)
    expect(evaluate("'stag' in vars.env", scope)).toBe(true)
    expect(evaluate("'spec' in tasks.design-api.output", scope)).toBe(true)
    expect(evaluate("'toString' in tasks.design-api.output", scope)).toBe(false)
    expect(evaluate("contains(vars.env, 'agi')", scope)).toBe(true)
    expect(evaluate('contains(tasks.1-setup.output, 20)', scope)).toBe(true)
    expect(evaluate("startsWith(vars.env, 'st')", scope)).toBe(true)
    expect(evaluate("endsWith(vars.env, 'st')", scope)).toBe(false)
    expect(evaluate('length(tasks.design-api.output.spec.paths)', scope)).toBe(2)
    expect(evaluate('length(vars.env)', scope)).toBe(7)
    expect(evaluate('length(tasks.nope)', scope)).toBe(0)
    expect(evaluate('always()', scope)).toBe(true)
    expect(evaluate('failure()', scope)).toBe(true)
    expect(evaluate('success()', scope)).toBe(false)
    expect(evaluate('success()', { ...scope, deps: ['design-api', '1-setup'] })).toBe(true)
    expect(evaluate('failure()', { ...scope, deps: ['design-api'] })).toBe(false)
  })

  it('expressions - string literals: both quotes and JSON escapes', () => {
    expect(evaluate('"a\\"b"', scope)).toBe('a"b')
    expect(evaluate("'it\\'s'", scope)).toBe("it's")
    expect(evaluate("'\\u0041\\n'", scope)).toBe('A\n')
    expect(evaluate('-1.5e2', scope)).toBe(-150)
  })

  it('expressions - parse errors carry the position of the problem', () => {
    const cases: [string, number, RegExp][] = [
      ['', 0, /empty/],
      ["tasks.a.status == 'x", 18, /unterminated string/],
      ['tasks.a.status ==', 17, /expected an expression after '=='/],
      ['(true', 5, /expected '\)'/],
      ['tasks.a = 1', 8, /use '=='/],
      ['true & false', 5, /use '&&'/],
      ['foo(1)', 0, /unknown function 'foo'/],
      ['length(1, 2)', 0, /takes 1 argument/],
      ['1 2', 2, /unexpected '2'/],
      ['tasks.', 6, /expected a name after '.'/],
      ['vars.x @ 1', 7, /unexpected character '@'/],
      ["tasks['a'", 9, /expected '\]'/],
    ]
    for (const [src, pos, msg] of cases) {
      const e = errorOf(src)
      expect(e.name).toBe('ExpressionError')
      expect(e.retryable).toBe(false)
      expect({ src, pos: e.position }).toEqual({ src, pos })
      expect(e.message).toMatch(msg)
    }
  })

  it('expressions - no escape: globals, this and the prototype chain are out of reach', () => {
    for (const src of ['process', 'this', 'globalThis', 'require', 'constructor', 'Function']) {
      expect(errorOf(src).message).toMatch(/unknown name/)
    }
    expect(errorOf('tasks.constructor').position).toBe(6)
    expect(errorOf('tasks.a.__proto__').position).toBe(8)
    expect(errorOf("vars['prototype']").message).toMatch(/may not be read/)
    expect(errorOf('process.env').position).toBe(0)
    // Computed keys are checked when evaluated, and yield undefined.
    const s: ExprScope = { ...scope, vars: { k: 'constructor', p: '__proto__', t: 'toString' } }
    expect(evaluate('vars[vars.k]', s)).toBeUndefined()
    expect(evaluate('vars[vars.p]', s)).toBeUndefined()
    expect(evaluate('vars[vars.t]', s)).toBeUndefined()
    expect(evaluate('tasks[vars.k][vars.k]', s)).toBeUndefined()
    // Only plain data is read: a class instance in scope exposes nothing.
    class Secret {
      token = 'x'
    }
    const withInstance = { ...scope, vars: { s: new Secret() } } as unknown as ExprScope
    expect(evaluate('vars.s.token', withInstance)).toBeUndefined()
  })

  it('expressions - interpolate: a lone expression keeps its type, mixed text concatenates', () => {
    const input = {
      spec: '${{ tasks.design-api.output.spec }}',
      count: '${{tasks.design-api.output.count}}',
      msg: 'api ${{ tasks.design-api.output.name }} has ${{ tasks.design-api.output.spec.paths }} in ${{ vars.env }}',
      none: 'x=${{ vars.missing }}.',
      list: ['${{ workflow.id }}', 7, true, null],
      tricky: "${{ 'a}}b' }}",
      plain: 'no expressions',
    }
    expect(interpolate(input, scope)).toEqual({
      spec: { paths: ['/a', '/b'] },
      count: 3,
      msg: 'api api has ["/a","/b"] in staging',
      none: 'x=.',
      list: ['wf-1', 7, true, null],
      tricky: 'a}}b',
      plain: 'no expressions',
    })
    expect(() => interpolate('${{ vars.x', scope)).toThrow(/not closed/)
    expect(() => interpolate('${{ vars.x == }}', scope)).toThrow(ExpressionError)
  })

  it('expressions - findExpressions and referencedTasks', () => {
    expect(findExpressions({ a: ['${{ x }} and ${{ y }}'], b: { c: '${{z}}' }, d: 3 })).toEqual([
      'x',
      'y',
      'z',
    ])
    expect(
      referencedTasks(
        "tasks.design-api.status == 'success' && tasks['build'].output.x in tasks.design-api.output || tasks[vars.t]",
      ),
    ).toEqual(['design-api', 'build'])
    expect(referencedTasks('vars.tasks')).toEqual([])
    expect(evaluateCondition("vars.env == 'staging'", scope)).toBe(true)
    expect(evaluateCondition('vars.empty', scope)).toBe(false)
  })
})

// ---- property: random comparison/boolean trees against a JS reference ----

type Lit = number | string
type Tree =
  | { t: 'cmp'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; a: Lit; b: Lit }
  | { t: 'not'; e: Tree }
  | { t: 'and' | 'or'; l: Tree; r: Tree }

const lit = (v: Lit): string => (typeof v === 'number' ? JSON.stringify(v) : JSON.stringify(v))
const PREC = { or: 1, and: 2, cmp: 3, not: 4 } as const

/** Renders with parentheses only where precedence needs them, so the parser's precedence is tested. */
function show(e: Tree, parent = 0): string {
  let s: string
  if (e.t === 'cmp') s = `${lit(e.a)} ${e.op} ${lit(e.b)}`
  else if (e.t === 'not') s = `!${show(e.e, PREC.not)}`
  else s = `${show(e.l, PREC[e.t])} ${e.t === 'and' ? '&&' : '||'} ${show(e.r, PREC[e.t] + 1)}`
  return PREC[e.t] < parent || (e.t === 'cmp' && parent >= PREC.cmp) ? `(${s})` : s
}

function reference(e: Tree): boolean {
  switch (e.t) {
    case 'cmp': {
      const { a, b } = e
      const ops = { '==': a === b, '!=': a !== b, '<': a < b, '<=': a <= b, '>': a > b, '>=': a >= b }
      return ops[e.op]
    }
    case 'not':
      return !reference(e.e)
    case 'and':
      return reference(e.l) && reference(e.r)
    case 'or':
      return reference(e.l) || reference(e.r)
  }
}

const num = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }))
const str = fc.string({ maxLength: 4 })
const pair = fc.oneof(
  fc.tuple(num, num),
  fc.tuple(str, str),
  fc.tuple(fc.integer({ min: 0, max: 3 })).map(([n]) => [n, n] as [Lit, Lit]),
)
const cmp = fc
  .tuple(fc.constantFrom('==', '!=', '<', '<=', '>', '>=' as const), pair)
  .map(([op, [a, b]]): Tree => ({ t: 'cmp', op, a, b }))
const tree = fc.letrec<{ e: Tree }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    cmp,
    tie('e').map((e): Tree => ({ t: 'not', e })),
    fc
      .tuple(fc.constantFrom('and' as const, 'or' as const), tie('e'), tie('e'))
      .map(([t, l, r]): Tree => ({ t, l, r })),
  ),
})).e

const empty: ExprScope = { tasks: {}, workflow: { id: 'w', name: 'w' }, vars: {} }
type Evaluator = (src: string) => unknown

const property = (ev: Evaluator) =>
  fc.property(tree, (e) => {
    expect(ev(show(e))).toBe(reference(e))
  })

/** The mutant: `<` evaluated as `<=` (an off-by-one at the boundary). */
function swapLt(e: Expr): Expr {
  switch (e.kind) {
    case 'binary':
      return { ...e, op: e.op === '<' ? '<=' : e.op, left: swapLt(e.left), right: swapLt(e.right) }
    case 'not':
      return { ...e, operand: swapLt(e.operand) }
    default:
      return e
  }
}

describe('expressions properties', () => {
  it('expressions - random comparison trees evaluate like JavaScript (precedence included)', () => {
    fc.assert(
      property((src) => evaluate(src, empty)),
      { numRuns: 400 },
    )
  })

  it('expressions - mutant check: an evaluator with `<` swapped for `<=` fails the same property', () => {
    const broken: Evaluator = (src) => evaluate(swapLt(parseExpression(src)), empty)
    expect(fc.check(property(broken), { numRuns: 400 }).failed).toBe(true)
  })
})
