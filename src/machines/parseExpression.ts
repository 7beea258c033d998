/**
 * Tokenizer and recursive-descent parser for the `${{ … }}` expression language of workflow files.
 *
 * Grammar, lowest precedence first:
 * ```
 * or       := and ('||' and)*
 * and      := equality ('&&' equality)*
 * equality := compare (('==' | '!=') compare)*
 * compare  := unary (('<' | '<=' | '>' | '>=' | 'in') unary)*
 * unary    := '!' unary | postfix
 * postfix  := primary ('.' segment | '[' or ']')*
 * primary  := number | string | true | false | null | root | call | '(' or ')'
 * root     := 'tasks' | 'vars' | 'workflow'
 * call     := name '(' (or (',' or)*)? ')'
 * ```
 * A segment after `.` is `[A-Za-z0-9_-]+`, so task ids such as `design-api` need no quoting.
 * There is no arithmetic, so `-` is never an operator. Names other than the three roots and the
 * known functions are refused here, which is what keeps `process`, `this`, `globalThis` and the
 * like out of reach: the evaluator has no way to name anything but its scope.
 */
import { ExpressionError } from './ExpressionError.ts'

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in'
export type RootName = 'tasks' | 'vars' | 'workflow'
export type FunctionName =
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'length'
  | 'success'
  | 'failure'
  | 'always'

/** A parsed expression. `pos` is the offset of the node's first character in the source. */
export type Expr =
  | { kind: 'literal'; value: string | number | boolean | null; pos: number }
  | { kind: 'root'; name: RootName; pos: number }
  | { kind: 'member'; object: Expr; key: Expr; computed: boolean; pos: number }
  | { kind: 'not'; operand: Expr; pos: number }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: number }
  | { kind: 'call'; name: FunctionName; args: Expr[]; pos: number }

/** Arity of each function. */
export const FUNCTIONS: Record<FunctionName, number> = {
  contains: 2,
  startsWith: 2,
  endsWith: 2,
  length: 1,
  success: 0,
  failure: 0,
  always: 0,
}

const ROOTS: ReadonlySet<string> = new Set(['tasks', 'vars', 'workflow'])
/** Segments that lead out of plain data into the prototype chain. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

type TokenKind = 'num' | 'str' | 'name' | 'segment' | 'op' | 'end'
interface Token {
  kind: TokenKind
  text: string
  value?: string | number
  pos: number
}

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.', ',']
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '/': '/', '\\': '\\' }

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let i = 0
  const fail = (msg: string, at: number): never => {
    throw new ExpressionError(msg, at, src)
  }
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const start = i
    // After a dot comes a path segment, which may hold `-` and start with a digit (`tasks.1-a`, `items.0`).
    if (out.length > 0 && out[out.length - 1].text === '.' && out[out.length - 1].kind === 'op') {
      const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i))
      if (!m) fail(`expected a name after '.' but found '${c}'`, i)
      out.push({ kind: 'segment', text: m![0], value: m![0], pos: start })
      i += m![0].length
      continue
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i))
    if (num) {
      out.push({ kind: 'num', text: num[0], value: Number(num[0]), pos: start })
      i += num[0].length
      if (i < src.length && /[A-Za-z_]/.test(src[i])) fail(`unexpected '${src[i]}' after a number`, i)
      continue
    }
    if (c === '"' || c === "'") {
      let s = ''
      i++
      for (;;) {
        if (i >= src.length) fail('unterminated string', start)
        const d = src[i]
        if (d === c) break
        if (d === '\\') {
          const e = src[i + 1]
          if (e === undefined) fail('unterminated string', start)
          if (e === 'u') {
            const hex = src.slice(i + 2, i + 6)
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape (want four hex digits)', i)
            s += String.fromCharCode(Number.parseInt(hex, 16))
            i += 6
            continue
          }
          if (e === '"' || e === "'") s += e
          else if (e in ESCAPES) s += ESCAPES[e]
          else fail(`unknown escape '\\${e}'`, i)
          i += 2
          continue
        }
        s += d
        i++
      }
      i++
      out.push({ kind: 'str', text: src.slice(start, i), value: s, pos: start })
      continue
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (name) {
      out.push({ kind: 'name', text: name[0], pos: start })
      i += name[0].length
      continue
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i))
    if (!op) {
      if (c === '=') fail("unexpected '=' (use '==' to compare)", i)
      if (c === '&' || c === '|') fail(`unexpected '${c}' (use '${c}${c}')`, i)
      fail(`unexpected character '${c}'`, i)
    }
    out.push({ kind: 'op', text: op!, pos: start })
    i += op!.length
  }
  out.push({ kind: 'end', text: '', pos: src.length })
  return out
}

const describe = (t: Token): string => (t.kind === 'end' ? 'the end of the expression' : `'${t.text}'`)

class Parser {
  private readonly src: string
  private readonly toks: Token[]
  private i = 0

  constructor(src: string) {
    this.src = src
    this.toks = tokenize(src)
  }

  parse(): Expr {
    if (this.peek().kind === 'end') this.fail('empty expression', 0)
    const e = this.or()
    const t = this.peek()
    if (t.kind !== 'end') this.fail(`unexpected ${describe(t)} (expected an operator or the end)`, t.pos)
    return e
  }

  private fail(msg: string, pos: number): never {
    throw new ExpressionError(msg, pos, this.src)
  }
  private peek(): Token {
    return this.toks[this.i]
  }
  private isOp(text: string): boolean {
    const t = this.peek()
    return t.kind === 'op' && t.text === text
  }
  private expectOp(text: string, what: string): Token {
    const t = this.peek()
    if (t.kind !== 'op' || t.text !== text)
      this.fail(`expected '${text}' ${what} but found ${describe(t)}`, t.pos)
    this.i++
    return t
  }

  private binaryLevel(ops: readonly BinaryOp[], next: () => Expr): Expr {
    let left = next()
    for (;;) {
      const t = this.peek()
      const isIn = t.kind === 'name' && t.text === 'in' && ops.includes('in')
      if (!isIn && !(t.kind === 'op' && (ops as readonly string[]).includes(t.text))) return left
      this.i++
      if (this.peek().kind === 'end') this.fail(`expected an expression after '${t.text}'`, this.peek().pos)
      const right = next()
      left = { kind: 'binary', op: t.text as BinaryOp, left, right, pos: left.pos }
    }
  }

  private or = (): Expr => this.binaryLevel(['||'], this.and)
  private and = (): Expr => this.binaryLevel(['&&'], this.equality)
  private equality = (): Expr => this.binaryLevel(['==', '!='], this.compare)
  private compare = (): Expr => this.binaryLevel(['<', '<=', '>', '>=', 'in'], this.unary)

  private unary = (): Expr => {
    const t = this.peek()
    if (t.kind === 'op' && t.text === '!') {
      this.i++
      return { kind: 'not', operand: this.unary(), pos: t.pos }
    }
    return this.postfix()
  }

  private postfix(): Expr {
    let e = this.primary()
    for (;;) {
      if (this.isOp('.')) {
        this.i++
        const seg = this.peek()
        if (seg.kind !== 'segment') this.fail("expected a name after '.'", seg.pos)
        this.i++
        this.checkKey(seg.text, seg.pos)
        e = {
          kind: 'member',
          object: e,
          key: { kind: 'literal', value: seg.text, pos: seg.pos },
          computed: false,
          pos: e.pos,
        }
      } else if (this.isOp('[')) {
        const open = this.peek()
        this.i++
        const key = this.or()
        if (key.kind === 'literal' && typeof key.value === 'string') this.checkKey(key.value, key.pos)
        this.expectOp(']', `to close the '[' at position ${open.pos}`)
        e = { kind: 'member', object: e, key, computed: true, pos: e.pos }
      } else {
        return e
      }
    }
  }

  private checkKey(key: string, pos: number): void {
    if (FORBIDDEN_KEYS.has(key)) this.fail(`'${key}' may not be read in an expression`, pos)
  }

  private primary(): Expr {
    const t = this.peek()
    if (t.kind === 'num' || t.kind === 'str') {
      this.i++
      return { kind: 'literal', value: t.value!, pos: t.pos }
    }
    if (t.kind === 'op' && t.text === '(') {
      this.i++
      const e = this.or()
      this.expectOp(')', `to close the '(' at position ${t.pos}`)
      return e
    }
    if (t.kind === 'name') {
      this.i++
      if (t.text === 'true' || t.text === 'false')
        return { kind: 'literal', value: t.text === 'true', pos: t.pos }
      if (t.text === 'null') return { kind: 'literal', value: null, pos: t.pos }
      if (this.isOp('(')) return this.call(t)
      if (ROOTS.has(t.text)) return { kind: 'root', name: t.text as RootName, pos: t.pos }
      this.fail(`unknown name '${t.text}' (an expression reads only tasks, vars and workflow)`, t.pos)
    }
    this.fail(`expected a value but found ${describe(t)}`, t.pos)
  }

  private call(name: Token): Expr {
    if (!Object.hasOwn(FUNCTIONS, name.text)) {
      this.fail(`unknown function '${name.text}' (known: ${Object.keys(FUNCTIONS).join(', ')})`, name.pos)
    }
    const fn = name.text as FunctionName
    this.i++ // '('
    const args: Expr[] = []
    if (!this.isOp(')')) {
      args.push(this.or())
      while (this.isOp(',')) {
        this.i++
        args.push(this.or())
      }
    }
    this.expectOp(')', `to close the call to ${fn}()`)
    if (args.length !== FUNCTIONS[fn]) {
      this.fail(`${fn}() takes ${FUNCTIONS[fn]} argument(s) but was given ${args.length}`, name.pos)
    }
    return { kind: 'call', name: fn, args, pos: name.pos }
  }
}

/**
 * Parses one expression (the text between `${{` and `}}`).
 * @throws ExpressionError with the offset of the offending character.
 * @example parseExpression("tasks.design-api.status == 'success'")
 */
export function parseExpression(src: string): Expr {
  return new Parser(src).parse()
}
