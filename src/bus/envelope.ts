import { nuid } from '@nats-io/nuid'
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

/** A fresh unique id (NATS nuid: 22 characters, URL and subject safe). */
export function newId(): string {
  return nuid.next()
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
