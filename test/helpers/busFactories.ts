/**
 * Fresh buses for the bus contract suite, and small helpers to wait on real (networked) delivery.
 */
import type { AnyEnvelope, Bus, Subscription } from '../../src/bus/index.ts'
import { createMemoryBus, createNatsBus } from '../../src/bus/index.ts'
import type { NatsServer } from './natsServer.ts'

export interface BusFactory {
  /** `memory` or `nats`: the prefix of the contract tests' names. */
  readonly name: string
  /** A fresh bus in namespace `ns`; buses made here share one world (one server) per factory. */
  make(ns: string): Promise<Bus>
  /** Closes every bus this factory made that is still open. */
  closeAll(): Promise<void>
}

function tracking(name: string, open: (ns: string) => Promise<Bus>): BusFactory {
  const made = new Set<Bus>()
  return {
    name,
    async make(ns) {
      const bus = await open(ns)
      made.add(bus)
      return bus
    },
    async closeAll() {
      const all = [...made]
      made.clear()
      await Promise.all(all.filter((b) => !b.closed).map((b) => b.close()))
    },
  }
}

/** Each call to `make` gives an independent in-process bus (a memory bus is its own world). */
export function memoryBusFactory(): BusFactory {
  return tracking('memory', async (ns) => createMemoryBus({ ns, node: `mem-${ns}` }))
}

/**
 * Buses connected to a real nats-server. Pass the server, or a getter when it is started in a
 * `beforeAll` after the suite is declared.
 */
export function natsBusFactory(
  server: Pick<NatsServer, 'url'> | (() => Pick<NatsServer, 'url'>),
): BusFactory {
  const url = () => (typeof server === 'function' ? server() : server).url
  return tracking('nats', (ns) => createNatsBus({ servers: url(), ns, node: `nats-${ns}`, timeout: 3000 }))
}

let nsSeq = 0
/** A namespace nobody else in this process uses (tests run in parallel files on one server). */
export function freshNs(prefix = 't'): string {
  return `${prefix}${process.pid}x${(++nsSeq).toString(36)}x${Math.random().toString(36).slice(2, 7)}`
}

/** Polls `predicate` until it holds; rejects with `message` after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const until = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return
    if (Date.now() > until)
      throw new Error(`waitFor: ${opts.message ?? 'condition'} not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 10))
  }
}

export interface Collector {
  readonly messages: AnyEnvelope[]
  readonly sub: Subscription
  /** Resolves with the first `n` messages; rejects after `timeoutMs` naming how many came. */
  done: Promise<AnyEnvelope[]>
}

/**
 * Subscribes and gathers messages until `n` have arrived, then unsubscribes. On NATS, call
 * `await bus.flush()` before another connection publishes, so the subscription has reached the server.
 */
export function collect(bus: Bus, subject: string, n: number, opts: { timeoutMs?: number } = {}): Collector {
  const messages: AnyEnvelope[] = []
  const timeoutMs = opts.timeoutMs ?? 5000
  let finish!: (m: AnyEnvelope[]) => void
  let fail!: (e: Error) => void
  const done = new Promise<AnyEnvelope[]>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  const timer = setTimeout(() => {
    sub.unsubscribe()
    fail(new Error(`collect: ${messages.length}/${n} messages on ${subject} within ${timeoutMs} ms`))
  }, timeoutMs)
  const sub = bus.subscribe(subject, (msg) => {
    if (messages.length >= n) return
    messages.push(msg)
    if (messages.length === n) {
      clearTimeout(timer)
      sub.unsubscribe()
      finish(messages.slice())
    }
  })
  return { messages, sub, done }
}
