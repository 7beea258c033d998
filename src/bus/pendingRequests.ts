import { RequestTimeoutError } from './errors.ts'

/** setTimeout's largest delay; a longer one fires at once (and would re-arm every millisecond). */
const MAX_TIMER_MS = 2_147_483_647

interface Pending {
  resolve(data: Uint8Array): void
  reject(err: Error): void
  deadline: number
  subject: string
  timeoutMs: number
}

/**
 * Requests awaiting replies on one long-lived inbox, correlated by a token, with a single timer
 * for all deadlines. A timer and a stack trace per request cost about 3x in round trips/s.
 * @internal
 */
export class PendingRequests {
  private readonly pending = new Map<string, Pending>()
  private seq = 0
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY

  private readonly prefix: string

  constructor(prefix: string) {
    this.prefix = prefix
  }

  get size(): number {
    return this.pending.size
  }

  /** Registers a request; returns its reply subject and the promise of its reply. */
  add(subject: string, timeoutMs: number): { reply: string; token: string; promise: Promise<Uint8Array> } {
    const token = (++this.seq).toString(36)
    const deadline = Date.now() + timeoutMs
    let entry!: Pending
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      entry = { resolve, reject, deadline, subject, timeoutMs }
    })
    this.pending.set(token, entry)
    if (deadline < this.timerAt) this.arm(deadline)
    return { reply: `${this.prefix}.${token}`, token, promise }
  }

  /** The token of a reply subject, or undefined when it is not one of ours. */
  tokenOf(replySubject: string): string | undefined {
    return replySubject.length > this.prefix.length && replySubject.startsWith(this.prefix)
      ? replySubject.slice(this.prefix.length + 1)
      : undefined
  }

  resolve(token: string, data: Uint8Array): boolean {
    const p = this.pending.get(token)
    if (!p) return false
    this.pending.delete(token)
    p.resolve(data)
    return true
  }

  /** Rejects one request; `err` may be built from the request's subject. */
  reject(token: string, err: Error | ((subject: string) => Error)): boolean {
    const p = this.pending.get(token)
    if (!p) return false
    this.pending.delete(token)
    p.reject(typeof err === 'function' ? err(p.subject) : err)
    return true
  }

  rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    this.disarm()
  }

  private arm(at: number): void {
    this.disarm()
    this.timerAt = at
    this.timer = setTimeout(() => this.sweep(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())))
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
  }

  private sweep(): void {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const [token, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(token)
        p.reject(new RequestTimeoutError(p.subject, p.timeoutMs))
      } else if (p.deadline < next) next = p.deadline
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
  }
}
