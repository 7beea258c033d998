/**
 * `hive run` on workflow files that do not validate: exit 2, one located line per problem
 * (`bad.yaml:LINE:COL: …`), nothing run and no run state written. And a valid file with no hive to
 * run it on: exit 3.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshNs } from '../helpers/busFactories.ts'
import { runHive } from '../helpers/hiveProcess.ts'
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts'
import { readLog, step, tempDir, workflowYaml, writeWorkflow } from './workflowRunKit.ts'

const HEADER = [
  'workflow:',
  '  id: bad',
  '  name: bad',
  '  agents:',
  '    - { id: sh-1, type: shell, capabilities: [shell], max_tasks: 2, exec: ["sh", "-c"] }',
  '  tasks:',
]
/** A task that would log a line if it ever ran. */
const task = (id: string, extra: string[] = []) => [
  `    - task_id: ${id}`,
  '      capabilities: [shell]',
  `      input: { log: "\${{ vars.logdir }}" }`,
  ...extra.map((l) => `      ${l}`),
  `      run: echo ${id} >> "$(printf %s "$HIVE_INPUT" | sed -n 's/.*"log":"\\([^"]*\\)".*/\\1/p')/log"`,
]

const CASES: { name: string; lines: string[]; want: RegExp }[] = [
  {
    name: 'a dependency cycle (named)',
    // depends_on of a (line 10) names c, of b (line 15) a, of c (line 20) b.
    lines: [
      ...HEADER,
      ...task('a', ['depends_on: c']),
      ...task('b', ['depends_on: a']),
      ...task('c', ['depends_on: b']),
      ...task('free'),
    ],
    want: /^ {2}bad\.yaml:(10|15|20):19: dependency cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)\b/m,
  },
  {
    name: 'an unknown dependency',
    lines: [...HEADER, ...task('a'), ...task('b', ['depends_on: [a, nope]'])],
    want: /^ {2}bad\.yaml:14:23: task `b` depends on unknown task `nope`/m,
  },
  {
    name: 'an unknown key',
    lines: [...HEADER, ...task('a', ['retries: 3'])],
    want: /^ {2}bad\.yaml:10:7: unknown key `retries`/m,
  },
]

describe('hive run - invalid workflow files', () => {
  for (const c of CASES) {
    it.concurrent(`hive run - ${c.name}: exit 2, bad.yaml:LINE:COL, nothing runs, no state`, async () => {
      const dir = tempDir('invalid')
      const logdir = tempDir('invalid-log')
      writeWorkflow(dir, 'bad.yaml', `${c.lines.join('\n')}\n`)
      const state = join(dir, 'state')
      // Relative file name, as a user types it; the message names it the same way.
      const run = await runHive(['run', 'bad.yaml', '--state-dir', state, '--set', `logdir=${logdir}`], {
        cwd: dir,
      })
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toMatch(c.want)
      expect(run.stdout).toBe('')
      expect(readLog(logdir)).toEqual([])
      expect(existsSync(state)).toBe(false)
      // Checked before any connection: an unreachable NATS URL changes nothing.
      const overNats = await runHive(['run', 'bad.yaml', '--nats', 'nats://127.0.0.1:1', '-o', 'json'], {
        cwd: dir,
      })
      expect(overNats.code, overNats.stderr).toBe(2)
      expect(overNats.stderr).toMatch(c.want)
    }, 60_000)
  }
})

describe('hive run - no hive to run on', () => {
  let server: NatsServer
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false })
  })
  afterAll(async () => {
    await server?.stop()
  })

  const valid = () =>
    writeWorkflow(tempDir('valid'), 'ok.yaml', workflowYaml({ id: 'ok' }, [step('a', [], {}, ["echo '{}'"])]))

  it.concurrent('hive run - exits 3 when NATS cannot be reached', async () => {
    const run = await runHive(['run', valid(), '--nats', 'nats://127.0.0.1:1', '-o', 'json'])
    expect(run.code, run.stderr).toBe(3)
    expect(run.stderr).toContain('cannot reach NATS at nats://127.0.0.1:1')
  }, 60_000)

  it.concurrent('hive run - exits 3 at once when no coordinator serves the namespace (it used to wait forever)', async () => {
    const started = Date.now()
    const run = await runHive([
      'run',
      valid(),
      '--nats',
      server.url,
      '--ns',
      freshNs('nocoord'),
      '-o',
      'json',
    ])
    expect(run.code, run.stderr).toBe(3)
    expect(run.stderr).toContain('no coordinator answers')
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 60_000)
})
