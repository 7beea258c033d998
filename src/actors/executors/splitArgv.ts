import { ExecutorConfigError } from './ExecutorConfigError.ts'

const BLANK = new Set([' ', '\t', '\n'])
const OPERATORS = new Set(['|', '&', ';', '<', '>', '(', ')'])
// Inside double quotes a backslash escapes only these; before anything else it stays literal.
const DQ_ESCAPABLE = new Set(['$', '`', '"', '\\'])

/**
 * Splits a command line into words the way a POSIX shell would, without running one: blanks
 * separate words; `'…'` is literal; `"…"` is literal except `\$ \` \" \\` and line
 * continuations; an unquoted `\x` is `x`; an unquoted `#` at the start of a word begins a comment.
 *
 * What a shell would *do* rather than quote is refused instead of passed on silently: operators
 * (`| & ; < > ( )`), parameter/command expansions (`$NAME`, `${…}`, `$(…)`, backquotes), so
 * `--exec "grep x | wc"` fails loudly instead of running `grep` with the arguments `|` and `wc`;
 * likewise words after an unquoted newline (a second command), though comments may follow.
 * There is no tilde or pathname (glob) expansion: `~` and `*` are passed as written.
 *
 * @example splitArgv(`claude -p "fix the bug" --output-format json`)
 * // ['claude', '-p', 'fix the bug', '--output-format', 'json']
 * @throws ExecutorConfigError on an unterminated quote, a trailing backslash, or a shell construct.
 */
export function splitArgv(line: string): string[] {
  const words: string[] = []
  let word = ''
  // A word exists once anything (even an empty `''`) was seen; blanks alone make none.
  let inWord = false
  // A shell would end the command at an unquoted newline; words after one are refused.
  let newlineAt: number | undefined
  let i = 0
  const fail = (what: string, at: number): never => {
    throw new ExecutorConfigError(`${what} at column ${at + 1} of: ${line}`, {
      data: { line, column: at + 1 },
    })
  }
  const checkDollar = (at: number, quoted: boolean): void => {
    const next = line[at + 1]
    // Unquoted, `$'…'` is ANSI-C quoting in bash and ksh: refused rather than guessed at.
    const expands = quoted ? /[A-Za-z0-9_{(@*#?$!-]/ : /[A-Za-z0-9_{(@*#?$!'-]/
    if (next !== undefined && expands.test(next)) {
      fail(`"$${next}…" would be expanded by a shell; quote it with '…' or use a shell line`, at)
    }
  }
  while (i < line.length) {
    const c = line[i]
    if (newlineAt !== undefined && !BLANK.has(c) && c !== '#') {
      fail('a newline ends the command in a shell; write one command, or use a shell line', newlineAt)
    }
    if (BLANK.has(c)) {
      if (c === '\n' && (inWord || words.length > 0)) newlineAt ??= i
      if (inWord) words.push(word)
      word = ''
      inWord = false
      i++
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) fail('unterminated single quote', i)
      word += line.slice(i + 1, end)
      inWord = true
      i = end + 1
    } else if (c === '"') {
      const start = i
      i++
      for (;;) {
        if (i >= line.length) fail('unterminated double quote', start)
        const d = line[i]
        if (d === '"') break
        if (d === '\\' && i + 1 < line.length) {
          const e = line[i + 1]
          if (e === '\n') i += 2
          else if (DQ_ESCAPABLE.has(e)) {
            word += e
            i += 2
          } else {
            word += d
            i++
          }
          continue
        }
        if (d === '`') fail("a backquote would run a command in a shell; quote it with '…'", i)
        if (d === '$') checkDollar(i, true)
        word += d
        i++
      }
      inWord = true
      i++
    } else if (c === '\\') {
      if (i + 1 >= line.length) fail('trailing backslash', i)
      if (line[i + 1] !== '\n') {
        word += line[i + 1]
        inWord = true
      }
      i += 2
    } else if (c === '#' && !inWord) {
      const nl = line.indexOf('\n', i)
      i = nl < 0 ? line.length : nl
    } else if (OPERATORS.has(c)) {
      fail(`"${c}" is a shell operator; quote it or use a shell line`, i)
    } else if (c === '`') {
      fail("a backquote would run a command in a shell; quote it with '…'", i)
    } else {
      if (c === '$') checkDollar(i, false)
      word += c
      inWord = true
      i++
    }
  }
  if (inWord) words.push(word)
  return words
}
