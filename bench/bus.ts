/**
 * Bus benchmark: request/reply round trips per second (1, 64 and 256 in flight) and publish
 * throughput for MemoryBus, NatsBus, and a RAW baseline (the NATS client with msgpackr, no
 * envelope, no validation), all measured in the same run against a nats-server started here.
 *
 * The raw baseline uses the fastest request/reply pattern NATS allows: one long-lived reply
 * subscription (`<inbox>.*`) with replies correlated by id in a Map, and a responder that is a
 * plain subscription callback decoding and re-encoding the payload. Its requester encodes each
 * request and decodes each reply, as any msgpack client would. NatsBus does that work plus
 * envelope and body validation on both sides, typed errors and request deadlines.
 *
 * Each figure is the best of several short rounds, interleaved across the buses so that load
 * from other processes on a shared machine hits raw and NatsBus alike. Beside each throughput
 * the bench prints the CPU time this process spent per operation (client and responder sides
 * together; the server's CPU is not counted): it is far less sensitive to such load, and
 * `cpu_ratios` (raw CPU per op / NatsBus CPU per op) is the steadier of the two comparisons.
 *
 * Usage: `npm run bench:bus [-- --nats nats://host:port] [--seconds 0.5] [--rounds 4] [--count 50000]`.
 * With `--nats` the bench uses that server instead of starting its own.
 * The last line printed is one JSON object with every figure and the NatsBus/raw ratios.
 */
import { type Bus, createMemoryBus, createNatsBus, encode, envelope } from '../src/bus/index.ts'
import { fmt, numberArg, round3, roundTrips, type Sample, sample, stringArg } from './lib/measure.ts'
import { benchNatsServer } from './lib/natsServer.ts'
import { startRawRequestReply } from './lib/rawNats.ts'

type Name = 'memory' | 'nats' | 'raw'

interface Target {
  name: Name
  request(): Promise<unknown>
  /** Publishes one message to a subject nobody listens on. */
  publish(): void
  /** Publishes one message to the subject the delivery counter listens on. */
  publishDelivered(): void
  flush(): Promise<void>
  /** Resolves with the number delivered to the counter, once it reaches `n` or `ms` pass. */
  delivered(n: number, ms: number): Promise<number>
  close(): Promise<void>
}

const args = process.argv.slice(2)
const arg = (name: string, dflt: number) => numberArg(args, name, dflt)
const SECONDS = arg('seconds', 0.5)
const ROUNDS = arg('rounds', 4)
const WARMUP_MS = 250
const PUBLISH_COUNT = arg('count', 50_000)
const DELIVERY_WAIT_MS = 10_000
const LEVELS = [1, 64, 256] as const
const RR_KEY = { 1: 'rr_seq', 64: 'rr_64', 256: 'rr_256' } as const

const ECHO = 'hive.bench.svc.echo'
const SINK = 'hive.bench.evt.bench.sink.tick'
const NOWHERE = 'hive.bench.evt.bench.nowhere.tick'
// A ping whose note makes it 200 bytes encoded, a typical small catalogue message.
const MSG = envelope('ping', { note: 'n'.repeat(124) }, { from: 'bench' })
const MSG_BYTES = encode(MSG).byteLength

/** Counts deliveries; `wait(n, ms)` resolves with the count at `n` or after `ms`. */
function counter() {
  let seen = 0
  let want = Number.POSITIVE_INFINITY
  let done: (() => void) | undefined
  return {
    hit() {
      if (++seen >= want) done?.()
    },
    wait(n: number, ms: number): Promise<number> {
      seen = 0
      want = n
      return new Promise((resolve) => {
        const timer = setTimeout(() => done?.(), ms)
        done = () => {
          clearTimeout(timer)
          done = undefined
          want = Number.POSITIVE_INFINITY
          resolve(seen)
        }
      })
    },
  }
}

function memoryTarget(): Target {
  const bus = createMemoryBus({ ns: 'bench', node: 'bench-mem' })
  return busTarget('memory', bus, bus)
}

async function natsTarget(url: string): Promise<Target> {
  const client = await createNatsBus({ servers: url, ns: 'bench', node: 'bench-client' })
  const server = await createNatsBus({ servers: url, ns: 'bench', node: 'bench-server' })
  await server.flush()
  return busTarget('nats', client, server)
}

function busTarget(name: Name, client: Bus, server: Bus): Target {
  server.subscribe(ECHO, (msg, reply) => reply?.(msg))
  const c = counter()
  server.subscribe(SINK, () => c.hit())
  return {
    name,
    request: () => client.request(ECHO, MSG, { timeoutMs: 10_000 }),
    publish: () => client.publish(NOWHERE, MSG),
    publishDelivered: () => client.publish(SINK, MSG),
    flush: () => Promise.all([client.flush(), server.flush()]).then(() => {}),
    delivered: (n, ms) => c.wait(n, ms),
    async close() {
      await client.close()
      if (server !== client) await server.close()
    },
  }
}

async function rawTarget(url: string): Promise<Target & { ncRequest(): Promise<unknown> }> {
  const rr = await startRawRequestReply(url, ECHO, MSG)
  const { client: a, server: b, packr } = rr
  const c = counter()
  b.subscribe(SINK, {
    callback: (err, m) => {
      if (err) return
      packr.unpack(m.data)
      c.hit()
    },
  })
  await rr.flush()
  return {
    name: 'raw',
    request: rr.request,
    ncRequest: rr.ncRequest,
    publish: () => a.publish(NOWHERE, packr.pack(MSG)),
    publishDelivered: () => a.publish(SINK, packr.pack(MSG)),
    flush: rr.flush,
    delivered: (n, ms) => c.wait(n, ms),
    close: rr.close,
  }
}

/** `count` publishes and a final flush. */
async function publishAll(t: Target, count: number): Promise<number> {
  for (let i = 0; i < count; i++) t.publish()
  await t.flush()
  return count
}

/** `count` publishes, until one subscriber has received them all (or the wait runs out). */
async function deliverAll(t: Target, count: number): Promise<number> {
  const all = t.delivered(count, DELIVERY_WAIT_MS)
  for (let i = 0; i < count; i++) t.publishDelivered()
  await t.flush()
  const got = await all
  if (got < count) console.log(`${t.name}: only ${got} of ${count} delivered within ${DELIVERY_WAIT_MS} ms`)
  return got
}

type Results = Record<Name, Record<string, number> & { cpu_us: Record<string, number> }>

/**
 * Measures one figure on every target over `rounds` interleaved rounds (alternating the order),
 * keeping each target's best rate and lowest CPU per operation: load from other processes only
 * ever makes a round worse, and interleaving spreads it over raw and NatsBus alike.
 */
async function figure(
  targets: Target[],
  results: Results,
  key: string,
  label: string,
  unit: string,
  rounds: number,
  work: (t: Target) => Promise<number>,
): Promise<void> {
  const best = new Map<Target, Sample>(targets.map((t) => [t, { rate: 0, cpuUs: Number.POSITIVE_INFINITY }]))
  for (let round = 0; round < rounds; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const s = await sample(() => work(t))
      const b = best.get(t)!
      best.set(t, { rate: Math.max(b.rate, s.rate), cpuUs: Math.min(b.cpuUs, s.cpuUs) })
    }
  }
  for (const t of targets) {
    const { rate, cpuUs } = best.get(t)!
    results[t.name][key] = Math.round(rate)
    results[t.name].cpu_us[key] = Math.round(cpuUs * 100) / 100
    console.log(
      `${t.name.padEnd(6)} ${label.padEnd(28)} ${fmt(rate)} ${unit.padEnd(13)} ${cpuUs.toFixed(2).padStart(7)} µs CPU/op`,
    )
  }
}

async function main(): Promise<void> {
  const started = performance.now()
  const server = await benchNatsServer(stringArg(args, 'nats'))
  const url = server.url
  process.once('SIGINT', () => {
    void server.stop().finally(() => process.exit(130))
  })
  const results: Results = { memory: { cpu_us: {} }, nats: { cpu_us: {} }, raw: { cpu_us: {} } } as Results
  const targets: Target[] = []
  try {
    console.log(
      `bus bench: ${MSG_BYTES}-byte message; best of ${ROUNDS} interleaved rounds per figure ` +
        `(${SECONDS} s per request/reply round, ${PUBLISH_COUNT} messages per publish round); nats ${url}`,
    )
    const raw = await rawTarget(url)
    targets.push(raw)
    targets.push(await natsTarget(url))
    targets.push(memoryTarget())
    for (const n of LEVELS) {
      for (const t of targets) await roundTrips(t.request, n, WARMUP_MS)
      const label = `request/reply ${n === 1 ? 'sequential' : `${n} in flight`}`
      await figure(targets, results, RR_KEY[n], label, 'round trips/s', ROUNDS, (t) =>
        roundTrips(t.request, n, SECONDS * 1000),
      )
    }
    await figure([raw], results, 'nc_request_64', 'nc.request() 64 in flight', 'round trips/s', 2, () =>
      roundTrips(raw.ncRequest, 64, SECONDS * 1000),
    )
    for (const t of targets) await publishAll(t, PUBLISH_COUNT / 10)
    // Publish rounds are short (a fraction of a second), so take a few more of them.
    await figure(targets, results, 'publish', 'publish + flush', 'msgs/s', ROUNDS + 2, (t) =>
      publishAll(t, PUBLISH_COUNT),
    )
    // Half as many: delivery is the slowest figure, and the least asked for.
    for (const t of targets) await deliverAll(t, PUBLISH_COUNT / 10)
    await figure(targets, results, 'delivered', 'delivered to 1 subscriber', 'msgs/s', 2, (t) =>
      deliverAll(t, PUBLISH_COUNT / 2),
    )
  } finally {
    for (const t of targets) await t.close().catch((err) => console.error(`closing ${t.name}:`, err))
    await server.stop()
  }
  const keys = ['rr_seq', 'rr_64', 'rr_256', 'publish', 'delivered'] as const
  const ratios = Object.fromEntries(keys.map((k) => [k, round3(results.nats[k] / results.raw[k])]))
  const cpuRatios = Object.fromEntries(
    keys.map((k) => [k, round3(results.raw.cpu_us[k] / results.nats.cpu_us[k])]),
  )
  console.log('NatsBus / raw       throughput   CPU efficiency (raw CPU/op ÷ NatsBus CPU/op)')
  for (const k of keys)
    console.log(
      `  ${k.padEnd(16)} ${ratios[k].toFixed(3).padStart(10)} ${cpuRatios[k].toFixed(3).padStart(10)}`,
    )
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
  console.log(JSON.stringify({ ...results, ratios, cpu_ratios: cpuRatios, bytes: MSG_BYTES }))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
