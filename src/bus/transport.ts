/**
 * The raw byte transport under a {@link Bus}: NATS or in-memory. The bus adds the codec,
 * validation, dead letters and typed errors on top, once, for both.
 * @internal
 */

export interface RawMsg {
  subject: string
  data: Uint8Array
  reply?: string
}

export interface RawSubscription {
  unsubscribe(): void
  /** Delivers the messages already received for this subscription, then unsubscribes. */
  drain(): Promise<void>
}

/** Connection status changes, reported as events (a `type`-tagged union, as in nats.js). */
export type BusStatus =
  | { type: 'disconnect'; server?: string }
  | { type: 'reconnecting'; server?: string }
  | { type: 'reconnect'; server?: string }
  | { type: 'error'; error: string }
  | { type: 'slowConsumer'; subject: string }
  | { type: 'close' }

export interface Transport {
  readonly kind: 'memory' | 'nats'
  /** The largest payload, in bytes, this transport carries. */
  readonly maxPayload: number
  publish(subject: string, data: Uint8Array, reply?: string): void
  /**
   * Publishes `encode(value)`, calling `encode` only if someone can receive it. When nobody
   * listens yet and `fits(value)` promises that the bytes fit {@link maxPayload} and that
   * `encode` does not throw, the value is queued unencoded; otherwise it is encoded at once and
   * published as by {@link publish}, errors included. Optional: over NATS the server routes, so
   * the bytes are always needed.
   */
  publishLazy?<T>(
    subject: string,
    value: T,
    encode: (value: T) => Uint8Array,
    fits: (value: T) => boolean,
  ): void
  subscribe(subject: string, handler: (msg: RawMsg) => void, opts?: { queue?: string }): RawSubscription
  /** Sends a request and resolves with the reply bytes; rejects with RequestTimeoutError or NoRespondersError. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>
  /** Resolves when everything published so far has left this process. */
  flush(): Promise<void>
  /** Delivers what is pending to subscribers, then closes. */
  drain(): Promise<void>
  onStatus(listener: (status: BusStatus) => void): () => void
}
