import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { type SnapshotStore, safeKey } from './snapshotStore.ts'

/**
 * Snapshots in a JetStream KV bucket (`hive_<ns>_snapshots`), so any node can resume an actor
 * another node was running. Values are JSON (snapshots hold task outputs: plain data).
 * nats-server 2.9 has no per-key TTL: finished runs are deleted explicitly.
 */
export async function createKvSnapshotStore(nc: NatsConnection, ns: string): Promise<SnapshotStore> {
  const kv = await new Kvm(nc).create(`hive_${ns}_snapshots`, { history: 1 })
  const enc = new TextEncoder()
  const dec = new TextDecoder()
  return {
    async get(key) {
      const e = await kv.get(safeKey(key))
      if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined
      return JSON.parse(dec.decode(e.value))
    },
    async put(key, value) {
      await kv.put(safeKey(key), enc.encode(JSON.stringify(value)))
    },
    async delete(key) {
      await kv.delete(safeKey(key))
    },
    async keys() {
      const out: string[] = []
      for await (const k of await kv.keys()) out.push(k)
      return out
    },
  }
}
