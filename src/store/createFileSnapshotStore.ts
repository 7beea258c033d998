import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type SnapshotStore, safeKey } from './snapshotStore.ts'

/** Snapshots as JSON files in a directory (`.hive/` by default); each write is atomic (temp file + rename). */
export function createFileSnapshotStore(dir: string): SnapshotStore {
  const ready = mkdir(dir, { recursive: true })
  const path = (key: string) => join(dir, `${safeKey(key)}.json`)
  let seq = 0
  return {
    async get(key) {
      await ready
      try {
        return JSON.parse(await readFile(path(key), 'utf8'))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async put(key, value) {
      await ready
      const tmp = `${path(key)}.${process.pid}.${++seq}.tmp`
      await writeFile(tmp, JSON.stringify(value))
      await rename(tmp, path(key))
    },
    async delete(key) {
      await rm(path(key), { force: true })
    },
    async keys() {
      await ready
      return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5))
    },
  }
}
