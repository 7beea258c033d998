import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createFileSnapshotStore } from '../../src/store/createFileSnapshotStore.ts'
import {
  coalescingWriter,
  createMemorySnapshotStore,
  type SnapshotStore,
} from '../../src/store/snapshotStore.ts'

describe('snapshot stores', () => {
  it('snapshot stores - files and memory keep the latest value per key, and delete', async () => {
    for (const store of [
      createMemorySnapshotStore(),
      createFileSnapshotStore(mkdtempSync(join(tmpdir(), 'snap-'))),
    ]) {
      await store.put('workflow.a', { n: 1 })
      await store.put('workflow.a', { n: 2 })
      await store.put('workflow/b c', { n: 3 })
      expect(await store.get('workflow.a')).toEqual({ n: 2 })
      expect(await store.get('workflow/b c')).toEqual({ n: 3 })
      expect(await store.get('nope')).toBeUndefined()
      await store.delete('workflow.a')
      expect(await store.get('workflow.a')).toBeUndefined()
      expect((await store.keys()).length).toBe(1)
    }
  })

  it('snapshot stores - the coalescing writer writes only the latest of a burst, in order', async () => {
    const writes: unknown[] = []
    const inner = createMemorySnapshotStore()
    const slow: SnapshotStore = {
      ...inner,
      async put(k, v) {
        await new Promise((r) => setTimeout(r, 5))
        writes.push(v)
        await inner.put(k, v)
      },
    }
    const w = coalescingWriter(slow)
    for (let i = 1; i <= 5; i++) void w.save('k', i)
    await w.flush()
    expect(writes[writes.length - 1]).toBe(5)
    expect(writes.length).toBeLessThan(5)
    expect(await inner.get('k')).toBe(5)
  })

  // Regression: after one failed write the writer never wrote that key again.
  it('snapshot stores - a failed write leaves the value pending, and the next save writes it', async () => {
    const inner = createMemorySnapshotStore()
    let fail = true
    const flaky: SnapshotStore = {
      ...inner,
      async put(k, v) {
        if (fail) throw new Error('server down')
        await inner.put(k, v)
      },
    }
    const w = coalescingWriter(flaky)
    await expect(w.save('k', 1)).rejects.toThrow('server down')
    fail = false
    await w.save('k', 2)
    expect(await inner.get('k')).toBe(2)
    await expect(w.flush()).resolves.toBeUndefined()
  })
})
