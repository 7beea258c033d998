/**
 * A task's `when` condition: written bare (`vars.env == 'prod'`) or wrapped (`${{ vars.env == 'prod' }}`).
 */
import type { ExprScope } from '../schema/workflow.ts'
import { type Expr, evaluateCondition, findExpressions, interpolate, parseExpression } from './expressions.ts'

// Asked for every pending task on every event: parse each condition once.
const statusAware = new Map<string, boolean>()

function bodies(when: string): string[] {
  return when.includes('${{') ? findExpressions(when) : [when]
}

/**
 * Whether a condition holds in `scope`. A wrapped condition is interpolated (one whole `${{ … }}`
 * yields its raw value), then judged by truthiness like a bare one.
 * @throws ExpressionError when the condition does not parse.
 */
export function conditionHolds(when: string, scope: ExprScope): boolean {
  if (!when.includes('${{')) return evaluateCondition(when, scope)
  const v = interpolate(when, scope)
  return !(v === false || v === null || v === undefined || v === 0 || v === '' || Number.isNaN(v))
}

/**
 * Whether a condition calls `success()`, `failure()` or `always()`. Such a condition decides on
 * its own once every dependency has ended, as in GitHub Actions; any other condition is only
 * evaluated when every dependency succeeded.
 * @throws ExpressionError when the condition does not parse.
 */
export function readsDependencyStatus(when: string): boolean {
  let known = statusAware.get(when)
  if (known === undefined) {
    known = bodies(when).some((b) => callsStatusFunction(parseExpression(b)))
    if (statusAware.size >= 1000) statusAware.clear()
    statusAware.set(when, known)
  }
  return known
}

function callsStatusFunction(e: Expr): boolean {
  switch (e.kind) {
    case 'call':
      return (
        e.name === 'success' ||
        e.name === 'failure' ||
        e.name === 'always' ||
        e.args.some(callsStatusFunction)
      )
    case 'member':
      return callsStatusFunction(e.object) || callsStatusFunction(e.key)
    case 'not':
      return callsStatusFunction(e.operand)
    case 'binary':
      return callsStatusFunction(e.left) || callsStatusFunction(e.right)
    default:
      return false
  }
}
