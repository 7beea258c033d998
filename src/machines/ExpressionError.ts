/**
 * A `${{ … }}` expression that does not parse or cannot be evaluated. Never retryable: the text of
 * a workflow file does not change between attempts.
 */
export class ExpressionError extends Error {
  /** Offset (0-based, in UTF-16 code units) into the expression source where the problem is. */
  readonly position: number
  /** The expression source the position refers to. */
  readonly source: string
  /** The message without the position suffix. */
  readonly reason: string
  readonly retryable = false
  readonly code = 'EXPRESSION_ERROR'

  constructor(message: string, position: number, source: string) {
    super(`${message} at position ${position} in \`${source}\``)
    this.name = 'ExpressionError'
    this.position = position
    this.source = source
    this.reason = message
  }
}
