/**
 * Collects a stream's bytes but keeps only the last `maxBytes`: the end of a log is where a
 * result or an error message usually is. {@link TailBuffer.text} marks what was dropped.
 * @internal
 */
export interface TailBuffer {
  push(chunk: Buffer): void
  /** Bytes seen in all, kept or not. */
  readonly total: number
  readonly truncated: boolean
  /** The kept tail as UTF-8, prefixed with a `[… N bytes truncated …]` line when bytes were dropped. */
  text(): string
}

/** @internal */
export function createTailBuffer(maxBytes: number): TailBuffer {
  let chunks: Buffer[] = []
  let kept = 0
  let total = 0
  return {
    push(chunk) {
      total += chunk.length
      chunks.push(chunk)
      kept += chunk.length
      if (kept > maxBytes * 2) {
        // Compact now and then rather than on every chunk, so a chatty process costs O(n).
        const all = Buffer.concat(chunks)
        chunks = [all.subarray(all.length - maxBytes)]
        kept = maxBytes
      }
    },
    get total() {
      return total
    },
    get truncated() {
      return total > maxBytes
    },
    text() {
      const all = Buffer.concat(chunks)
      const tail = all.length > maxBytes ? all.subarray(all.length - maxBytes) : all
      const body = tail.toString('utf8')
      return total > maxBytes ? `[… ${total - tail.length} bytes truncated …]\n${body}` : body
    },
  }
}
