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
  return tokensMatch(pattern.split('.'), concrete)
}

/**
 * {@link subjectMatches} with the pattern already split into tokens; walks the concrete subject
 * without splitting it (this runs for every message on the in-memory bus).
 * @internal
 */
export function tokensMatch(p: readonly string[], concrete: string): boolean {
  let pos = 0
  for (let i = 0; i < p.length; i++) {
    if (pos > concrete.length) return false
    const tok = p[i]
    if (tok === '>') return pos < concrete.length
    const dot = concrete.indexOf('.', pos)
    const end = dot < 0 ? concrete.length : dot
    if (tok !== '*' && (end - pos !== tok.length || !concrete.startsWith(tok, pos))) return false
    if (tok === '*' && end === pos) return false
    pos = end + 1
  }
  return pos > concrete.length
}
