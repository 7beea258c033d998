import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { decodeRaw } from '../../src/bus/codec.ts'
import type { CreateBusOptions } from '../../src/bus/createBus.ts'
import {
  type AnyEnvelope,
  catalogue,
  createMemoryBus,
  DEAD_LETTER_MAX_BYTES,
  decode,
  encode,
  envelope,
  expectType,
  MalformedMessageError,
  subject,
  VersionMismatchError,
  validate,
} from '../../src/bus/index.ts'
import { anyBytes, envelopeOf, invalidBytes, messageTypes } from './messageArbitraries.ts'

type Codec = NonNullable<CreateBusOptions['codec']>
const realCodec: Codec = { encode, decode }

/** Every valid envelope comes back from the wire equal to what was sent. */
const roundTrips = (codec: Codec, arb: fc.Arbitrary<AnyEnvelope>) =>
  fc.property(arb, (env) => {
    const back = codec.decode(codec.encode(env))
    expect(normalise(back)).toEqual(normalise(env))
  })

// msgpackr decodes binary as a Buffer, and writes -0 as the integer 0 (as JSON does): compare
// bytes as plain Uint8Arrays and zeros without their sign.
function normalise(v: unknown): unknown {
  if (Object.is(v, -0)) return 0
  if (v instanceof Uint8Array) return Uint8Array.from(v)
  if (Array.isArray(v)) return v.map(normalise)
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]))
  return v
}

/** Decoding any bytes either yields an envelope or throws one of the two typed refusals. */
const onlyTypedRefusals = (decodeFn: (b: Uint8Array) => unknown) =>
  fc.property(anyBytes, (bytes) => {
    try {
      decodeFn(bytes)
    } catch (err) {
      expect(err instanceof MalformedMessageError || err instanceof VersionMismatchError).toBe(true)
    }
  })

/**
 * Through a real MemoryBus: invalid bytes never reach a handler, always leave exactly one dead
 * letter (reason, code, subject, capped original bytes), and the bus still delivers afterwards.
 */
const invalidNeverHandled = (codec: Codec) =>
  fc.asyncProperty(invalidBytes, async (bytes) => {
    const bus = createMemoryBus({ ns: 'prop', codec })
    const subj = subject('prop', { kind: 'service', service: 'in' })
    const handled: AnyEnvelope[] = []
    const dead: AnyEnvelope[] = []
    bus.subscribe(subj, (m) => void handled.push(m))
    bus.subscribe(subject('prop', { kind: 'dlq' }), (m) => void dead.push(m))
    bus.publishRaw(subj, bytes)
    const after = envelope('ping', { note: 'after' }, { from: 'prop' })
    bus.publish(subj, after)
    await bus.close()
    expect(handled.map((m) => m.id)).toEqual([after.id])
    expect(dead).toHaveLength(1)
    const letter = expectType(dead[0], 'dead.letter').body
    expect(letter.subject).toBe(subj)
    expect(['MALFORMED_MESSAGE', 'VERSION_MISMATCH']).toContain(letter.code)
    expect(letter.reason.length).toBeGreaterThan(0)
    expect(Buffer.from(letter.bytes).equals(Buffer.from(bytes.subarray(0, DEAD_LETTER_MAX_BYTES)))).toBe(true)
    const s = bus.stats()
    expect(s.malformed + s.versionMismatch).toBe(1)
  })

describe('codec properties', () => {
  it('codec - generates valid envelopes for every catalogue type', () => {
    expect(messageTypes).toEqual(Object.keys(catalogue))
    for (const type of Object.keys(catalogue) as typeof messageTypes) {
      for (const env of fc.sample(envelopeOf(type), 5)) expect(() => validate(env)).not.toThrow()
    }
  })

  it.each(messageTypes)('codec - round-trips every %s envelope', (type) => {
    fc.assert(roundTrips(realCodec, envelopeOf(type)), { numRuns: 30 })
  })

  it('codec - the round-trip property catches a codec that drops corr or mangles a body', () => {
    const anyType = fc.constantFrom(...messageTypes).chain(envelopeOf)
    const dropsCorr: Codec = { encode: (m) => encode({ ...m, corr: undefined }), decode }
    const dropsBodyField: Codec = {
      encode,
      decode: (b) => {
        const m = decode(b)
        const keys = Object.keys(m.body)
        if (keys.length) delete (m.body as Record<string, unknown>)[keys[keys.length - 1]]
        return m
      },
    }
    expect(fc.check(roundTrips(dropsCorr, anyType), { numRuns: 200 }).failed).toBe(true)
    expect(fc.check(roundTrips(dropsBodyField, anyType), { numRuns: 200 }).failed).toBe(true)
  })

  it('codec - decode throws nothing but MalformedMessageError or VersionMismatchError', () => {
    fc.assert(onlyTypedRefusals(decode), { numRuns: 400 })
  })

  it('codec - the refusal property catches a decoder that lets MessagePack errors escape', () => {
    const unpackr = new Packr({ useRecords: false } as ConstructorParameters<typeof Packr>[0])
    const leaky = (b: Uint8Array) => validate(unpackr.unpack(b))
    expect(fc.check(onlyTypedRefusals(leaky), { numRuns: 200 }).failed).toBe(true)
  })

  it('codec - invalid bytes never reach a MemoryBus handler and always leave a dead letter', async () => {
    await fc.assert(invalidNeverHandled(realCodec), { numRuns: 100 })
  })

  it('codec - the dead-letter property catches a validator that skips body validation', async () => {
    const skipsBodies: Codec = {
      encode,
      decode: (bytes) => {
        const raw = decodeRaw(bytes)
        try {
          return validate(raw)
        } catch (err) {
          if (err instanceof MalformedMessageError && /^invalid \S+ body/.test(err.message))
            return raw as AnyEnvelope
          throw err
        }
      },
    }
    const out = await fc.check(invalidNeverHandled(skipsBodies), { numRuns: 200 })
    expect(out.failed).toBe(true)
  })
})

describe('codec regressions', () => {
  // Regression: `capability` once checked min(1) BEFORE trimming, so '  ' was accepted as '' and
  // the next hop (a coordinator forwarding the task in task.assign) refused it.
  it('codec - a capability of only spaces is refused at the first hop, not the second', () => {
    const bytes = encode(
      envelope('task.submit', { task_type: 'code', required_capabilities: ['  '] }, { from: 'cli' }),
    )
    expect(() => decode(bytes)).toThrow(MalformedMessageError)
    const ok = decode(
      encode(
        envelope('task.submit', { task_type: 'code', required_capabilities: [' Py '] }, { from: 'cli' }),
      ),
    )
    expect(() => decode(encode(ok))).not.toThrow()
    expect((ok.body as { required_capabilities: string[] }).required_capabilities).toEqual(['py'])
  })
})
