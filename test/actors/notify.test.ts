import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { notify } from '../../src/actors/notify.ts'

describe('notify', () => {
  it('notify - a command gets the notification on stdin and in HIVE_NOTIFICATION, a URL gets a JSON POST', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-'))
    const bodies: unknown[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        bodies.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) })
        res.end('ok')
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    try {
      const payload = { workflow_id: 'wf', status: 'success', note: "it's $(not) run" }
      await notify(
        [
          {
            command: [
              'sh',
              '-c',
              `cat > ${dir}/stdin.json; printf %s "$HIVE_NOTIFICATION" > ${dir}/env.json`,
            ],
          },
          { url: `http://127.0.0.1:${port}/hook` },
        ],
        payload,
        createLogger({ level: 'silent' }),
      )
      expect(JSON.parse(readFileSync(join(dir, 'stdin.json'), 'utf8'))).toEqual(payload)
      expect(JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8'))).toEqual(payload)
      expect(bodies).toEqual([{ method: 'POST', type: 'application/json', body: payload }])
    } finally {
      server.close()
    }
  })

  it('notify - a failing target is logged, never thrown, and the others still run', async () => {
    const lines: string[] = []
    const log = createLogger({
      level: 'warn',
      pretty: false,
      destination: { write: (l: string) => lines.push(l) } as never,
    })
    const dir = mkdtempSync(join(tmpdir(), 'notify-'))
    await notify(
      [
        { command: ['sh', '-c', 'exit 3'] },
        { url: 'http://127.0.0.1:1/nothing-listens' },
        { command: ['sh', '-c', `touch ${dir}/ran`] },
      ],
      { x: 1 },
      log,
    )
    expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe('')
    expect(lines.filter((l) => l.includes('notification failed'))).toHaveLength(2)
  })
})
