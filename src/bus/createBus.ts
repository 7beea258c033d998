import type { MessageType } from './catalogue.ts'
import { decode as defaultDecode, encode as defaultEncode, encodedSizeBound } from './codec.ts'
import { type AnyEnvelope, type Envelope, envelope } from './envelope.ts'
import { BusClosedError, fromErrorBody, HiveError, toErrorBody } from './errors.ts'
import { subject as subjectOf } from './subjects.ts'
import type { BusStatus, RawMsg, RawSubscription, Transport } from './transport.ts'

/** Answers a request. Calling it more than once sends only the first reply. */
export type Reply = (msg: Envelope) => void

/**
 * Receives a decoded, validated envelope; `reply` is present when the sender asked for an answer;
 * `subject` is the concrete subject it arrived on (useful under wildcards).
 */
export type Handler = (msg: AnyEnvelope, reply: Reply | undefined, subject: string) => void | Promise<void>

export interface Subscription {
  readonly subject: string
  unsubscribe(): void
  /** Handles what has already arrived, waits for running handlers, then unsubscribes. */
  drain(): Promise<void>
}

export interface BusStats {
  published: number
  received: number
  handled: number
  handlerErrors: number
  malformed: number
  versionMismatch: number
  deadLettered: number
  requests: number
}

/**
 * The typed message bus every actor talks over. Incoming bytes are decoded and validated here,
 * once: a message that fails never reaches a handler; it goes to the dead-letter subject with
 * the reason and (up to {@link DEAD_LETTER_MAX_BYTES}) its original bytes, a requester gets a
 * typed error reply, and {@link BusStats} counts it.
 */
export interface Bus {
  readonly ns: string
  readonly kind: 'memory' | 'nats'
  /** This bus's name in `from` of the messages it makes itself (dead letters, error replies). */
  readonly node: string
  publish(subject: string, msg: Envelope): void
  subscribe(subject: string, handler: Handler, opts?: { queue?: string }): Subscription
  /** Resolves with the reply; rejects with a typed error (timeout, no responders, or the remote's). */
  request(subject: string, msg: Envelope, opts: { timeoutMs: number }): Promise<AnyEnvelope>
  /** Publishes bytes as they are, unchecked: for bridges and for testing the boundary. */
  publishRaw(subject: string, data: Uint8Array): void
  /** Sends bytes as a request, unchecked; the reply is checked as usual. */
  requestRaw(subject: string, data: Uint8Array, opts: { timeoutMs: number }): Promise<AnyEnvelope>
  /** Resolves when everything published so far has left this process. */
  flush(): Promise<void>
  stats(): Readonly<BusStats>
  onStatus(listener: (status: BusStatus) => void): () => void
  /** Drains: handles what has arrived, waits for running handlers, flushes, then closes. */
  close(): Promise<void>
  readonly closed: boolean
}

/** Original bytes kept in a dead letter, at most. */
export const DEAD_LETTER_MAX_BYTES = 4096

export interface CreateBusOptions {
  transport: Transport
  ns?: string
  node?: string
  /** Called with every error a handler throws (after the requester, if any, got an error reply). */
  onHandlerError?: (err: unknown, msg: AnyEnvelope, subject: string) => void
  /** Called with every message refused at the boundary. */
  onRejected?: (err: HiveError, subject: string) => void
  /**
   * The wire codec; the default is {@link defaultEncode encode} / {@link defaultDecode decode}
   * from `codec.ts`. `decode` must throw a HiveError for anything it refuses.
   * @internal for tests that run the boundary properties against a deliberately broken codec.
   */
  codec?: { encode(msg: Envelope): Uint8Array; decode(bytes: Uint8Array): AnyEnvelope }
}

/** Wraps a raw transport as a {@link Bus}. Use `createMemoryBus` or `createNatsBus`. */
export function createBus(opts: CreateBusOptions): Bus {
  const { transport } = opts
  const encode = opts.codec?.encode ?? defaultEncode
  const decode = opts.codec?.decode ?? defaultDecode
  const ns = opts.ns ?? 'default'
  const node = opts.node ?? `bus-${process.pid}`
  const dlq = subjectOf(ns, { kind: 'dlq' })
  const stats: BusStats = {
    published: 0,
    received: 0,
    handled: 0,
    handlerErrors: 0,
    malformed: 0,
    versionMismatch: 0,
    deadLettered: 0,
    requests: 0,
  }
  const subs = new Set<Subscription>()
  const running = new Set<Promise<unknown>>()
  let closed = false
  let closing: Promise<void> | undefined

  // Only for the default codec: the size bound is that codec's.
  const lazy = opts.codec === undefined && transport.publishLazy !== undefined
  const fits = (msg: Envelope): boolean => encodedSizeBound(msg, transport.maxPayload) <= transport.maxPayload

  function send(subj: string, msg: Envelope): void {
    // A message nobody listens to need not be encoded, if it provably fits and encodes: a
    // payload that might be too large is encoded now, so it throws here as it does over NATS.
    if (lazy) transport.publishLazy!(subj, msg, encode, fits)
    else transport.publish(subj, encode(msg))
    stats.published++
  }

  function errorReply(to: string, err: unknown, corr?: string): void {
    try {
      send(to, envelope('error', toErrorBody(err), { from: node, corr }))
    } catch {
      // The requester will time out; nothing else can be done for it.
    }
  }

  function refuse(raw: RawMsg, err: HiveError): void {
    if (err.code === 'VERSION_MISMATCH') stats.versionMismatch++
    else stats.malformed++
    opts.onRejected?.(err, raw.subject)
    if (raw.reply) errorReply(raw.reply, err)
    if (raw.subject === dlq) return // never dead-letter a dead letter
    const truncated = raw.data.byteLength > DEAD_LETTER_MAX_BYTES
    try {
      send(
        dlq,
        envelope(
          'dead.letter',
          {
            reason: err.message,
            code: err.code,
            subject: raw.subject,
            size: raw.data.byteLength,
            bytes: truncated ? raw.data.slice(0, DEAD_LETTER_MAX_BYTES) : raw.data,
            truncated,
          },
          { from: node },
        ),
      )
      stats.deadLettered++
    } catch {
      // Closed while refusing: the counter above still records the refusal.
    }
  }

  function receive(raw: RawMsg, handler: Handler): void {
    stats.received++
    let msg: AnyEnvelope
    try {
      msg = decode(raw.data)
    } catch (err) {
      refuse(raw, err instanceof HiveError ? err : new HiveError(String(err), { code: 'MALFORMED_MESSAGE' }))
      return
    }
    const to = raw.reply
    // `reply` and a failing handler share this flag so that only the first answer goes out. The
    // error path is a plain function, not a closure made per message: this runs for every message.
    const once = to === undefined ? undefined : { replied: false }
    const reply: Reply | undefined =
      once === undefined
        ? undefined
        : (out) => {
            if (once.replied) return
            // Marked only once sent: a reply that cannot go (too large) leaves the way open for the
            // error reply, so the requester learns why instead of timing out.
            send(to!, out)
            once.replied = true
          }
    try {
      const out = handler(msg, reply, raw.subject)
      stats.handled++
      if (out && typeof (out as Promise<void>).then === 'function') {
        const p = (out as Promise<void>)
          .then(undefined, (err: unknown) => handlerFailed(err, msg, raw, once))
          .finally(() => running.delete(p))
        running.add(p)
      }
    } catch (err) {
      handlerFailed(err, msg, raw, once)
    }
  }

  function handlerFailed(err: unknown, msg: AnyEnvelope, raw: RawMsg, once?: { replied: boolean }): void {
    stats.handlerErrors++
    if (once && !once.replied) {
      once.replied = true
      errorReply(raw.reply!, err, msg.corr ?? msg.id)
    }
    opts.onHandlerError?.(err, msg, raw.subject)
  }

  function checkReply(bytes: Uint8Array): AnyEnvelope {
    const msg = decode(bytes)
    if (msg.type === 'error') throw fromErrorBody(msg.body)
    return msg
  }

  const bus: Bus = {
    ns,
    kind: transport.kind,
    node,
    get closed() {
      return closed
    },
    publish(subj, msg) {
      if (closed) throw new BusClosedError()
      send(subj, msg)
    },
    publishRaw(subj, data) {
      if (closed) throw new BusClosedError()
      transport.publish(subj, data)
      stats.published++
    },
    subscribe(subj, handler, o) {
      if (closed || closing) throw new BusClosedError()
      const raw: RawSubscription = transport.subscribe(subj, (m) => receive(m, handler), o)
      const sub: Subscription = {
        subject: subj,
        unsubscribe() {
          subs.delete(sub)
          raw.unsubscribe()
        },
        async drain() {
          subs.delete(sub)
          await raw.drain()
          await Promise.allSettled([...running])
        },
      }
      subs.add(sub)
      return sub
    },
    request(subj, msg, { timeoutMs }) {
      if (closed || closing) return Promise.reject(new BusClosedError())
      stats.requests++
      return transport.request(subj, encode(msg), timeoutMs).then(checkReply)
    },
    requestRaw(subj, data, { timeoutMs }) {
      if (closed || closing) return Promise.reject(new BusClosedError())
      stats.requests++
      return transport.request(subj, data, timeoutMs).then(checkReply)
    },
    flush: () => transport.flush(),
    stats: () => ({ ...stats }),
    onStatus: (l) => transport.onStatus(l),
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...subs].map((s) => s.drain()))
        await Promise.allSettled([...running])
        closed = true
        await transport.drain()
      })()
      return closing
    },
  }
  return bus
}

/** Narrows an envelope to one message type, or throws a typed error naming what was expected. */
export function expectType<T extends MessageType>(msg: AnyEnvelope, type: T): Envelope<T> {
  if (msg.type !== type) {
    throw new HiveError(`expected a ${type} message, got ${msg.type}`, { code: 'UNEXPECTED_MESSAGE' })
  }
  return msg as Envelope<T>
}
