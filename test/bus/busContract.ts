/**
 * The bus contract: the behaviour every Bus must show, declared once and run on MemoryBus and on
 * a real nats-server. Each test makes its own bus and namespace, so files can run in parallel.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  type AnyEnvelope,
  type Bus,
  BusClosedError,
  DEAD_LETTER_MAX_BYTES,
  encode,
  envelope,
  expectType,
  HiveError,
  MalformedMessageError,
  NoRespondersError,
  PayloadTooLargeError,
  RemoteError,
  RequestTimeoutError,
  subject,
  VersionMismatchError,
} from '../../src/bus/index.ts'
import { type BusFactory, collect, freshNs, waitFor } from '../helpers/busFactories.ts'

/** nats-server's default max_payload: the memory bus must refuse the same sizes. */
const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024

const ping = (text?: string, corr?: string) =>
  envelope('ping', text === undefined ? {} : { note: text }, { from: 'test', corr })
/** The note of a ping (or pong); throws on any other type, so a wrong message fails the test. */
const note = (m: AnyEnvelope): string =>
  (m.type === 'pong' ? m.body.note : expectType(m, 'ping').body.note) ?? ''

/** Declares the contract tests for one kind of bus; `name` prefixes every test ("NatsBus - …"). */
export function busContract(name: string, factory: BusFactory): void {
  describe(`${name} contract`, () => {
    afterEach(() => factory.closeAll())

    async function fresh(): Promise<{ bus: Bus; ns: string }> {
      const ns = freshNs()
      return { bus: await factory.make(ns), ns }
    }

    it(`${name} - delivers a published envelope intact to a subscriber`, async () => {
      const { bus, ns } = await fresh()
      const subj = subject(ns, { kind: 'mailbox', actor: 'agent', id: 'a1' })
      const got = collect(bus, subj, 1)
      const sent = envelope(
        'task.assign',
        {
          task: { task_id: 't1', task_type: 'code', required_capabilities: ['ts'], priority: 7 },
          attempt: 2,
        },
        { from: 'coord', to: 'a1', corr: 'c-1' },
      )
      bus.publish(subj, sent)
      const [msg] = await got.done
      expect(msg).toEqual(sent)
      expect(expectType(msg, 'task.assign').body.attempt).toBe(2)
    })

    it(`${name} - matches * to exactly one token and > to one or more`, async () => {
      const { bus, ns } = await fresh()
      const star: string[] = []
      const tail: string[] = []
      bus.subscribe(`hive.${ns}.w.*`, (m) => void star.push(note(m)))
      bus.subscribe(`hive.${ns}.w.>`, (m) => void tail.push(note(m)))
      for (const s of ['w', 'w.a', 'w.a.b', 'x.a', 'w.end']) bus.publish(`hive.${ns}.${s}`, ping(s))
      await waitFor(() => star.includes('w.end') && tail.includes('w.end'))
      expect(star).toEqual(['w.a', 'w.end'])
      expect(tail).toEqual(['w.a', 'w.a.b', 'w.end'])
    })

    it(`${name} - spreads a queue group's messages over its members, each to exactly one`, async () => {
      const { bus, ns } = await fresh()
      const svc = subject(ns, { kind: 'service', service: 'work' })
      const perMember = [[], [], []] as string[][]
      for (const mine of perMember) {
        bus.subscribe(svc, (m) => void mine.push(note(m)), { queue: 'workers' })
      }
      const everyone: string[] = []
      bus.subscribe(svc, (m) => void everyone.push(note(m)))
      for (let i = 0; i < 300; i++) bus.publish(svc, ping(String(i)))
      await waitFor(() => everyone.length === 300 && perMember.flat().length >= 300)
      // A round trip after all publishes: any duplicate delivery would have arrived before its reply.
      bus.subscribe(`hive.${ns}.echo`, (m, reply) => reply?.(m))
      await bus.request(`hive.${ns}.echo`, ping(), { timeoutMs: 2000 })
      const all = perMember.flat()
      expect(all).toHaveLength(300)
      expect(new Set(all).size).toBe(300)
      for (const mine of perMember) expect(mine.length).toBeGreaterThan(0)
    })

    it(`${name} - answers a request with the responder's reply`, async () => {
      const { bus, ns } = await fresh()
      const svc = subject(ns, { kind: 'service', service: 'echo' })
      bus.subscribe(svc, (m, reply) =>
        reply?.(envelope('pong', { note: note(m) }, { from: 'svc', corr: m.corr })),
      )
      const out = await bus.request(svc, ping('hello', 'corr-7'), { timeoutMs: 2000 })
      expect(out.type).toBe('pong')
      expect(out.body).toEqual({ note: 'hello' })
      expect(out.corr).toBe('corr-7')
    })

    it(`${name} - rejects a request nobody answers in time with a retryable RequestTimeoutError`, async () => {
      const { bus, ns } = await fresh()
      const svc = subject(ns, { kind: 'service', service: 'mute' })
      bus.subscribe(svc, () => {})
      const t0 = Date.now()
      const err = await bus.request(svc, ping(), { timeoutMs: 150 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RequestTimeoutError)
      expect((err as RequestTimeoutError).retryable).toBe(true)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    })

    it(`${name} - rejects a request to a subject nobody serves with NoRespondersError`, async () => {
      const { bus, ns } = await fresh()
      const err = await bus
        .request(subject(ns, { kind: 'service', service: 'nobody' }), ping(), { timeoutMs: 2000 })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NoRespondersError)
      expect((err as NoRespondersError).retryable).toBe(true)
    })

    it(`${name} - keeps one publisher's 1000 messages in order`, async () => {
      const { bus, ns } = await fresh()
      const subj = `hive.${ns}.seq`
      const got = collect(bus, subj, 1000)
      for (let i = 0; i < 1000; i++) bus.publish(subj, ping(String(i)))
      const msgs = await got.done
      expect(msgs.map((m) => Number(note(m)))).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    })

    it(`${name} - refuses a payload over nats-server's default 1 MiB, and carries one of exactly 1 MiB`, async () => {
      const { bus, ns } = await fresh()
      const subj = `hive.${ns}.big`
      const big = ping('x'.repeat(NATS_DEFAULT_MAX_PAYLOAD))
      expect(() => bus.publish(subj, big)).toThrow(PayloadTooLargeError)
      bus.subscribe(subj, () => {})
      await expect(bus.request(subj, big, { timeoutMs: 2000 })).rejects.toBeInstanceOf(PayloadTooLargeError)
      expect(() => bus.publishRaw(subj, new Uint8Array(NATS_DEFAULT_MAX_PAYLOAD + 1))).toThrow(
        PayloadTooLargeError,
      )
      // Exactly the limit is carried: it arrives (as zeros, malformed) and is dead-lettered, capped.
      const dead = collect(bus, subject(ns, { kind: 'dlq' }), 1)
      bus.publishRaw(subj, new Uint8Array(NATS_DEFAULT_MAX_PAYLOAD))
      const [dl] = await dead.done
      const body = expectType(dl, 'dead.letter').body
      expect(body.size).toBe(NATS_DEFAULT_MAX_PAYLOAD)
      expect(body.truncated).toBe(true)
      expect(body.bytes.byteLength).toBe(DEAD_LETTER_MAX_BYTES)
    })

    it(`${name} - dead-letters malformed bytes and invalid bodies without calling the handler, and lives`, async () => {
      const { bus, ns } = await fresh()
      const subj = subject(ns, { kind: 'service', service: 'tasks' })
      const handled: AnyEnvelope[] = []
      bus.subscribe(subj, (m) => void handled.push(m))
      const dead = collect(bus, subject(ns, { kind: 'dlq' }), 3)
      const garbage = new Uint8Array([0xc1, 0x00, 0xff])
      const badTask = encode(
        envelope(
          'task.submit',
          { task_type: 'code', required_capabilities: [], priority: 11 },
          { from: 'evil' },
        ),
      )
      const notAnEnvelope = encode(['a', 'list'] as never)
      const before = bus.stats().malformed
      bus.publishRaw(subj, garbage)
      bus.publishRaw(subj, badTask)
      bus.publishRaw(subj, notAnEnvelope)
      const good = envelope(
        'task.submit',
        { task_type: 'code', required_capabilities: ['TS '] },
        { from: 'ok' },
      )
      bus.publish(subj, good)
      const letters = (await dead.done).map((m) => expectType(m, 'dead.letter').body)
      await waitFor(() => handled.length === 1)
      expect(handled[0].id).toBe(good.id)
      expect(expectType(handled[0], 'task.submit').body).toMatchObject({
        required_capabilities: ['ts'],
        priority: 5,
      })
      expect(letters.map((l) => l.code)).toEqual([
        'MALFORMED_MESSAGE',
        'MALFORMED_MESSAGE',
        'MALFORMED_MESSAGE',
      ])
      expect(letters.every((l) => l.subject === subj)).toBe(true)
      expect(Buffer.from(letters[0].bytes).equals(Buffer.from(garbage))).toBe(true)
      expect(Buffer.from(letters[1].bytes).equals(Buffer.from(badTask))).toBe(true)
      expect(letters[1].reason).toMatch(/required_capabilities/)
      expect(letters[1].reason).toMatch(/priority/)
      expect(letters[2].reason).toMatch(/must be a map/)
      expect(bus.stats().malformed - before).toBe(3)
    })

    it(`${name} - answers a malformed raw request with a MalformedMessageError`, async () => {
      const { bus, ns } = await fresh()
      const subj = subject(ns, { kind: 'service', service: 'strict' })
      let calls = 0
      bus.subscribe(subj, (_m, reply) => {
        calls++
        reply?.(envelope('ack', {}, { from: 'svc' }))
      })
      const dead = collect(bus, subject(ns, { kind: 'dlq' }), 1)
      const err = await bus
        .requestRaw(subj, new Uint8Array([0x92, 0x01]), { timeoutMs: 2000 })
        .catch((e) => e)
      expect(err).toBeInstanceOf(MalformedMessageError)
      await dead.done
      const ok = await bus.request(subj, ping(), { timeoutMs: 2000 })
      expect(ok.type).toBe('ack')
      expect(calls).toBe(1)
    })

    it(`${name} - refuses another protocol version with VersionMismatchError and dead-letters it`, async () => {
      const { bus, ns } = await fresh()
      const subj = subject(ns, { kind: 'service', service: 'v' })
      let calls = 0
      bus.subscribe(subj, () => void calls++)
      const dead = collect(bus, subject(ns, { kind: 'dlq' }), 2)
      const future = encode({ ...ping(), v: 99 })
      const err = await bus.requestRaw(subj, future, { timeoutMs: 2000 }).catch((e) => e)
      expect(err).toBeInstanceOf(VersionMismatchError)
      expect((err as VersionMismatchError).got).toBe(99)
      bus.publishRaw(subj, future)
      const letters = (await dead.done).map((m) => expectType(m, 'dead.letter').body)
      expect(letters.map((l) => l.code)).toEqual(['VERSION_MISMATCH', 'VERSION_MISMATCH'])
      expect(bus.stats().versionMismatch).toBe(2)
      expect(calls).toBe(0)
    })

    it(`${name} - turns a handler's throw into a typed rejection for the requester, and lives`, async () => {
      const { bus, ns } = await fresh()
      const svc = subject(ns, { kind: 'service', service: 'fragile' })
      bus.subscribe(svc, (m) => {
        if (note(m) === 'sync') throw new Error('boom')
        if (note(m) === 'typed') throw new HiveError('no capacity', { code: 'NO_CAPACITY', retryable: true })
        return Promise.reject(new Error('async boom'))
      })
      const sync = await bus.request(svc, ping('sync'), { timeoutMs: 2000 }).catch((e) => e)
      expect(sync).toBeInstanceOf(RemoteError)
      expect(sync.message).toBe('boom')
      const typed = await bus.request(svc, ping('typed'), { timeoutMs: 2000 }).catch((e) => e)
      expect(typed).toMatchObject({ code: 'NO_CAPACITY', retryable: true, message: 'no capacity' })
      const late = await bus.request(svc, ping('async'), { timeoutMs: 2000 }).catch((e) => e)
      expect(late).toBeInstanceOf(RemoteError)
      expect(late.message).toBe('async boom')
      expect(bus.stats().handlerErrors).toBe(3)
      bus.subscribe(`hive.${ns}.still`, (m, reply) => reply?.(m))
      await expect(
        bus.request(`hive.${ns}.still`, ping('alive'), { timeoutMs: 2000 }),
      ).resolves.toMatchObject({
        body: { note: 'alive' },
      })
    })

    it(`${name} - close() handles every message already published`, async () => {
      const { bus, ns } = await fresh()
      const subj = `hive.${ns}.drain`
      let handled = 0
      bus.subscribe(subj, () => void handled++)
      for (let i = 0; i < 500; i++) bus.publish(subj, ping(String(i)))
      await bus.close()
      expect(handled).toBe(500)
    })

    it(`${name} - close() lets a running async handler finish and its reply reach the requester`, async () => {
      const { bus, ns } = await fresh()
      const svc = subject(ns, { kind: 'service', service: 'slow' })
      let started = false
      let finished = false
      bus.subscribe(svc, async (m, reply) => {
        started = true
        await new Promise((resolve) => setTimeout(resolve, 100))
        finished = true
        reply?.(envelope('pong', { note: note(m) }, { from: 'svc' }))
      })
      const answer = bus.request(svc, ping('late'), { timeoutMs: 5000 })
      await waitFor(() => started)
      await bus.close()
      expect(finished).toBe(true)
      await expect(answer).resolves.toMatchObject({ type: 'pong', body: { note: 'late' } })
    })

    it(`${name} - refuses every use after close() with BusClosedError`, async () => {
      const { bus, ns } = await fresh()
      const statuses: string[] = []
      bus.onStatus((s) => statuses.push(s.type))
      await bus.close()
      await bus.close()
      expect(bus.closed).toBe(true)
      expect(statuses).toContain('close')
      const subj = `hive.${ns}.closed`
      expect(() => bus.publish(subj, ping())).toThrow(BusClosedError)
      expect(() => bus.publishRaw(subj, new Uint8Array([1]))).toThrow(BusClosedError)
      expect(() => bus.subscribe(subj, () => {})).toThrow(BusClosedError)
      await expect(bus.request(subj, ping(), { timeoutMs: 100 })).rejects.toBeInstanceOf(BusClosedError)
      await expect(bus.requestRaw(subj, new Uint8Array([1]), { timeoutMs: 100 })).rejects.toBeInstanceOf(
        BusClosedError,
      )
    })
  })
}
