import { afterEach, describe, expect, it } from 'vitest'
import { type AnyEnvelope, type BusStatus, createNatsBus, envelope } from '../../src/bus/index.ts'
import { freshNs, natsBusFactory, waitFor } from '../helpers/busFactories.ts'
import { startNatsCluster, startNatsServer, useNatsServer } from '../helpers/natsServer.ts'
import { busContract } from './busContract.ts'

const nats = useNatsServer()

busContract('NatsBus', natsBusFactory(nats))

describe('NatsBus faults', () => {
  const factory = natsBusFactory(nats)
  afterEach(() => factory.closeAll())

  const ping = (note: string) => envelope('ping', { note }, { from: 'test' })

  it('NatsBus - delivers again after its server restarts on the same port, reporting disconnect and reconnect', async () => {
    const own = await startNatsServer()
    const ns = freshNs()
    const bus = await natsBusFactory(own).make(ns)
    const statuses: BusStatus[] = []
    bus.onStatus((s) => statuses.push(s))
    const got: string[] = []
    bus.subscribe(`hive.${ns}.x`, (m) => void got.push((m.type === 'ping' && m.body.note) || ''))
    bus.publish(`hive.${ns}.x`, ping('before'))
    await waitFor(() => got.length === 1)

    await own.stop()
    await waitFor(() => statuses.some((s) => s.type === 'disconnect'), { message: 'a disconnect status' })
    await own.restart()
    await waitFor(() => statuses.some((s) => s.type === 'reconnect'), { message: 'a reconnect status' })

    bus.publish(`hive.${ns}.x`, ping('after'))
    await waitFor(() => got.includes('after'))
    bus.subscribe(`hive.${ns}.svc`, (m, reply) => reply?.(m))
    await expect(bus.request(`hive.${ns}.svc`, ping('rt'), { timeoutMs: 2000 })).resolves.toMatchObject({
      body: { note: 'rt' },
    })
    expect(got).toEqual(['before', 'after'])
    await bus.close()
    await own.stop()
  })

  it('NatsBus - reports a subscription the server refuses as an error status', async () => {
    const guarded = await startNatsServer({
      jetstream: false,
      config: `authorization { users = [ { user: "u", password: "p", permissions: { subscribe: { deny: ["hive.*.secret"] } } } ] }`,
    })
    const ns = freshNs()
    const bus = await createNatsBus({ servers: guarded.url, user: 'u', pass: 'p', ns, timeout: 3000 })
    const errors: string[] = []
    bus.onStatus((s) => {
      if (s.type === 'error') errors.push(s.error)
    })
    bus.subscribe(`hive.${ns}.secret`, () => {})
    await waitFor(() => errors.some((e) => e.includes(`subscription hive.${ns}.secret`)), {
      message: 'an error status',
    })
    await bus.close()
    await guarded.stop()
  })

  it('NatsBus - fails over to another cluster member when its server is killed -9, and keeps delivering', async () => {
    const cluster = await startNatsCluster(3)
    const ns = freshNs()
    const sub = await createNatsBus({ servers: cluster.urls, ns, timeout: 3000 })
    const at = cluster.servers.findIndex((s) => sub.nc.getServer() === `127.0.0.1:${s.port}`)
    expect(at).toBeGreaterThanOrEqual(0)
    const other = cluster.servers[(at + 1) % 3]
    const pub = await createNatsBus({ servers: other.url, ns, timeout: 3000 })
    const statuses: BusStatus[] = []
    sub.onStatus((s) => statuses.push(s))
    const got: AnyEnvelope[] = []
    sub.subscribe(`hive.${ns}.fan`, (m) => void got.push(m))
    await sub.flush()
    // Interest crosses the route asynchronously: publish until the first one lands.
    await waitFor(
      () => {
        pub.publish(`hive.${ns}.fan`, ping('warm'))
        return got.length > 0
      },
      { intervalMs: 20 },
    )

    cluster.servers[at].kill9()
    await waitFor(() => statuses.some((s) => s.type === 'reconnect'), {
      message: 'failover',
      timeoutMs: 10_000,
    })
    expect(sub.nc.getServer()).not.toBe(`127.0.0.1:${cluster.servers[at].port}`)

    got.length = 0
    await waitFor(
      () => {
        pub.publish(`hive.${ns}.fan`, ping('probe'))
        return got.length > 0
      },
      { intervalMs: 20 },
    )
    const before = got.length
    for (let i = 0; i < 100; i++) pub.publish(`hive.${ns}.fan`, ping(String(i)))
    await waitFor(
      () => got.length - before >= 100 && got.some((m) => m.type === 'ping' && m.body.note === '99'),
    )
    const tail = got
      .slice(before)
      .map((m) => (m.type === 'ping' ? m.body.note : m.type))
      .filter((n) => n !== 'probe')
    expect(tail).toEqual(Array.from({ length: 100 }, (_, i) => String(i)))
    await Promise.all([sub.close(), pub.close()])
    await cluster.stop()
  })
})
