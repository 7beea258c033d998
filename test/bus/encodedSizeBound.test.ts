import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodedSizeBound } from '../../src/bus/codec.ts'
import { type AnyEnvelope, createMemoryBus, type Envelope, encode, envelope } from '../../src/bus/index.ts'
import { collect } from '../helpers/busFactories.ts'
import { anyEnvelope } from './messageArbitraries.ts'

type Bound = (msg: Envelope, limit: number) => number

/** Plain data as actors put in bodies: any Unicode, nested maps and arrays, undefined fields. */
const plain: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.integer(),
    fc.bigInt({ min: 0n, max: 2n ** 53n }).map(Number),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'grapheme' }), tie('v'), { maxKeys: 5 }),
  ),
})).v

const withBody = (body: unknown) => envelope('ping', body as never, { from: 'test' }) as Envelope

/** The bound is never below what encode() writes, and a finite bound means encode() does not throw. */
const boundsEncode = (bound: Bound, arb: fc.Arbitrary<Envelope>) =>
  fc.property(arb, (env) => {
    const b = bound(env, Number.POSITIVE_INFINITY)
    expect(Number.isFinite(b)).toBe(true)
    expect(b).toBeGreaterThanOrEqual(encode(env).byteLength)
  })

describe('encodedSizeBound', () => {
  it('encodedSizeBound - is at least the encoded size of every catalogue envelope', () => {
    // All but dead.letter, whose bytes field the bound leaves to encode() (see the next tests).
    const arb = anyEnvelope.filter((e) => e.type !== 'dead.letter') as fc.Arbitrary<Envelope>
    fc.assert(boundsEncode(encodedSizeBound, arb), { numRuns: 300 })
  })

  it('encodedSizeBound - is at least the encoded size of any plain body', () => {
    fc.assert(boundsEncode(encodedSizeBound, plain.map(withBody)), { numRuns: 500 })
  })

  it('encodedSizeBound - the property catches a bound that counts one byte per character', () => {
    // A mutant of the real bound: strings as if every character were ASCII.
    const asciiOnly: Bound = (msg) => {
      const walk = (v: unknown): number =>
        typeof v === 'string'
          ? 5 + v.length
          : Array.isArray(v)
            ? 5 + v.reduce((n: number, x) => n + walk(x), 0)
            : v !== null && typeof v === 'object'
              ? 5 + Object.entries(v).reduce((n, [k, x]) => n + walk(k) + walk(x), 0)
              : 9
      return walk(msg)
    }
    expect(
      fc.check(boundsEncode(asciiOnly, plain.map(withBody)), { numRuns: 500, endOnFailure: true }).failed,
    ).toBe(true)
  })

  it('encodedSizeBound - gives up (Infinity) on anything but plain data, and past the limit', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const toJSON = Object.assign(Object.create(null), { toJSON: 'not a function' })
    class Point {
      x = 1
    }
    for (const odd of [
      new Uint8Array(1),
      new Date(0),
      new Map(),
      1n,
      () => 1,
      Symbol('s'),
      new Point(),
      toJSON,
      cyclic,
    ]) {
      expect(encodedSizeBound(withBody({ odd }), 1 << 20)).toBe(Number.POSITIVE_INFINITY)
    }
    const env = withBody({ note: 'x'.repeat(100) })
    expect(encodedSizeBound(env, 1 << 20)).toBeLessThan(1 << 20)
    expect(encodedSizeBound(env, 100)).toBe(Number.POSITIVE_INFINITY)
  })

  it('encodedSizeBound - MemoryBus still delivers a message published before anyone subscribed', async () => {
    // Published with no subscriber (so not encoded yet); a subscriber arriving before delivery,
    // as on the embedded bus it always could, still gets it.
    const bus = createMemoryBus({ ns: 'lazy' })
    bus.publish('hive.lazy.late', withBody({ note: 'before' }))
    const got = collect(bus, 'hive.lazy.late', 1)
    const [msg] = (await got.done) as AnyEnvelope[]
    expect(msg.body).toEqual({ note: 'before' })
    await bus.close()
  })
})
