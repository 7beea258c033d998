import { type Bus, type CreateBusOptions, createBus } from './createBus.ts'
import { createMemoryTransport } from './createMemoryTransport.ts'

/**
 * The embedded in-process bus: the same semantics as NATS (wildcards, queue groups, request
 * timeouts, no responders, payload limit, validation and dead letters), with no server.
 *
 * @example
 * const bus = createMemoryBus({ ns: 'default' })
 */
export function createMemoryBus(
  opts: Omit<CreateBusOptions, 'transport'> & { maxPayload?: number } = {},
): Bus {
  return createBus({ ...opts, transport: createMemoryTransport({ maxPayload: opts.maxPayload }) })
}
