/** Levenshtein distance, for "did you mean" suggestions. @internal */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}

/**
 * The candidate closest to `word` by edit distance, when it is close enough to be a plausible typo
 * (at most a third of the word's length, and at least 2 edits allowed), or that the word
 * begins. @internal
 */
export function closest(word: string, candidateList: Iterable<string>): string | undefined {
  const candidates = [...candidateList]
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD) {
      best = c
      bestD = d
    }
  }
  if (bestD <= Math.max(2, Math.floor(word.length / 3))) return best
  // A truncated word (`depends` for `depends_on`) is far by distance but plainly meant.
  if (word.length >= 3)
    for (const c of candidates) if (c.toLowerCase().startsWith(word.toLowerCase())) return c
  return undefined
}
