/**
 * Where durable actors keep their persisted snapshots: JetStream KV over NATS, a directory of
 * JSON files (or memory) on the embedded bus.
 */
export interface SnapshotStore {
  get(key: string): Promise<unknown | undefined>
  put(key: string, value: unknown): Promise<void>
  delete(key: string): Promise<void>
  keys(): Promise<string[]>
  close?(): Promise<void>
}

/** Keys are subject-like tokens: `<kind>.<id>`; anything else is escaped. */
export function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_\-=.]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export function createMemorySnapshotStore(): SnapshotStore {
  const data = new Map<string, string>()
  return {
    async get(key) {
      const v = data.get(key)
      return v === undefined ? undefined : JSON.parse(v)
    },
    async put(key, value) {
      data.set(key, JSON.stringify(value))
    },
    async delete(key) {
      data.delete(key)
    },
    async keys() {
      return [...data.keys()]
    },
  }
}

/**
 * Serialises writes per key and coalesces them: when a snapshot is saved after every transition,
 * only the latest pending one needs writing, and writes never land out of order.
 */
export function coalescingWriter(store: SnapshotStore) {
  const pending = new Map<string, { value: unknown; running: Promise<void> | undefined; dirty: boolean }>()
  const flushKey = (key: string): Promise<void> => {
    const p = pending.get(key)!
    if (p.running) return p.running
    p.running = (async () => {
      try {
        while (p.dirty) {
          p.dirty = false
          await store.put(key, p.value)
        }
      } catch (err) {
        // The value stays pending: the next save (or flush) writes it again.
        p.dirty = true
        throw err
      } finally {
        p.running = undefined
      }
    })()
    return p.running
  }
  return {
    save(key: string, value: unknown): Promise<void> {
      const p = pending.get(key) ?? { value, running: undefined, dirty: false }
      p.value = value
      p.dirty = true
      pending.set(key, p)
      return flushKey(key)
    },
    async flush(): Promise<void> {
      await Promise.all([...pending.keys()].map(flushKey))
    },
  }
}
