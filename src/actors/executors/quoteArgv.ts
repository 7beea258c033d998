/**
 * Quotes words for a POSIX shell so that {@link splitArgv} (or `sh`) gives them back unchanged.
 * Plain words stay bare; anything else is single-quoted, a `'` written as `'\''`.
 * For showing an argv to a person, or handing one to `sh -c` as the author's own words.
 *
 * @example quoteArgv(['echo', "it's", 'a b']) // `echo 'it'\''s' 'a b'`
 */
export function quoteArgv(words: readonly string[]): string {
  return words.map(quoteWord).join(' ')
}

function quoteWord(w: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w
  return `'${w.replaceAll("'", `'\\''`)}'`
}
