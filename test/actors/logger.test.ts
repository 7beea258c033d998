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
    expect(first).toMatchObject({ node: 'node-1', actor: 'node-1', corr: null, msg: 'starting' })
    expect(second).toMatchObject({
      node: 'node-1',
      actor: 'agent.a1',
      corr: 'task-42',
      attempt: 2,
      msg: 'assigned',
    })
    // Each key once: a child's bindings do not repeat its parent's keys on the line.
    for (const line of lines) {
      for (const key of ['node', 'actor', 'corr']) expect(line.split(`"${key}":`)).toHaveLength(2)
    }
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
