import { existsSync } from 'node:fs'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { startNatsServer, stopAllNatsServers } from './natsServer.ts'

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('natsServer helper', () => {
  it('natsServer - refuses loudly, with the install command, when the binary is missing', async () => {
    await expect(startNatsServer({ bin: '/nonexistent/nats-server' })).rejects.toThrow(
      /NOT FOUND.*apt-get update && apt-get install -y nats-server/,
    )
  })

  it('natsServer - restarts on the same port with the same JetStream store', async () => {
    const server = await startNatsServer()
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
    const nc = await connect({ servers: server.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'] })
    await nc.close()
    const firstPid = server.pid
    await server.restart()
    expect(server.pid).not.toBe(firstPid)
    expect(alive(firstPid)).toBe(false)
    const again = await connect({ servers: server.url })
    const info = await (await jetstreamManager(again)).streams.info('KEEP')
    expect(info.config.subjects).toEqual(['keep.>'])
    await again.close()
    await server.stop()
    expect(alive(server.pid)).toBe(false)
  })

  it('natsServer - stopAllNatsServers kills every server and removes its dir', async () => {
    const servers = await Promise.all([
      startNatsServer({ jetstream: false }),
      startNatsServer({ jetstream: false }),
    ])
    expect(servers[0].port).not.toBe(servers[1].port)
    await stopAllNatsServers()
    for (const s of servers) {
      expect(alive(s.pid)).toBe(false)
      expect(existsSync(s.dir)).toBe(false)
    }
  })
})
