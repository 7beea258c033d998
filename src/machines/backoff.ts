/**
 * Delay before a workflow task's next attempt. Policies are in seconds (as users write them);
 * the result is in milliseconds, for deadlines in context.
 */
import type { RetryPolicy } from '../schema/domain.ts'

/**
 * Milliseconds to wait after the `failedAttempt`-th attempt (1-based) failed: `initial_delay`
 * for `fixed`, `initial_delay × 2^(failedAttempt-1)` for `exponential`, both capped by `max_delay`.
 * @example retryDelayMs({ max_retries: 3, backoff: 'exponential', initial_delay: 1, max_delay: 60 }, 3) // 4000
 */
export function retryDelayMs(retry: RetryPolicy, failedAttempt: number): number {
  const n = Math.max(1, failedAttempt)
  const seconds = retry.backoff === 'fixed' ? retry.initial_delay : retry.initial_delay * 2 ** (n - 1)
  return Math.round(Math.min(seconds, retry.max_delay) * 1000)
}
