/**
 * Guards for the NatsBus hot-path shortcuts taken for `bench/bus.ts`: the subject of a message
 * on a literal subscription is the subscription's own (not decoded per message), and the subject
 * of a request is kept by PendingRequests alone (no second map) for the no-responders error.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { envelope, NoRespondersError } from '../../src/bus/index.ts'
import { freshNs, natsBusFactory, waitFor } from '../helpers/busFactories.ts'
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts'

let server: NatsServer
beforeAll(async () => {
  server = await startNatsServer({ jetstream: false })
})
const factory = natsBusFactory(() => server)
afterAll(() => factory.closeAll())

const ping = (note: string) => envelope('ping', { note }, { from: 'test' })

it('NatsBus - a no-responders error names the subject that was requested', async () => {
  const ns = freshNs()
  const bus = await factory.make(ns)
  const subj = `hive.${ns}.svc.nobody`
  const err = await bus.request(subj, ping('?'), { timeoutMs: 2000 }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(NoRespondersError)
  expect((err as NoRespondersError).data).toEqual({ subject: subj })
})

it('NatsBus - handlers get each message its own subject, on literal and on wildcard subscriptions', async () => {
  const ns = freshNs()
  const bus = await factory.make(ns)
  const seen: string[] = []
  bus.subscribe(`hive.${ns}.evt.a.1.x`, (_m, _r, subject) => void seen.push(`literal ${subject}`))
  bus.subscribe(`hive.${ns}.evt.a.*.x`, (_m, _r, subject) => void seen.push(`star ${subject}`))
  bus.subscribe(`hive.${ns}.evt.>`, (_m, _r, subject) => void seen.push(`tail ${subject}`))
  await bus.flush()
  bus.publish(`hive.${ns}.evt.a.1.x`, ping('1'))
  bus.publish(`hive.${ns}.evt.a.2.x`, ping('2'))
  await waitFor(() => seen.length === 5)
  expect(seen.sort()).toEqual(
    [
      `literal hive.${ns}.evt.a.1.x`,
      `star hive.${ns}.evt.a.1.x`,
      `star hive.${ns}.evt.a.2.x`,
      `tail hive.${ns}.evt.a.1.x`,
      `tail hive.${ns}.evt.a.2.x`,
    ].sort(),
  )
})
