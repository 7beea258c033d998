/**
 * fast-check arbitraries derived from zod 4 schemas, so the codec properties follow the message
 * catalogue as it changes. Covers the zod kinds the catalogue uses; anything else throws, naming
 * the kind and the path, so a new schema shape fails the test loudly instead of going untested.
 */
import fc from 'fast-check'
import type { z } from 'zod'

/** Generators for schemas this module cannot derive (e.g. `z.custom`), keyed by schema object. */
export type Overrides = Map<z.ZodType, fc.Arbitrary<unknown>>

interface Def {
  type: string
  checks?: { _zod: { def: Record<string, any> } }[]
  [k: string]: any
}

/**
 * A plain value for `z.unknown()` fields: what a JSON-speaking client would send. `__proto__` keys
 * are left out because msgpackr renames them to `__proto_` on decode (a guard against prototype
 * pollution), so they cannot round-trip.
 */
export const plainValue: fc.Arbitrary<unknown> = fc
  .jsonValue({ maxDepth: 2 })
  .filter((v) => !JSON.stringify(v ?? null).includes('"__proto__"'))

/**
 * An arbitrary of values the schema accepts, in its INPUT form (defaults may be missing, transforms
 * not yet applied); parse the result to get the canonical form a receiver sees.
 */
export function arbitraryFor(
  schema: z.ZodType,
  overrides: Overrides = new Map(),
  path = '(root)',
): fc.Arbitrary<unknown> {
  const own = overrides.get(schema)
  if (own) return own
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def
  const checks = (def.checks ?? []).map((c) => c._zod.def)
  const find = (name: string) => checks.find((c) => c.check === name)
  const inner = (s: z.ZodType, p: string) => arbitraryFor(s, overrides, p)
  switch (def.type) {
    case 'string': {
      const minLength = find('min_length')?.minimum ?? 0
      const maxLength = Math.min(find('max_length')?.maximum ?? 24, 24)
      const pattern = checks.find((c) => c.check === 'string_format' && c.format === 'regex')?.pattern as
        | RegExp
        | undefined
      if (checks.some((c) => c.check === 'string_format' && c.format !== 'regex')) {
        throw new Error(`arbitraryFor: string formats other than regex are not derived yet (at ${path})`)
      }
      if (pattern) {
        return fc
          .stringMatching(pattern)
          .filter((s) => s.length >= minLength && s.length <= Math.max(maxLength, minLength))
      }
      const plain = fc.string({ minLength, maxLength: Math.max(maxLength, minLength) })
      // Normalising checks (trim, toLowerCase) rewrite the value before the length checks: generate
      // values already in normal form, so a round trip is the identity and min lengths still hold.
      if (checks.some((c) => c.check === 'overwrite')) {
        return plain.map((v) => v.trim().toLowerCase()).filter((v) => v.length >= minLength)
      }
      return plain
    }
    case 'number': {
      const lo = find('greater_than')
      const hi = find('less_than')
      if (checks.some((c) => c.check === 'number_format' && c.format === 'safeint')) {
        const min = lo ? (lo.inclusive ? lo.value : lo.value + 1) : -1_000_000
        const max = hi ? (hi.inclusive ? hi.value : hi.value - 1) : min + 2_000_000
        return fc.integer({ min, max })
      }
      const min = lo?.value ?? -1e9
      const max = hi?.value ?? 1e9
      return fc
        .double({ min, max, noNaN: true, noDefaultInfinity: true })
        .filter(
          (n) =>
            (lo?.inclusive === false ? n > lo.value : true) &&
            (hi?.inclusive === false ? n < hi.value : true),
        )
    }
    case 'boolean':
      return fc.boolean()
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]))
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as Record<string, string>))
    case 'unknown':
    case 'any':
      return plainValue
    case 'optional':
    case 'default':
    case 'prefault':
      return inner(def.innerType, path)
    case 'nullable':
      return fc.option(inner(def.innerType, path), { nil: null })
    case 'array': {
      const minLength = find('min_length')?.minimum ?? 0
      const maxLength = Math.max(minLength, Math.min(find('max_length')?.maximum ?? 3, 3))
      return fc.array(inner(def.element, `${path}[]`), { minLength, maxLength })
    }
    case 'tuple':
      return fc.tuple(...(def.items as z.ZodType[]).map((s, i) => inner(s, `${path}[${i}]`)))
    case 'union':
      return fc.oneof(...(def.options as z.ZodType[]).map((s, i) => inner(s, `${path}|${i}`)))
    case 'record':
      return fc.dictionary(
        (inner(def.keyType, `${path}{key}`) as fc.Arbitrary<string>).filter((k) => k !== '__proto__'),
        inner(def.valueType, `${path}{}`),
        { maxKeys: 3 },
      )
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>
      const model: Record<string, fc.Arbitrary<unknown>> = {}
      const requiredKeys: string[] = []
      for (const [key, s] of Object.entries(shape)) {
        model[key] = inner(s, `${path}.${key}`)
        const kind = (s as unknown as { _zod: { def: Def } })._zod.def.type
        if (kind !== 'optional' && kind !== 'default' && kind !== 'prefault') requiredKeys.push(key)
      }
      return fc.record(model, { requiredKeys })
    }
    case 'pipe': {
      // Generate the input side; keep only values the whole pipe maps to a fixpoint, because a
      // receiver validates the canonical form again (see the known capability bug in the codec tests).
      const pipe = schema
      return inner(def.in, path).filter((v) => {
        const once = pipe.safeParse(v)
        return once.success && pipe.safeParse(once.data).success
      })
    }
    default:
      throw new Error(
        `arbitraryFor: no generator for zod type ${JSON.stringify(def.type)} at ${path}; add one`,
      )
  }
}
