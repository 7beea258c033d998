/**
 * Bad input at every door of a running hive on a real nats-server: malformed bytes on every
 * mailbox and service subject, invalid tasks through the client and the CLI, unknown ids, and a
 * hive.yaml with a typo. Each is refused with a typed error or a one-line message naming what is
 * wrong, and the hive goes on working.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { startWorkflowRun, type WorkflowRunHandle } from '../../src/actors/startWorkflowRun.ts'
import { createHive, type Hive } from '../../src/api/createHive.ts'
import {
  type AnyEnvelope,
  type Bus,
  createNatsBus,
  encode,
  MalformedMessageError,
  PROTOCOL_VERSION,
  subject,
  VersionMismatchError,
} from '../../src/bus/index.ts'
import { createMemorySnapshotStore } from '../../src/store/snapshotStore.ts'
import { parseWorkflow } from '../../src/workflow/loadWorkflow.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { runHive } from '../helpers/hiveProcess.ts'
import { type NatsServer, startNatsServer } from '../helpers/natsServer.ts'

const log = createLogger({ level: 'silent' })
let seq = 0

/** An envelope as raw bytes, fields given as they are (no checks on the way out). */
function rawEnvelope(fields: Record<string, unknown>): Uint8Array {
  return encode({ v: PROTOCOL_VERSION, id: `bad-${++seq}`, from: 'test', ts: Date.now(), ...fields } as never)
}

interface BadMessage {
  kind: string
  bytes: Uint8Array
  error: typeof MalformedMessageError | typeof VersionMismatchError
  reason: RegExp
}

/** The four kinds of bad message; `invalid` is a real message type of `subj` with a body that breaks its schema. */
function badMessages(invalid: { type: string; body: unknown; reason: RegExp }): BadMessage[] {
  return [
    {
      kind: 'random bytes',
      // 0xc1 is the one byte MessagePack never uses: these never decode.
      bytes: Uint8Array.from([0xc1, ...randomBytes(40)]),
      error: MalformedMessageError,
      reason: /do not decode as MessagePack/,
    },
    {
      kind: 'invalid body',
      bytes: rawEnvelope({ type: invalid.type, body: invalid.body }),
      error: MalformedMessageError,
      reason: invalid.reason,
    },
    {
      kind: 'unknown type',
      bytes: rawEnvelope({ type: 'task.explode', body: {} }),
      error: MalformedMessageError,
      reason: /unknown message type "task\.explode"/,
    },
    {
      kind: 'version mismatch',
      bytes: rawEnvelope({ v: PROTOCOL_VERSION + 1, type: 'ping', body: {} }),
      error: VersionMismatchError,
      reason: /protocol version 2 is not supported/,
    },
  ]
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

describe('badInput - a running hive refuses bad input and keeps working', () => {
  let server: NatsServer
  let hive: Hive
  let probe: Bus
  let ns: string
  let run: WorkflowRunHandle
  const dlq: AnyEnvelope[] = []
  const cli = (...args: string[]) => runHive([...args, '--nats', server.url, '--ns', ns])
  let cliRuns: ReturnType<typeof startCliRuns>

  function startCliRuns() {
    const dir = mkdtempSync(join(tmpdir(), 'hive-bad-'))
    const file = join(dir, 'tasks.jsonl')
    writeFileSync(
      file,
      [
        '{"task_id": "file-1", "task_type": "work", "required_capabilities": ["work"]}',
        '{"task_id": "file-2", "task_type": "work", "required_capabilities": ["work"]}',
        '{"task_id": "file-3", "task_type": "work", "required_capabilities": ["work"], "priority": 11}',
        '{"task_id": "file-4", "task_type": "work", "required_capabilities": ["work"]}',
        '',
      ].join('\n'),
    )
    const submits = Promise.all([
      cli('task', 'submit', '--id', 'flag-1', '--capabilities', ''),
      cli('task', 'submit', '--id', 'flag-2', '--capabilities', 'work', '--priority', '11'),
      cli('task', 'submit', '--id', 'flag-3', '--capabilities', 'work', '--timeout', '-1'),
      cli('task', 'submit', '--file', file),
    ]).then(([noCaps, prio, timeout, fromFile]) => ({ noCaps, prio, timeout, fromFile, file }))
    writeFileSync(
      join(dir, 'top.yaml'),
      ['strategy: least_loaded', 'heartbeat_intervl_ms: 500', 'agents: []', ''].join('\n'),
    )
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'hive:',
        '  strategy: least_loaded',
        '  agents:',
        '    - id: w',
        '      type: worker',
        '      capabilities: [work]',
        '      max_taks: 2',
        '      exec: ["true"]',
        '    - id: v',
        '      type: worker',
        '      exec: ["true"]',
        '      capabilites: [work]',
        '',
      ].join('\n'),
    )
    const up = (f: string) => runHive(['up', '--config', f], { cwd: dir })
    return {
      submits,
      // After the submits have exited: anything they submitted would be listed.
      list: submits.then(() => cli('task', 'list', '-o', 'json')),
      status: cli('agent', 'status', 'nope'),
      drain: cli('agent', 'drain', 'nope'),
      top: up('top.yaml'),
      bad: up('bad.yaml'),
    }
  }

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false })
    ns = freshNs('bad')
    hive = await createHive({
      ns,
      nats: { servers: server.url },
      log,
      heartbeatIntervalMs: 300,
      agents: ['w1', 'w2'].map((id) => ({
        id,
        type: 'worker',
        capabilities: ['work'],
        max_tasks: 2,
        function: async (task: { input?: unknown }) => {
          await new Promise((r) => setTimeout(r, 30))
          return task.input ?? null
        },
      })),
    })
    // A workflow run waiting at an approval gate: its mailbox is live for the whole file.
    const def = parseWorkflow(
      'workflow:\n  id: gate\n  tasks:\n    - task_id: wait-here\n      capabilities: [work]\n      approval: true\n',
      'gate.yaml',
    )
    run = await startWorkflowRun({
      def,
      bus: hive.bus,
      client: hive.client,
      store: createMemorySnapshotStore(),
      log,
    })
    probe = await createNatsBus({ servers: server.url, ns, node: 'probe' })
    probe.subscribe(subject(ns, { kind: 'dlq' }), (msg) => {
      dlq.push(msg)
    })
    await probe.flush()
    await waitFor(async () => (await hive.client.listAgents()).length === 2, { message: 'agents registered' })
    // Each `hive` process takes a second or two to start: run them all at once, check them in the tests.
    cliRuns = startCliRuns()
  })
  afterAll(async () => {
    run?.stop()
    await probe?.close()
    await hive?.stop()
    await server?.stop()
  })

  const submitMany = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      hive.client.submit(
        { task_id: `${prefix}-${i}`, task_type: 'work', required_capabilities: ['work'], input: i },
        { wait: true, timeoutMs: 20_000 },
      ),
    )

  it('bus boundary - malformed messages on every mailbox and service subject are dead-lettered with the reason, requesters get typed errors, and no task is lost', async () => {
    const targets = [
      {
        name: 'coordinator service',
        subj: subject(ns, { kind: 'service', service: 'coordinator' }),
        invalid: {
          type: 'task.submit',
          body: { task_type: 'x', required_capabilities: [] },
          reason: /invalid task\.submit body: required_capabilities: a task needs at least one/,
        },
      },
      {
        name: 'agent mailbox',
        subj: subject(ns, { kind: 'mailbox', actor: 'agent', id: 'w1' }),
        invalid: {
          type: 'task.assign',
          body: { task: { task_type: 'x', required_capabilities: ['work'], task_id: 't' }, attempt: 0 },
          reason: /invalid task\.assign body: attempt:/,
        },
      },
      {
        name: 'heartbeat subject',
        subj: subject(ns, { kind: 'heartbeat', id: 'w1' }),
        invalid: {
          type: 'agent.heartbeat',
          body: { agent_id: 'w1', state: 'idle', load: -1 },
          reason: /invalid agent\.heartbeat body: load:/,
        },
      },
      {
        name: 'workflow mailbox',
        subj: subject(ns, { kind: 'mailbox', actor: 'workflow', id: run.runId }),
        invalid: {
          type: 'workflow.approve',
          body: { run_id: run.runId },
          reason: /invalid workflow\.approve body: task_id:/,
        },
      },
    ]
    const statsBefore = hive.bus.stats()
    const before = submitMany('before', 10)

    const sent: { target: string; subj: string; m: BadMessage }[] = []
    for (const t of targets) {
      for (const m of badMessages(t.invalid)) {
        probe.publishRaw(t.subj, m.bytes)
        sent.push({ target: t.name, subj: t.subj, m })
        // The same kind as a request: a fresh copy (new id) so its dead letter can be told apart.
        const again = badMessages(t.invalid).find((x) => x.kind === m.kind) as BadMessage
        const err = await probe.requestRaw(t.subj, again.bytes, { timeoutMs: 3000 }).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err, `${t.name} / ${m.kind} request`).toBeInstanceOf(m.error)
        expect((err as Error).message, `${t.name} / ${m.kind} request`).toMatch(m.reason)
        sent.push({ target: t.name, subj: t.subj, m: again })
      }
    }
    const after = submitMany('after', 10)

    await waitFor(() => dlq.length >= targets.length * 8, {
      message: `${targets.length * 8} dead letters`,
    })
    for (const { target, subj, m } of sent) {
      const letters = dlq.filter(
        (d) => d.type === 'dead.letter' && d.body.subject === subj && sameBytes(d.body.bytes, m.bytes),
      )
      expect(letters, `${target} / ${m.kind}: one dead letter`).toHaveLength(1)
      const body = letters[0].body as { reason: string; code: string }
      expect(body.reason, `${target} / ${m.kind}`).toMatch(m.reason)
      expect(body.code).toBe(m.error === VersionMismatchError ? 'VERSION_MISMATCH' : 'MALFORMED_MESSAGE')
    }
    const stats = hive.bus.stats()
    expect(stats.malformed - statsBefore.malformed).toBe(targets.length * 6)
    expect(stats.versionMismatch - statsBefore.versionMismatch).toBe(targets.length * 2)

    const records = await Promise.all([...before, ...after])
    expect(records.map((r) => r.status)).toEqual(Array(20).fill('success'))
    expect(new Set(records.map((r) => r.task_id)).size).toBe(20)
    // The workflow run is still waiting at its gate, untouched by the garbage in its mailbox.
    expect(run.summary().status).not.toBe('failed')
  })

  it('client submit - an invalid task is refused with a typed error naming the field', async () => {
    const cases = [
      { spec: { required_capabilities: [] as string[] }, field: /required_capabilities/ },
      { spec: { required_capabilities: ['work'], priority: 11 }, field: /priority/ },
      { spec: { required_capabilities: ['work'], timeout: -1 }, field: /timeout/ },
    ]
    for (const c of cases) {
      const task = { task_type: 'work', ...c.spec }
      await expect(hive.client.submit(task)).rejects.toSatisfy(
        (e: unknown) => e instanceof MalformedMessageError && c.field.test((e as Error).message),
      )
      await expect(hive.client.submit(task, { wait: true, timeoutMs: 5000 })).rejects.toSatisfy(
        (e: unknown) => e instanceof MalformedMessageError && c.field.test((e as Error).message),
      )
    }
    expect((await Promise.all(submitMany('client-ok', 2))).every((r) => r.status === 'success')).toBe(true)
  })

  it('cli task submit - invalid flags and a task file with one bad line exit 2 naming the field or file:line, submitting nothing', async () => {
    const { noCaps, prio, timeout, fromFile, file } = await cliRuns.submits
    expect(noCaps.code, noCaps.stderr).toBe(2)
    expect(noCaps.stderr).toMatch(/capabilities/)
    expect(prio.code, prio.stderr).toBe(2)
    expect(prio.stderr).toMatch(/priority: .*<=10/)
    expect(timeout.code, timeout.stderr).toBe(2)
    expect(timeout.stderr).toMatch(/timeout: .*>0/)
    expect(fromFile.code, fromFile.stderr).toBe(2)
    expect(fromFile.stderr).toContain(`${file}:3: invalid task: priority`)
    expect(fromFile.stderr).not.toContain(`${file}:1`)
    expect(fromFile.stderr).toMatch(/nothing was submitted/)

    const list = await cliRuns.list
    expect(list.code, list.stderr).toBe(0)
    const ids = (JSON.parse(list.stdout) as { task_id: string }[]).map((t) => t.task_id)
    expect(ids.length).toBeGreaterThan(0)
    expect(ids.filter((id) => /^(file|flag)-/.test(id))).toEqual([])
  })

  it('cli agent - status and drain of an unknown agent exit non-zero with "unknown agent", and the hive keeps running', async () => {
    const [status, drain] = await Promise.all([cliRuns.status, cliRuns.drain])
    for (const r of [status, drain]) {
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/unknown agent "nope"/)
    }
    await expect(hive.client.agentStatus('nope')).rejects.toMatchObject({
      name: 'UnknownAgentError',
      code: 'UNKNOWN_AGENT',
    })
    const agents = await hive.client.listAgents()
    expect(agents.map((a) => [a.agent_id, a.state]).sort()).toEqual([
      ['w1', 'alive'],
      ['w2', 'alive'],
    ])
    expect((await Promise.all(submitMany('agent-ok', 2))).every((r) => r.status === 'success')).toBe(true)
  })

  it('client status - an unknown task id rejects with UnknownTaskError', async () => {
    await expect(hive.client.status('nope')).rejects.toMatchObject({
      name: 'UnknownTaskError',
      code: 'UNKNOWN_TASK',
    })
    await expect(hive.client.cancel('nope')).rejects.toMatchObject({ name: 'UnknownTaskError' })
  })

  it('cli up - a hive.yaml with a typo exits 2 with file:line:col, the unknown key and a suggested fix', async () => {
    const [top, bad] = await Promise.all([cliRuns.top, cliRuns.bad])
    expect(top.code, top.stderr).toBe(2)
    expect(top.stderr).toContain(
      'top.yaml:2:1: unknown key `heartbeat_intervl_ms` at the top level (fix: did you mean `heartbeat_interval_ms`?)',
    )
    expect(bad.code, bad.stderr).toBe(2)
    expect(bad.stderr).toContain('bad.yaml:7:7: unknown key `max_taks` at hive.agents.0 (fix: ')
    expect(bad.stderr).toContain('bad.yaml:12:7: unknown key `capabilites` at hive.agents.1 (fix: ')
  })

  // Regression: `knownKeys` in src/config/yamlSource.ts unwrapped a zod 4 array to its element
  // before the index step, so keys of list items got "known keys: " (empty) and no suggestion.
  it('cli up - a typo in a key of an agent in hive.yaml gets a "did you mean" fix', async () => {
    const bad = await cliRuns.bad
    expect(bad.stderr).toContain(
      'bad.yaml:7:7: unknown key `max_taks` at hive.agents.0 (fix: did you mean `max_tasks`?)',
    )
    expect(bad.stderr).toContain(
      'bad.yaml:12:7: unknown key `capabilites` at hive.agents.1 (fix: did you mean `capabilities`?)',
    )
  })
})
