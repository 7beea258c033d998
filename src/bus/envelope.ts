import { randomBytes } from 'node:crypto'
import type { Body, BodyIn, MessageType } from './catalogue.ts'

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1

/**
 * What travels on the bus: a versioned envelope around a typed body.
 * `corr` carries the correlation id end to end (logs, events, audit).
 */
export interface Envelope<T extends MessageType = MessageType> {
  v: number
  id: string
  type: T
  from: string
  to?: string
  corr?: string
  ts: number
  body: Body<T>
}

/** An envelope of any catalogue type, discriminated by `type`. */
export type AnyEnvelope = { [K in MessageType]: Envelope<K> }[MessageType]

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0))
const codes: number[] = new Array(22).fill(0)
let pool = randomBytes(0)
let at = 0

/**
 * A fresh unique id: 22 random base-62 characters (about 130 bits), URL and subject safe, like a
 * NATS nuid. Random bytes are drawn in batches: this runs for every message. The string is made
 * in one piece (`+=` would make a rope that every later read of it must first flatten).
 */
export function newId(): string {
  if (at + 22 > pool.length) {
    pool = randomBytes(22 * 256)
    at = 0
  }
  for (let i = 0; i < 22; i++) codes[i] = CODES[pool[at++] % 62]
  return String.fromCharCode.apply(null, codes)
}

/**
 * Builds an envelope. The body is checked when it is received, not here: senders are typed.
 *
 * @example
 * const msg = envelope('ping', {}, { from: 'cli' })
 */
export function envelope<T extends MessageType>(
  type: T,
  body: BodyIn<T>,
  opts: { from: string; to?: string; corr?: string; ts?: number; id?: string },
): Envelope<T> {
  const msg: Envelope<T> = {
    v: PROTOCOL_VERSION,
    id: opts.id ?? newId(),
    type,
    from: opts.from,
    ts: opts.ts ?? Date.now(),
    body: body as Body<T>,
  }
  if (opts.to !== undefined) msg.to = opts.to
  if (opts.corr !== undefined) msg.corr = opts.corr
  return msg
}
