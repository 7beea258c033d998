import type { TaskResult } from '../bus/catalogue.ts'
import type { Bus } from '../bus/createBus.ts'
import { envelope } from '../bus/envelope.ts'
import { PayloadTooLargeError } from '../bus/errors.ts'
import { subject } from '../bus/subjects.ts'
import type { Logger } from './createLogger.ts'
import { publishBatch } from './publishBatch.ts'

/**
 * Where agents put the results of their runs. Results leave at the end of the pass that produced
 * them, as one `task.result.batch` for every run that finished in it — of every agent sharing the
 * outbox: a node's agents share one, so a coordinator step that gave work to four of them is
 * answered by one message rather than four. Each result names its agent; the batch is transport.
 */
export interface ResultOutbox {
  /** Queues a result; `afterFlush` runs once it has been sent (or could not be). */
  push(result: TaskResult, afterFlush?: () => void): void
  /** Sends what is queued now. */
  flush(): void
}

export function createResultOutbox(bus: Bus, log: Logger): ResultOutbox {
  const coordinator = subject(bus.ns, { kind: 'service', service: 'coordinator' })
  const from = (r: TaskResult) => `agent.${r.agent_id}`

  const sendOne = (result: TaskResult) => {
    try {
      bus.publish(coordinator, envelope('task.result', result, { from: from(result), corr: result.task_id }))
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err
      // Dropping it would look like a lost result and rerun the task forever: fail it.
      const { output: _o, ...rest } = result
      bus.publish(
        coordinator,
        envelope(
          'task.result',
          {
            ...rest,
            status: 'failed',
            error: `the task's result is too large for the bus (${err.message}); write large outputs to files and return their paths`,
          },
          { from: from(result), corr: result.task_id },
        ),
      )
    }
  }

  let results: TaskResult[] = []
  let after: (() => void)[] = []
  const flush = () => {
    if (results.length === 0) return
    const items = results
    const then = after
    results = []
    after = []
    try {
      if (!bus.closed)
        publishBatch(bus, coordinator, items, sendOne, (all) =>
          envelope('task.result.batch', { items: all }, { from: from(all[0]) }),
        )
    } catch (err) {
      // Not thrown from a microtask (it would end the process): the coordinator's liveness
      // checks and reconciliation requeue what it never hears about.
      log.error({ err, tasks: items.map((r) => r.task_id) }, 'could not send task results')
    } finally {
      for (const f of new Set(then)) f()
    }
  }

  return {
    push(result, afterFlush) {
      if (results.length === 0) queueMicrotask(flush)
      results.push(result)
      if (afterFlush) after.push(afterFlush)
    },
    flush,
  }
}
