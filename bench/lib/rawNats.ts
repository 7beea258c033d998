/**
 * The raw NATS request/reply baseline (the NATS client with msgpackr: no envelope, no
 * validation), in the fastest form NATS allows: one long-lived reply subscription
 * (`<inbox>.*`) with replies correlated by id in a Map, and a responder that is a plain
 * subscription callback decoding and re-encoding the payload. The requester encodes each request
 * and decodes each reply, as any msgpack client would.
 */
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'

export interface RawRequestReply {
  /** The requesting connection. */
  readonly client: NatsConnection
  /** The responding connection. */
  readonly server: NatsConnection
  readonly packr: Packr
  /** One round trip of `msg` to the echo responder; resolves with the decoded reply. */
  request(): Promise<unknown>
  /** The same round trip through `nc.request()` (a subscription per request), for comparison. */
  ncRequest(): Promise<unknown>
  flush(): Promise<void>
  close(): Promise<void>
}

/** Connects a requester and an echo responder on `subject` to the server at `url`. */
export async function startRawRequestReply(
  url: string,
  subject: string,
  msg: unknown,
): Promise<RawRequestReply> {
  const packr = new Packr({ useRecords: false })
  const client = await connect({ servers: url, name: 'raw-client' })
  const server = await connect({ servers: url, name: 'raw-server' })
  const inbox = createInbox()
  const pending = new Map<number, (v: unknown) => void>()
  let seq = 0
  client.subscribe(`${inbox}.*`, {
    callback: (err, m) => {
      if (err) return
      const id = Number(m.subject.slice(inbox.length + 1))
      const resolve = pending.get(id)
      if (resolve === undefined) return
      pending.delete(id)
      resolve(packr.unpack(m.data))
    },
  })
  server.subscribe(subject, {
    callback: (err, m) => {
      if (!err && m.reply) server.publish(m.reply, packr.pack(packr.unpack(m.data)))
    },
  })
  await Promise.all([client.flush(), server.flush()])
  return {
    client,
    server,
    packr,
    request: () =>
      new Promise((resolve) => {
        const id = ++seq
        pending.set(id, resolve)
        client.publish(subject, packr.pack(msg), { reply: `${inbox}.${id}` })
      }),
    async ncRequest() {
      return packr.unpack((await client.request(subject, packr.pack(msg), { timeout: 10_000 })).data)
    },
    flush: () => Promise.all([client.flush(), server.flush()]).then(() => {}),
    async close() {
      await Promise.all([client.drain(), server.drain()])
    },
  }
}
