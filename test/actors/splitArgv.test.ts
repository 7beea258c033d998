import { execFileSync } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ExecutorConfigError } from '../../src/actors/executors/ExecutorConfigError.ts'
import { quoteArgv } from '../../src/actors/executors/quoteArgv.ts'
import { splitArgv } from '../../src/actors/executors/splitArgv.ts'

type Split = (line: string) => string[]

/** What `sh` itself makes of a line: each word printed NUL-terminated. */
function shSplit(line: string): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' })
  return out.split('\0').slice(0, -1)
}

// Each word is quoted in one of three styles, so every path of the parser is exercised.
const quoteStyle = fc.constantFrom('single', 'double', 'backslash')
function quoteIn(style: string, w: string): string {
  if (style === 'single') return `'${w.replaceAll("'", `'\\''`)}'`
  if (style === 'double') return `"${w.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`
  // Backslash-newline is a line continuation, so a newline has to be quoted some other way.
  return w === '' ? "''" : [...w].map((c) => (c === '\n' ? `'\n'` : `\\${c}`)).join('')
}
// Characters a shell treats specially, weighted up, among ordinary and non-ASCII ones.
const shellChar = fc.oneof(
  fc.constantFrom(' ', "'", '"', '\\', '$', '`', '\n', '\t', '#', ';', '|', '&', '*', '~', '(', ')', '<'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  fc.constantFrom('é', '😀', 'ß'),
)
const word = fc.string({ unit: shellChar, maxLength: 12 })
const wordList = fc.array(fc.tuple(word, quoteStyle), { maxLength: 6 })
// An unquoted newline ends a command in sh, so only blanks separate words.
const separator = fc.constantFrom(' ', '  ', '\t', ' \t ')

const roundTrips = (split: Split) =>
  fc.property(wordList, separator, (words, sep) => {
    const line = words.map(([w, style]) => quoteIn(style, w)).join(sep)
    expect(split(line)).toEqual(words.map(([w]) => w))
  })

const quoteArgvRoundTrips = (split: Split) =>
  fc.property(fc.array(word, { maxLength: 6 }), (words) => {
    expect(split(quoteArgv(words))).toEqual(words)
  })

describe('splitArgv', () => {
  it('splitArgv - splits on blanks and keeps quoted spaces', () => {
    expect(splitArgv(`claude -p "fix the bug"  --output-format\tjson`)).toEqual([
      'claude',
      '-p',
      'fix the bug',
      '--output-format',
      'json',
    ])
    expect(splitArgv('   ')).toEqual([])
  })

  it('splitArgv - single quotes are literal, double quotes honour only \\$ \\` \\" \\\\', () => {
    expect(splitArgv(`'a\\b "c"'`)).toEqual(['a\\b "c"'])
    expect(splitArgv(`"a\\b \\"c\\" \\\\ \\$x"`)).toEqual(['a\\b "c" \\ $x'])
    expect(splitArgv(`it\\'s a\\ b`)).toEqual(["it's", 'a b'])
  })

  it('splitArgv - adjacent quoted parts join into one word; an empty quote is an empty word', () => {
    expect(splitArgv(`--name='x y'"z" '' ""`)).toEqual(['--name=x yz', '', ''])
  })

  it('splitArgv - line continuations and comments behave as in sh', () => {
    expect(splitArgv('a \\\nb "c\\\nd" e#f # a comment')).toEqual(['a', 'b', 'cd', 'e#f'])
    expect(splitArgv('\n  a b # why\n\n')).toEqual(['a', 'b'])
  })

  it('splitArgv - does no tilde or pathname expansion (a documented difference from sh)', () => {
    expect(splitArgv('~/bin/tool *.ts')).toEqual(['~/bin/tool', '*.ts'])
  })

  it('splitArgv - refuses a second command after an unquoted newline', () => {
    expect(() => splitArgv('make build\nmake test')).toThrow('a newline ends the command in a shell')
  })

  it('splitArgv - agrees with sh on a sample of lines', () => {
    const lines = [
      `a 'b c' "d e" f\\ g`,
      `"x\\y" 'x\\y' x\\y`,
      `'' "" a''b`,
      `"it's" 'say "hi"' \\"q\\"`,
      `one\ttwo  three`,
      `'multi\nline' "x\ny" a\\\nb`,
      `x # comment\n`,
      `'multi\nline' "x\ny"`,
      `'~' '*' "~"`,
      `a\\\nb #c d`,
      `"a\\$b" "\\\`" "\\\\"`,
    ]
    for (const line of lines) expect(splitArgv(line), line).toEqual(shSplit(line))
  })

  it('splitArgv - an unterminated quote is an error naming the quote and its column', () => {
    expect(() => splitArgv(`echo 'abc`)).toThrow(ExecutorConfigError)
    expect(() => splitArgv(`echo 'abc`)).toThrow(`unterminated single quote at column 6 of: echo 'abc`)
    expect(() => splitArgv(`a "b \\"`)).toThrow('unterminated double quote at column 3')
    expect(() => splitArgv('a \\')).toThrow('trailing backslash at column 3')
  })

  it('splitArgv - refuses what a shell would execute or expand instead of passing it on', () => {
    expect(() => splitArgv('grep x | wc -l')).toThrow('"|" is a shell operator')
    expect(() => splitArgv('make; rm -rf /')).toThrow('";" is a shell operator')
    expect(() => splitArgv('echo $HOME')).toThrow(/"\$H…" would be expanded/)
    expect(() => splitArgv('echo "$(id)"')).toThrow(/would be expanded/)
    expect(() => splitArgv('echo `id`')).toThrow(/backquote/)
    expect(() => splitArgv('cat < in')).toThrow(/shell operator/)
    // Quoted, the same characters are plain text.
    expect(splitArgv(`grep 'x | wc' '$HOME' "a;b" price$ '\`id\`'`)).toEqual([
      'grep',
      'x | wc',
      '$HOME',
      'a;b',
      'price$',
      '`id`',
    ])
  })

  it('splitArgv - property: quoting arbitrary words in any style and splitting gives them back', () => {
    fc.assert(roundTrips(splitArgv), { numRuns: 500 })
  })

  it('splitArgv - property: splitArgv inverts quoteArgv', () => {
    fc.assert(quoteArgvRoundTrips(splitArgv), { numRuns: 300 })
  })

  it('splitArgv - mutant check: the round trips catch a naive split and a split that drops empty words', () => {
    const naive: Split = (line) => line.split(/\s+/).filter((w) => w !== '')
    const dropsEmpty: Split = (line) => splitArgv(line).filter((w) => w !== '')
    expect(fc.check(roundTrips(naive), { numRuns: 200 }).failed).toBe(true)
    expect(fc.check(roundTrips(dropsEmpty), { numRuns: 200 }).failed).toBe(true)
    expect(fc.check(quoteArgvRoundTrips(dropsEmpty), { numRuns: 200 }).failed).toBe(true)
  })
})

describe('quoteArgv', () => {
  it('quoteArgv - leaves plain words bare and single-quotes the rest', () => {
    expect(quoteArgv(['echo', "it's", 'a b', '', '--x=1'])).toBe(`echo 'it'\\''s' 'a b' '' --x=1`)
  })

  it('quoteArgv - what it quotes, sh reads back unchanged', () => {
    const words = ["it's", '$HOME', '`id`', 'a b\nc', '', '\\', '"', '*']
    expect(shSplit(quoteArgv(words))).toEqual(words)
  })
})
