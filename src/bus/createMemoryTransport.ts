import { BusClosedError, NoRespondersError, PayloadTooLargeError } from './errors.ts'
import { PendingRequests } from './pendingRequests.ts'
import { tokensMatch } from './subjects.ts'
import type { BusStatus, RawMsg, RawSubscription, Transport } from './transport.ts'

interface MemSub {
  pattern: string
  /** The pattern's tokens, split once, or undefined for a literal subject (compared whole). */
  tokens: string[] | undefined
  queue?: string
  handler: (msg: RawMsg) => void
  closed: boolean
}

/** A queued message; `lazy` until someone can receive it, and then encoded. */
interface Queued extends RawMsg {
  lazy?: { value: unknown; encode: (value: unknown) => Uint8Array }
}

const NO_BYTES = new Uint8Array(0)

/** The default maximum payload of nats-server, kept here so both transports refuse the same sizes. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/**
 * An in-process transport with NATS semantics: wildcards, queue groups (one member per message,
 * spread round robin), asynchronous delivery in publish order, request timeouts, no-responders
 * errors, a payload limit, and a drain on close.
 * @internal
 */
export function createMemoryTransport(opts: { maxPayload?: number } = {}): Transport {
  const maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD
  const subs: MemSub[] = []
  const routes = new Map<string, { plain: MemSub[]; groups: Map<string, MemSub[]> }>()
  const rr = new Map<string, number>()
  const queue: Queued[] = []
  const inbox = new PendingRequests('_INBOX.mem')
  const listeners = new Set<(s: BusStatus) => void>()
  let scheduled = false
  let closing = false
  let closed = false
  let drained: (() => void) | undefined

  function route(subject: string) {
    let r = routes.get(subject)
    if (!r) {
      r = { plain: [], groups: new Map() }
      for (const s of subs) {
        if (s.tokens === undefined ? s.pattern !== subject : !tokensMatch(s.tokens, subject)) continue
        if (s.queue === undefined) r.plain.push(s)
        else {
          const g = r.groups.get(s.queue) ?? []
          g.push(s)
          r.groups.set(s.queue, g)
        }
      }
      if (routes.size > 10_000) routes.clear()
      routes.set(subject, r)
    }
    return r
  }

  function materialize(msg: Queued): void {
    if (msg.lazy === undefined) return
    msg.data = msg.lazy.encode(msg.lazy.value)
    msg.lazy = undefined
  }

  function deliver(msg: Queued): void {
    const token = inbox.tokenOf(msg.subject)
    if (token !== undefined) {
      materialize(msg)
      inbox.resolve(token, msg.data)
      return
    }
    // Still unencoded: nobody has subscribed since it was published to no one (subscribe()
    // encodes queued messages), so nobody can receive it.
    if (msg.lazy !== undefined) return
    const r = route(msg.subject)
    for (const s of r.plain) if (!s.closed) s.handler(msg)
    for (const [name, members] of r.groups) {
      const live = members.filter((m) => !m.closed)
      if (live.length === 0) continue
      const key = `${name}\u0000${msg.subject}`
      const n = rr.get(key) ?? 0
      rr.set(key, n + 1)
      live[n % live.length].handler(msg)
    }
  }

  function flushQueue(): void {
    scheduled = false
    // Messages published by handlers during this pass are delivered in the same pass, in order.
    for (let i = 0; i < queue.length; i++) {
      try {
        deliver(queue[i])
      } catch {
        // A handler's error is the bus layer's business; the transport keeps delivering.
      }
    }
    queue.length = 0
    if (drained) drained()
  }

  function enqueue(msg: Queued): void {
    queue.push(msg)
    if (!scheduled) {
      scheduled = true
      setImmediate(flushQueue)
    }
  }

  function hasLive(r: ReturnType<typeof route>): boolean {
    for (const s of r.plain) if (!s.closed) return true
    for (const g of r.groups.values()) for (const s of g) if (!s.closed) return true
    return false
  }

  const hasResponder = (subject: string): boolean => hasLive(route(subject))

  function publish(subject: string, data: Uint8Array, reply?: string): void {
    if (closed) throw new BusClosedError()
    if (data.byteLength > maxPayload) throw new PayloadTooLargeError(data.byteLength, maxPayload)
    enqueue(reply === undefined ? { subject, data } : { subject, data, reply })
  }

  return {
    kind: 'memory',
    maxPayload,
    publish,
    publishLazy(subject, value, encode, fits) {
      if (closed) throw new BusClosedError()
      if (inbox.tokenOf(subject) !== undefined || hasResponder(subject) || !fits(value)) {
        publish(subject, encode(value))
        return
      }
      // Nobody listens now. Should someone subscribe before delivery, subscribe() encodes it.
      enqueue({ subject, data: NO_BYTES, lazy: { value, encode: encode as (v: unknown) => Uint8Array } })
    },
    subscribe(pattern, handler, o = {}): RawSubscription {
      if (closing) throw new BusClosedError()
      const wild = pattern.includes('*') || pattern.includes('>')
      const s: MemSub = {
        pattern,
        tokens: wild ? pattern.split('.') : undefined,
        queue: o.queue,
        handler,
        closed: false,
      }
      subs.push(s)
      routes.clear()
      // Messages queued while nobody listened are encoded now: a subscriber that arrives before
      // delivery gets them, as it always did. (Encoded now rather than at publish: the same bytes
      // unless the publisher changed the envelope in between, which no Hive publisher does.)
      for (const m of queue) materialize(m)
      const unsubscribe = () => {
        if (s.closed) return
        s.closed = true
        subs.splice(subs.indexOf(s), 1)
        routes.clear()
      }
      return {
        unsubscribe,
        async drain() {
          while (scheduled) await new Promise<void>((resolve) => setImmediate(resolve))
          unsubscribe()
        },
      }
    },
    request(subject, data, timeoutMs) {
      if (closing) return Promise.reject(new BusClosedError())
      if (data.byteLength > maxPayload)
        return Promise.reject(new PayloadTooLargeError(data.byteLength, maxPayload))
      if (!hasResponder(subject)) return Promise.reject(new NoRespondersError(subject))
      const { reply, promise } = inbox.add(subject, timeoutMs)
      enqueue({ subject, data, reply })
      return promise
    },
    async flush() {},
    async drain() {
      if (closing) return
      closing = true
      if (scheduled) await new Promise<void>((resolve) => (drained = resolve))
      drained = undefined
      closed = true
      for (const s of subs) s.closed = true
      subs.length = 0
      routes.clear()
      inbox.rejectAll(new BusClosedError())
      for (const l of listeners) l({ type: 'close' })
    },
    onStatus(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
