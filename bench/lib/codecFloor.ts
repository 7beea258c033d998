/**
 * The codec floor of the in-process benchmark: the CPU time per task that the bus codec alone
 * takes, before any actor, queue or strategy runs.
 *
 * DESIGN.md fixes that every message is MessagePack-encoded and that every received message is
 * decoded and validated at the bus boundary, on the embedded bus as over NATS. A task crosses
 * the bus at least four times — submitted (client → coordinator), assigned (coordinator → agent),
 * its result (agent → coordinator) and its final record (coordinator → client) — so each task
 * pays at least one encode and one decode-and-validate of those four bodies. This measures that,
 * with the messages as Hive sends them at 64 in flight (batches of 64 items, so each envelope's
 * own cost is shared out, the cheapest case) and with the real codec of src/bus/codec.ts.
 *
 * On one thread the hive can finish at most 1e6 / floor tasks per second, so
 * `1e6 / floor_us / plain tasks per second` bounds the in-process ratio hive_mem / plain from
 * above whatever the actors cost.
 */
import { decodeRaw, encode, validate } from '../../src/bus/codec.ts'
import { envelope, newId } from '../../src/bus/envelope.ts'

/** The four batches one round of `batch` tasks needs, built as the client, coordinator and agents build them. */
function taskBatches(batch: number) {
  const now = Date.now()
  const ids = Array.from({ length: batch }, () => newId())
  const specs = ids.map((task_id) => ({
    task_id,
    task_type: 'noop',
    required_capabilities: ['noop'],
    priority: 5,
  }))
  const from = { from: 'bench.client' }
  return [
    envelope('task.run.batch', { items: specs, notify: 'hive.bench.a.client.c1' }, from),
    envelope('task.assign.batch', { items: specs.map((task) => ({ task, attempt: 1 })) }, from),
    envelope(
      'task.result.batch',
      {
        items: ids.map((task_id) => ({
          task_id,
          attempt: 1,
          agent_id: 'm1',
          status: 'success' as const,
          output: null,
          started_at: now,
          finished_at: now,
        })),
      },
      from,
    ),
    envelope(
      'task.done.batch',
      {
        items: specs.map((task) => ({
          task_id: task.task_id,
          task,
          status: 'success' as const,
          attempts: 1,
          agent_id: 'm1',
          output: null,
          submitted_at: now,
          started_at: now,
          finished_at: now,
        })),
      },
      from,
    ),
  ]
}

/** CPU µs per task of each part of the codec's work, and their sum. */
export interface CodecFloor {
  encode_us: number
  /** MessagePack to plain values (msgpackr). */
  decode_us: number
  /** The catalogue's schemas (zod) over the decoded values. */
  validate_us: number
  total_us: number
}

/**
 * CPU µs per task of encoding, decoding and validating the four batches of `batch` tasks, each
 * part timed on its own for about `ms` milliseconds after a warm-up.
 */
export function codecFloor(batch = 64, ms = 300): CodecFloor {
  const msgs = taskBatches(batch)
  const bytes = msgs.map((m) => encode(m))
  const values = bytes.map((b) => decodeRaw(b))
  const perTask = (work: () => void): number => {
    for (let i = 0; i < 100; i++) work()
    let rounds = 0
    const start = process.cpuUsage()
    const until = performance.now() + ms
    while (performance.now() < until) {
      for (let i = 0; i < 10; i++) work()
      rounds += 10
    }
    const cpu = process.cpuUsage(start)
    return (cpu.user + cpu.system) / (rounds * batch)
  }
  const encode_us = perTask(() => {
    for (const m of msgs) encode(m)
  })
  const decode_us = perTask(() => {
    for (const b of bytes) decodeRaw(b)
  })
  const validate_us = perTask(() => {
    for (const v of values) validate(v)
  })
  return { encode_us, decode_us, validate_us, total_us: encode_us + decode_us + validate_us }
}
