import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { subject, subjectMatches, tokensMatch } from '../../src/bus/subjects.ts'

/** The obvious reference: split both and compare token by token. */
function reference(pattern: string, concrete: string): boolean {
  const p = pattern.split('.')
  const c = concrete.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i < c.length
    if (i >= c.length) return false
    if (p[i] !== '*' && p[i] !== c[i]) return false
  }
  return p.length === c.length
}

const token = fc.constantFrom('a', 'b', 'ab', 'hive', 'x1')
const concreteArb = fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join('.'))
const patternArb = fc
  .tuple(fc.array(fc.oneof(token, fc.constant('*')), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([t, tail]) => (tail ? [...t.slice(0, -1), '>'] : t).join('.'))

/**
 * A subject made from a pattern (each `*` a token, `>` zero to two tokens): random subjects
 * rarely hit the edges of a pattern, such as the subject that is its prefix before `>`.
 */
const nearArb = (pattern: string) =>
  fc.tuple(fc.array(token, { maxLength: 2 }), token).map(([tail, star]) => {
    const tokens = pattern.split('.').flatMap((t) => (t === '>' ? tail : t === '*' ? [star] : [t]))
    return tokens.length ? tokens.join('.') : star
  })
const pairArb = patternArb.chain((p) => fc.tuple(fc.constant(p), fc.oneof(concreteArb, nearArb(p))))

function matchesLikeReference(match: (p: string, c: string) => boolean) {
  return fc.property(pairArb, ([p, c]) => match(p, c) === reference(p, c))
}

describe('subjects', () => {
  it('subjects - builds every kind of address under hive.<ns>', () => {
    expect(subject('default', { kind: 'mailbox', actor: 'agent', id: 'a-1' })).toBe(
      'hive.default.a.agent.a-1',
    )
    expect(subject('x', { kind: 'service', service: 'coordinator' })).toBe('hive.x.svc.coordinator')
    expect(subject('x', { kind: 'event', actor: 'task', id: '*', event: '>' })).toBe('hive.x.evt.task.*.>')
    expect(subject('x', { kind: 'heartbeat', id: 'a1' })).toBe('hive.x.hb.a1')
    expect(subject('x', { kind: 'dlq' })).toBe('hive.x.dlq')
    expect(() => subject('x', { kind: 'mailbox', actor: 'agent', id: 'a.b' })).toThrow(/no dots/)
  })

  it('subjects - wildcard matching agrees with the token-by-token reference', () => {
    fc.assert(matchesLikeReference(subjectMatches), { numRuns: 2000 })
    fc.assert(
      matchesLikeReference((p, c) => tokensMatch(p.split('.'), c)),
      { numRuns: 2000 },
    )
  })

  it('subjects - the property catches a matcher whose > also matches zero tokens', () => {
    const broken = (p: string, c: string) =>
      (p.endsWith('.>') && c === p.slice(0, -2)) || subjectMatches(p, c)
    expect(fc.check(matchesLikeReference(broken), { numRuns: 2000 }).failed).toBe(true)
  })
})
