import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { MsgpackWriter, msgpackEncode } from '../../src/bus/msgpackEncode.ts'

// The reference: the codec's msgpackr settings.
const packr = new Packr({ useRecords: false, skipValues: [undefined] } as ConstructorParameters<
  typeof Packr
>[0])

// Numbers around every boundary of the integer forms, and floats.
const edges = [0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, -0x20, -0x21, -0x80, -0x81]
const number = fc.oneof(
  fc.integer(),
  fc.constantFrom(...edges.flatMap((n) => [n - 1, n, n + 1]), -0x8000, -0x8001, -(2 ** 31), -(2 ** 31) - 1),
  fc.double(),
  fc.maxSafeInteger(),
)
// Strings of every header size, ASCII and not (lengths in bytes around 31/32 and 255/256).
const string = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ minLength: 240, maxLength: 300 }),
  fc.string({ unit: 'grapheme', minLength: 80, maxLength: 120 }),
)
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    string,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 20 }),
    // Up to 20 keys, some of them undefined (skipped): the header must count the written ones.
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 20 }),
  ),
}))

const property = (writer: MsgpackWriter) =>
  fc.property(value, (v) => {
    const ours = writer.encode(v)
    expect(ours).toBeDefined()
    expect(Buffer.from(ours!).toString('hex')).toBe(Buffer.from(packr.pack(v)).toString('hex'))
  })

/** Off by one at the fixstr boundary: a 32-byte string gets a fixstr header. */
class FixstrMutant extends MsgpackWriter {
  override writeString(s: string): void {
    if (Buffer.byteLength(s) === 32) {
      this.ensure(33)
      this.slab[this.pos++] = 0xa0 | 31
      this.slab.set(Buffer.from(s), this.pos)
      this.pos += 32
      return
    }
    super.writeString(s)
  }
}

/** Counts skipped (undefined) entries in a map's header. */
class SkipCountMutant extends MsgpackWriter {
  override writeMap(o: Record<string, unknown>, depth: number): void {
    const kept: Record<string, unknown> = {}
    for (const k in o) kept[k] = o[k] === undefined ? null : o[k]
    super.writeMap(kept, depth)
  }
}

describe('msgpackEncode', () => {
  it('msgpackEncode - writes the bytes msgpackr writes, for any plain data', () => {
    fc.assert(property(new MsgpackWriter()), { numRuns: 400 })
  })

  it('msgpackEncode - the property catches a wrong string header and a wrong map count', () => {
    for (const mutant of [new FixstrMutant(), new SkipCountMutant()]) {
      expect(fc.check(property(mutant), { numRuns: 400 }).failed).toBe(true)
    }
  })

  it('msgpackEncode - maps of 16 and 65536 entries, arrays and strings of 65536', () => {
    const big = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
    for (const v of [
      big(15),
      big(16),
      { ...big(16), skipped: undefined },
      big(65_535),
      big(65_536),
      Array.from({ length: 65_536 }, (_, i) => i),
      'x'.repeat(65_535),
      'é'.repeat(40_000),
    ]) {
      expect(Buffer.from(msgpackEncode(v)!).equals(Buffer.from(packr.pack(v)))).toBe(true)
    }
  })

  it('msgpackEncode - returns undefined for what is not plain data, and later messages are intact', () => {
    const first = msgpackEncode({ a: 'first' })!
    const copy = Buffer.from(first)
    for (const v of [new Date(0), { at: new Map() }, [1n], Buffer.from('x'), { f: () => 1 }]) {
      expect(msgpackEncode(v)).toBeUndefined()
    }
    // Fill several slabs; the first message's bytes are never overwritten.
    for (let i = 0; i < 2000; i++) msgpackEncode({ i, pad: 'p'.repeat(100) })
    expect(Buffer.from(first).equals(copy)).toBe(true)
    expect(packr.unpack(msgpackEncode({ after: [1, 'two'] })!)).toEqual({ after: [1, 'two'] })
  })
})
