/**
 * The NATS transport: the only file in Hive that imports the NATS client.
 */
import { readFileSync } from 'node:fs'
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  createInbox,
  credsAuthenticator,
  type NatsConnection,
  nkeyAuthenticator,
} from '@nats-io/transport-node'
import { type Bus, type CreateBusOptions, createBus } from './createBus.ts'
import { BusClosedError, NoRespondersError, PayloadTooLargeError } from './errors.ts'
import { PendingRequests } from './pendingRequests.ts'
import type { BusStatus, RawSubscription, Transport } from './transport.ts'

/** How to reach NATS. Every field passes through to the client. */
export interface NatsOptions {
  /** One URL, a comma-separated list, or an array: `nats://127.0.0.1:4222`. */
  servers: string | string[]
  user?: string
  pass?: string
  token?: string
  /** An nkey seed (`SU…`), or a path to a file holding one. */
  nkey?: string
  /** A path to a `.creds` file (JWT and seed). */
  creds?: string
  tls?: { caFile?: string; certFile?: string; keyFile?: string; handshakeFirst?: boolean }
  /** The client name the server shows for this connection. */
  name?: string
  /** Reconnect attempts; -1 (the default) tries forever. */
  maxReconnectAttempts?: number
  reconnectTimeWait?: number
  /** Milliseconds to wait for the first connection. */
  timeout?: number
}

/** @internal */
export function toConnectionOptions(o: NatsOptions): ConnectionOptions {
  const servers = (Array.isArray(o.servers) ? o.servers : o.servers.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
  const auth: Authenticator[] = []
  if (o.creds) auth.push(credsAuthenticator(readFileSync(o.creds)))
  if (o.nkey) {
    const seed = o.nkey.startsWith('S') ? o.nkey : readFileSync(o.nkey, 'utf8').trim()
    auth.push(nkeyAuthenticator(new TextEncoder().encode(seed)))
  }
  const opts: ConnectionOptions = {
    servers,
    name: o.name,
    user: o.user,
    pass: o.pass,
    token: o.token,
    maxReconnectAttempts: o.maxReconnectAttempts ?? -1,
    reconnectTimeWait: o.reconnectTimeWait ?? 250,
    timeout: o.timeout ?? 5000,
    pingInterval: 10_000,
  }
  if (auth.length) opts.authenticator = auth
  if (o.tls) opts.tls = { ...o.tls }
  return opts
}

/** Opens a NATS transport. @internal */
export async function createNatsTransport(o: NatsOptions): Promise<Transport & { nc: NatsConnection }> {
  const nc = await connect(toConnectionOptions(o))
  const listeners = new Set<(s: BusStatus) => void>()
  const emit = (s: BusStatus) => {
    for (const l of listeners) l(s)
  }
  void (async () => {
    for await (const s of nc.status()) {
      const server = 'server' in s ? String(s.server) : undefined
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'reconnecting')
        emit({ type: s.type, server })
      else if (s.type === 'error') emit({ type: 'error', error: String(s.error) })
      else if (s.type === 'slowConsumer') emit({ type: 'slowConsumer', subject: s.sub.getSubject() })
    }
  })().catch((err: unknown) => emit({ type: 'error', error: `status stream failed: ${String(err)}` }))
  void nc.closed().then(() => emit({ type: 'close' }))

  const inboxPrefix = createInbox()
  const pending = new PendingRequests(inboxPrefix)
  let inbox: RawSubscription | undefined
  const maxPayload = () => nc.info?.max_payload ?? 1024 * 1024

  function ensureInbox(): void {
    if (inbox) return
    const sub = nc.subscribe(`${inboxPrefix}.*`, {
      callback: (err, msg) => {
        // A subscription error (e.g. a permissions violation) closes it: report it, do not drop it.
        if (err) return emit({ type: 'error', error: `reply inbox: ${err.message}` })
        const token = pending.tokenOf(msg.subject)
        if (token === undefined) return
        if (msg.headers?.code === 503) pending.reject(token, (subject) => new NoRespondersError(subject))
        else pending.resolve(token, msg.data)
      },
    })
    inbox = { unsubscribe: () => sub.unsubscribe(), drain: () => sub.drain() }
  }

  return {
    kind: 'nats',
    nc,
    get maxPayload() {
      return maxPayload()
    },
    publish(subject, data, reply) {
      if (nc.isClosed() || nc.isDraining()) throw new BusClosedError()
      if (data.byteLength > maxPayload()) throw new PayloadTooLargeError(data.byteLength, maxPayload())
      nc.publish(subject, data, reply === undefined ? undefined : { reply })
    },
    subscribe(subject, handler, opts = {}) {
      if (nc.isClosed() || nc.isDraining()) throw new BusClosedError()
      const literal = !/[*>]/.test(subject)
      const sub = nc.subscribe(subject, {
        queue: opts.queue,
        callback: (err, msg) => {
          if (err) return emit({ type: 'error', error: `subscription ${subject}: ${err.message}` })
          // A subject without wildcards is the subject of every message it gets: no need to
          // decode each message's subject from bytes.
          const subj = literal ? subject : msg.subject
          const reply = msg.reply
          handler(reply ? { subject: subj, data: msg.data, reply } : { subject: subj, data: msg.data })
        },
      })
      return { unsubscribe: () => sub.unsubscribe(), drain: () => sub.drain() }
    },
    request(subject, data, timeoutMs) {
      if (nc.isClosed() || nc.isDraining()) return Promise.reject(new BusClosedError())
      if (data.byteLength > maxPayload())
        return Promise.reject(new PayloadTooLargeError(data.byteLength, maxPayload()))
      ensureInbox()
      const { reply, promise } = pending.add(subject, timeoutMs)
      nc.publish(subject, data, { reply })
      return promise
    },
    flush: () => nc.flush(),
    async drain() {
      if (nc.isClosed()) return
      // Drain first: replies already on their way to our inbox are delivered (as on the memory
      // transport); only requests still unanswered after the drain are refused.
      try {
        if (!nc.isDraining()) await nc.drain()
        else await nc.closed()
      } finally {
        pending.rejectAll(new BusClosedError())
      }
    },
    onStatus(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

/**
 * Connects a {@link Bus} to NATS.
 *
 * @example
 * const bus = await createNatsBus({ servers: 'nats://127.0.0.1:4222', ns: 'default' })
 */
export async function createNatsBus(
  o: NatsOptions & Omit<CreateBusOptions, 'transport'>,
): Promise<Bus & { readonly nc: NatsConnection }> {
  const transport = await createNatsTransport({ name: o.node, ...o })
  const bus = createBus({ ...o, transport })
  return Object.assign(bus, { nc: transport.nc })
}
