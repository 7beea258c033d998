/**
 * A message sent to two subjects (the coordinator's `task.done`: the reply to a waiting client
 * and the broadcast event) is encoded once; every other message is encoded afresh.
 */
import { expect, it } from 'vitest'
import { createBus } from '../../src/bus/createBus.ts'
import { createMemoryTransport } from '../../src/bus/createMemoryTransport.ts'
import { decode, encode, envelope } from '../../src/bus/index.ts'
import { waitFor } from '../helpers/busFactories.ts'

it('bus - one envelope published to two subjects is encoded once and arrives whole at both', async () => {
  let encodes = 0
  const bus = createBus({
    transport: createMemoryTransport(),
    ns: 't',
    codec: {
      encode: (m) => {
        encodes++
        return encode(m)
      },
      decode,
    },
  })
  const got: string[] = []
  bus.subscribe(
    'hive.t.evt.>',
    (m, _r, subject) => void got.push(`${subject} ${m.id} ${(m.body as { note?: string }).note}`),
  )
  const same = envelope('ping', { note: 'same' }, { from: 'test' })
  const other = envelope('ping', { note: 'other' }, { from: 'test' })
  bus.publish('hive.t.evt.a', same)
  bus.publish('hive.t.evt.b', same)
  bus.publish('hive.t.evt.c', other)
  bus.publish('hive.t.evt.d', same) // not the last one encoded any more: encoded again
  await waitFor(() => got.length === 4)
  expect(encodes).toBe(3)
  expect(got.sort()).toEqual([
    `hive.t.evt.a ${same.id} same`,
    `hive.t.evt.b ${same.id} same`,
    `hive.t.evt.c ${other.id} other`,
    `hive.t.evt.d ${same.id} same`,
  ])
  await bus.close()
})
