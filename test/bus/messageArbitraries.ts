/**
 * Arbitraries of wire messages: valid envelopes of every catalogue type (in the canonical form a
 * receiver sees), and invalid ones: random bytes, random MessagePack values, and valid envelopes
 * with one corruption (a field dropped or mistyped, another version, a broken body, cut bytes).
 */
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import {
  type AnyEnvelope,
  catalogue,
  decode,
  encode,
  type MessageType,
  PROTOCOL_VERSION,
} from '../../src/bus/index.ts'
import { arbitraryFor } from '../helpers/arbitraryFromSchema.ts'

export const messageTypes = Object.keys(catalogue) as MessageType[]

const overrides = new Map<any, fc.Arbitrary<unknown>>([
  [catalogue['dead.letter'].shape.bytes, fc.uint8Array({ maxLength: 64 })],
])

/** A body of `type` as the receiver sees it: accepted by the schema, defaults applied. */
export function bodyOf(type: MessageType): fc.Arbitrary<unknown> {
  const schema = catalogue[type]
  return arbitraryFor(schema, overrides, type).map((v) => schema.parse(v))
}

const token = fc.string({ minLength: 1, maxLength: 24 })

/** A valid envelope of `type`; `to` and `corr` are present in most runs. */
export function envelopeOf(type: MessageType): fc.Arbitrary<AnyEnvelope> {
  return fc
    .record(
      {
        v: fc.constant(PROTOCOL_VERSION),
        id: token,
        type: fc.constant(type),
        from: token,
        to: token,
        corr: token,
        ts: fc.oneof(
          fc.integer({ min: 0, max: 2 ** 47 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
        ),
        body: bodyOf(type),
      },
      { requiredKeys: ['v', 'id', 'type', 'from', 'ts', 'body'] },
    )
    .map((e) => e as unknown as AnyEnvelope)
}

/** A valid envelope of any catalogue type. */
export const anyEnvelope: fc.Arbitrary<AnyEnvelope> = fc.constantFrom(...messageTypes).chain(envelopeOf)

const raw = new Packr({ useRecords: false } as ConstructorParameters<typeof Packr>[0])

/** Whatever `fc.anything()` makes, as MessagePack (values msgpackr cannot pack become nil). */
const msgpackValue = fc.anything({ maxDepth: 3 }).map((v) => {
  try {
    return raw.pack(v) as Uint8Array
  } catch {
    return new Uint8Array([0xc0])
  }
})

const wrong = fc.constantFrom<unknown>(null, -1.5, '', 'str', true, [], { x: 1 }, 0, Number.NaN)

/** One corruption of a valid envelope, as a plain object (it may, rarely, stay valid). */
const corrupted: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(anyEnvelope, fc.nat(), wrong, fc.integer({ min: -5, max: 1000 }))
  .map(([env, pick, bad, version]) => {
    const e: Record<string, unknown> = { ...env }
    const body = { ...(env.body as Record<string, unknown>) }
    const bodyKeys = Object.keys(body)
    const fields = ['v', 'id', 'type', 'from', 'ts', 'body', 'to', 'corr']
    switch (pick % 7) {
      case 0:
        delete e[fields[pick % 6]]
        break
      case 1:
        e[fields[pick % fields.length]] = bad
        break
      case 2:
        e.v = version === PROTOCOL_VERSION ? 99 : version
        break
      case 3:
        e.type = `no.such.${pick}`
        break
      case 4:
        e.body = bad
        break
      case 5:
      case 6:
        // The body corruptions come twice as often: they are what a lazy validator would miss.
        if (bodyKeys.length === 0) e.body = bad
        else if (pick % 7 === 5) body[bodyKeys[pick % bodyKeys.length]] = bad
        else delete body[bodyKeys[pick % bodyKeys.length]]
        if (bodyKeys.length) e.body = body
        break
    }
    return e
  })

/** Bytes of a valid envelope cut short or with one byte changed. */
const damaged = fc.tuple(anyEnvelope, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([env, at, x]) => {
  const bytes = encode(env).slice()
  const i = at % bytes.length
  if (at % 2 === 0) return bytes.slice(0, i)
  bytes[i] ^= x
  return bytes
})

/** Any bytes at all: random, random MessagePack, corrupted envelopes, damaged envelope bytes. */
export const anyBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  msgpackValue,
  corrupted.map((e) => encode(e as never)),
  damaged,
)

/** True when the real codec refuses these bytes: the oracle of what is invalid. */
export function isInvalid(bytes: Uint8Array): boolean {
  try {
    decode(bytes)
    return false
  } catch {
    return true
  }
}

/** Bytes the real codec refuses, weighted towards near-valid envelopes. */
export const invalidBytes: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 1, arbitrary: msgpackValue },
    { weight: 4, arbitrary: corrupted.map((e) => encode(e as never)) },
    { weight: 1, arbitrary: damaged },
  )
  .filter(isInvalid)
