import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNatsBus, envelope } from '../../src/bus/index.ts'
import { freshNs } from '../helpers/busFactories.ts'
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts'

describe('NatsBus - connection options pass through', () => {
  let userServer: NatsServer
  let tokenServer: NatsServer
  beforeAll(async () => {
    userServer = await startNatsServer({ jetstream: false, args: ['--user', 'hive', '--pass', 's3cret'] })
    tokenServer = await startNatsServer({ jetstream: false, args: ['--auth', 'tok-123'] })
  })
  afterAll(async () => {
    await userServer?.stop()
    await tokenServer?.stop()
  })

  async function roundTrip(bus: Awaited<ReturnType<typeof createNatsBus>>) {
    const subj = `hive.${bus.ns}.svc.echo`
    bus.subscribe(subj, (msg, reply) =>
      reply?.(envelope('pong', { note: 'hi' }, { from: 't', corr: msg.id })),
    )
    await bus.flush()
    return bus.request(subj, envelope('ping', {}, { from: 't' }), { timeoutMs: 2000 })
  }

  it('NatsBus - user and password reach the server', async () => {
    const bus = await createNatsBus({ servers: userServer.url, user: 'hive', pass: 's3cret', ns: freshNs() })
    try {
      expect((await roundTrip(bus)).type).toBe('pong')
    } finally {
      await bus.close()
    }
  })

  it('NatsBus - a wrong password is refused with an authorization error', async () => {
    await expect(
      createNatsBus({
        servers: userServer.url,
        user: 'hive',
        pass: 'nope',
        ns: freshNs(),
        maxReconnectAttempts: 0,
      }),
    ).rejects.toThrow(/auth/i)
  })

  it('NatsBus - a token reaches the server; a list of servers is accepted', async () => {
    const bus = await createNatsBus({
      servers: `${tokenServer.url},${tokenServer.url}`,
      token: 'tok-123',
      ns: freshNs(),
    })
    try {
      expect((await roundTrip(bus)).type).toBe('pong')
    } finally {
      await bus.close()
    }
  })
})
