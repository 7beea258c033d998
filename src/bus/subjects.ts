/**
 * The one place subjects are built. Every subject starts `hive.<ns>.`.
 *
 * | address                | subject                                  |
 * | ---------------------- | ---------------------------------------- |
 * | mailbox of an actor    | `hive.<ns>.a.<kind>.<id>`                |
 * | service (queue group)  | `hive.<ns>.svc.<kind>`                   |
 * | broadcast event        | `hive.<ns>.evt.<kind>.<id>.<event>`      |
 * | heartbeat              | `hive.<ns>.hb.<id>`                      |
 * | dead letters           | `hive.<ns>.dlq`                          |
 * | inspection events      | `hive.<ns>.inspect.<node>`               |
 *
 * A token may be `*` (or `>` as the last token) to build a subscription pattern.
 *
 * @example
 * subject('default', { kind: 'mailbox', actor: 'agent', id: 'backend-1' }) // hive.default.a.agent.backend-1
 * subject('default', { kind: 'event', actor: 'task', id: '*', event: '>' }) // hive.default.evt.task.*.>
 */
export type Address =
  | { kind: 'mailbox'; actor: string; id: string }
  | { kind: 'service'; service: string }
  | { kind: 'event'; actor: string; id: string; event: string }
  | { kind: 'heartbeat'; id: string }
  | { kind: 'dlq' }
  | { kind: 'inspect'; node: string }

const TOKEN = /^[A-Za-z0-9_\-:@+=~%]+$/

/** Checks that `value` may stand as one subject token; throws a clear error if not. */
export function assertToken(
  value: string,
  what: string,
  opts: { wildcard?: 'none' | 'any' | 'tail' } = {},
): string {
  const wildcard = opts.wildcard ?? 'any'
  if (wildcard !== 'none' && (value === '*' || (value === '>' && wildcard === 'tail'))) return value
  if (!TOKEN.test(value)) {
    throw new Error(
      `invalid ${what} ${JSON.stringify(value)}: use letters, digits and - _ : @ + = ~ % only (no dots, spaces or wildcards)`,
    )
  }
  return value
}

/** Builds the subject of an address in namespace `ns`. */
export function subject(ns: string, addr: Address): string {
  const base = `hive.${assertToken(ns, 'namespace', { wildcard: 'none' })}`
  switch (addr.kind) {
    case 'mailbox':
      return `${base}.a.${assertToken(addr.actor, 'actor kind')}.${assertToken(addr.id, 'actor id', { wildcard: 'tail' })}`
    case 'service':
      return `${base}.svc.${assertToken(addr.service, 'service name', { wildcard: 'tail' })}`
    case 'event':
      return `${base}.evt.${assertToken(addr.actor, 'actor kind')}.${assertToken(addr.id, 'actor id')}.${assertToken(addr.event, 'event name', { wildcard: 'tail' })}`
    case 'heartbeat':
      return `${base}.hb.${assertToken(addr.id, 'actor id', { wildcard: 'tail' })}`
    case 'dlq':
      return `${base}.dlq`
    case 'inspect':
      return `${base}.inspect.${assertToken(addr.node, 'node id', { wildcard: 'tail' })}`
  }
}

/**
 * Whether a concrete subject matches a pattern with NATS wildcards (`*` one token, `>` the rest).
 * @internal used by the in-memory transport and by event filters.
 */
export function subjectMatches(pattern: string, concrete: string): boolean {
  if (pattern === concrete) return true
  const p = pattern.split('.')
  const c = concrete.split('.')
  for (let i = 0; i < p.length; i++) {
    const tok = p[i]
    if (tok === '>') return i < c.length
    if (i >= c.length) return false
    if (tok !== '*' && tok !== c[i]) return false
  }
  return p.length === c.length
}
