/**
 * The wire codec: plain MessagePack (msgpackr with `useRecords: false`, readable by any client),
 * and the validation every received message passes before any handler sees it.
 */
import { Packr } from 'msgpackr'
import { catalogue, isMessageType } from './catalogue.ts'
import { type AnyEnvelope, type Envelope, PROTOCOL_VERSION } from './envelope.ts'
import { MalformedMessageError, VersionMismatchError } from './errors.ts'
import { msgpackEncode } from './msgpackEncode.ts'

// skipValues drops `undefined` fields instead of writing msgpackr's private undefined extension.
const packr = new Packr({ useRecords: false, skipValues: [undefined] } as ConstructorParameters<
  typeof Packr
>[0])

/** Encodes an envelope to bytes (plain data by the fast encoder, anything else by msgpackr). */
export function encode(msg: Envelope): Uint8Array {
  return msgpackEncode(msg) ?? packr.pack(msg)
}

/**
 * An upper bound on the size of {@link encode}'s output for `msg`, or `Infinity` when the bound
 * passes `limit` or `msg` holds anything but plain data (strings, numbers, booleans, null,
 * undefined, plain objects and arrays, at most 64 deep). A finite answer also means that
 * encoding cannot throw: it is what lets the memory transport skip encoding messages nobody
 * receives while still refusing, at once, every payload NATS would refuse.
 */
export function encodedSizeBound(msg: Envelope, limit: number): number {
  return boundOf(msg, limit, 0)
}

// MessagePack headers are at most 5 bytes (str32, array32, map32), a number at most 9, a UTF-16
// code unit at most 3 bytes of UTF-8, and skipValues' undefined (in arrays, where it is kept) 3.
function boundOf(v: unknown, budget: number, depth: number): number {
  switch (typeof v) {
    case 'string':
      return 5 + 3 * v.length
    case 'number':
      return 9
    case 'boolean':
      return 1
    case 'undefined':
      return 3
    case 'object': {
      if (v === null) return 1
      if (depth >= 64) return Number.POSITIVE_INFINITY
      // The tests msgpackr makes before writing a plain array or map. A map without a prototype
      // (as fast-check and Object.create(null) make) is written as one, after a toJSON call.
      const ctor = (v as { constructor?: unknown }).constructor
      const plain =
        ctor === Object || (ctor === undefined && Object.getPrototypeOf(v) === null && !('toJSON' in v))
      let size = 5
      if (ctor === Array) {
        const a = v as unknown[]
        for (let i = 0; i < a.length && size <= budget; i++) size += boundOf(a[i], budget - size, depth + 1)
      } else if (plain) {
        const o = v as Record<string, unknown>
        for (const k in o) {
          if (!Object.hasOwn(o, k)) continue
          size += 5 + 3 * k.length + boundOf(o[k], budget, depth + 1)
          if (size > budget) break
        }
      } else return Number.POSITIVE_INFINITY
      return size > budget ? Number.POSITIVE_INFINITY : size
    }
    default:
      return Number.POSITIVE_INFINITY
  }
}

/** Decodes bytes to an unchecked value; throws {@link MalformedMessageError} when they are not MessagePack. */
export function decodeRaw(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes)
  } catch (err) {
    throw new MalformedMessageError(`bytes do not decode as MessagePack: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

/**
 * Decodes and validates bytes as an envelope of a catalogue type; the returned body has the
 * schema's defaults applied. Throws {@link MalformedMessageError} or {@link VersionMismatchError}.
 */
export function decode(bytes: Uint8Array): AnyEnvelope {
  return validate(decodeRaw(bytes))
}

/** Validates a decoded value as an envelope; see {@link decode}. */
export function validate(raw: unknown): AnyEnvelope {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MalformedMessageError(`an envelope must be a map, got ${describe(raw)}`)
  }
  const m = raw as Record<string, unknown>
  if (m.v !== PROTOCOL_VERSION) {
    if (typeof m.v === 'number') throw new VersionMismatchError(m.v, PROTOCOL_VERSION)
    throw new MalformedMessageError(
      `envelope field v must be the protocol version number, got ${describe(m.v)}`,
    )
  }
  for (const f of ['id', 'type', 'from'] as const) {
    if (typeof m[f] !== 'string' || m[f] === '') {
      throw new MalformedMessageError(`envelope field ${f} must be a non-empty string, got ${describe(m[f])}`)
    }
  }
  if (typeof m.ts !== 'number' || !Number.isFinite(m.ts)) {
    throw new MalformedMessageError(`envelope field ts must be a number, got ${describe(m.ts)}`)
  }
  for (const f of ['to', 'corr'] as const) {
    if (m[f] !== undefined && typeof m[f] !== 'string') {
      throw new MalformedMessageError(
        `envelope field ${f} must be a string when present, got ${describe(m[f])}`,
      )
    }
  }
  const type = m.type as string
  if (!isMessageType(type)) {
    throw new MalformedMessageError(`unknown message type ${JSON.stringify(type)}`, { data: { type } })
  }
  const parsed = catalogue[type].safeParse(m.body)
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
      .join('; ')
    throw new MalformedMessageError(`invalid ${type} body: ${detail}`, {
      data: {
        type,
        issues: parsed.error.issues
          .slice(0, 10)
          .map((i) => ({ path: i.path.map(String), message: i.message })),
      },
    })
  }
  const out: Record<string, unknown> = { v: m.v, id: m.id, type, from: m.from, ts: m.ts, body: parsed.data }
  if (m.to !== undefined) out.to = m.to
  if (m.corr !== undefined) out.corr = m.corr
  return out as unknown as AnyEnvelope
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (v instanceof Uint8Array) return 'bytes'
  return typeof v === 'string' ? `string ${JSON.stringify(v.slice(0, 40))}` : typeof v
}
