import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger, forActor, withCorr } from '../../src/actors/createLogger.ts'

function capture() {
  const out = new PassThrough()
  const lines: string[] = []
  out.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)))
  return { out, lines }
}

describe('createLogger', () => {
  it('createLogger - every JSON line carries the actor id and the correlation id', async () => {
    const { out, lines } = capture()
    const log = createLogger({ actor: 'node-1', pretty: false, destination: out })
    log.info('starting')
    withCorr(forActor(log, 'agent.a1'), 'task-42').info({ attempt: 2 }, 'assigned')
    await new Promise((r) => setImmediate(r))
    const [first, second] = lines.map((l) => JSON.parse(l))
    expect(first).toMatchObject({ actor: 'node-1', corr: null, msg: 'starting' })
    expect(second).toMatchObject({ actor: 'agent.a1', corr: 'task-42', attempt: 2, msg: 'assigned' })
  })

  it('createLogger - pretty output is human-readable, not JSON', async () => {
    const { out, lines } = capture()
    const log = createLogger({ actor: 'node-1', pretty: true, destination: out })
    log.warn('disk almost full')
    await new Promise((r) => setTimeout(r, 20))
    expect(lines.join('\n')).toContain('disk almost full')
    expect(() => JSON.parse(lines[0])).toThrow()
  })
})
