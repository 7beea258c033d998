/**
 * A binary min-heap over a plain array (so it survives a snapshot as-is). `less(a, b)` says `a`
 * comes out first. The array is mutated in place: its owner decides who may see it.
 */

export function heapPush<T>(h: T[], item: T, less: (a: T, b: T) => boolean): void {
  h.push(item)
  let i = h.length - 1
  while (i > 0) {
    const p = (i - 1) >> 1
    if (!less(h[i], h[p])) break
    const t = h[i]
    h[i] = h[p]
    h[p] = t
    i = p
  }
}

export function heapPop<T>(h: T[], less: (a: T, b: T) => boolean): T | undefined {
  if (h.length === 0) return undefined
  const top = h[0]
  const last = h.pop() as T
  if (h.length > 0) {
    h[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && less(h[l], h[m])) m = l
      if (r < h.length && less(h[r], h[m])) m = r
      if (m === i) break
      const t = h[i]
      h[i] = h[m]
      h[m] = t
      i = m
    }
  }
  return top
}
