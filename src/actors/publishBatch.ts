import type { Bus } from '../bus/createBus.ts'
import type { Envelope } from '../bus/envelope.ts'
import { PayloadTooLargeError } from '../bus/errors.ts'

/**
 * Publishes `items` on `subj`: one item as its own message (`one`), several as one batch message
 * (`batch`), and one by one again when the batch would pass the bus's payload limit. `one` deals
 * with its own errors; any other error of the batch publish is thrown.
 */
export function publishBatch<T>(
  bus: Bus,
  subj: string,
  items: T[],
  one: (item: T) => void,
  batch: (items: T[]) => Envelope,
): void {
  if (items.length === 1) {
    one(items[0])
    return
  }
  try {
    bus.publish(subj, batch(items))
  } catch (err) {
    if (!(err instanceof PayloadTooLargeError)) throw err
    for (const item of items) one(item)
  }
}
