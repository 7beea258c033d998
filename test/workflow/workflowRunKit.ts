/**
 * Shared pieces of the end-to-end workflow tests: shell steps that log each run to a shared dir,
 * `hive run --output json` and its result, a multi-process hive (coordinator node plus agent
 * processes) on a real nats-server, and an in-process hive with one shell agent.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import { createLogger } from '../../src/actors/createLogger.ts'
import { createClient, type HiveClient } from '../../src/api/createClient.ts'
import { createHive, type Hive } from '../../src/api/createHive.ts'
import { freshNs, waitFor } from '../helpers/busFactories.ts'
import { type HiveProcess, runHive, startHive } from '../helpers/hiveProcess.ts'
import { type NatsServer, useNatsServer } from '../helpers/natsServer.ts'

const made: string[] = []
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A fresh temp dir, removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hive-${prefix}-`))
  made.push(dir)
  return dir
}

/** Writes a workflow file into `dir` and returns its path. */
export function writeWorkflow(dir: string, name: string, yaml: string): string {
  const file = join(dir, name)
  writeFileSync(file, yaml)
  return file
}

/**
 * The first lines of a shell step: `$d` is the shared log dir (from the task input's `log`, set
 * with `--set logdir=…`), and one line `<task> <attempt task_id> <agent>` is appended to `$d/log`
 * every time the step runs. Paths from `mkdtemp` hold no quotes, so `sed` can read the JSON.
 */
export function logLine(task: string): string {
  return [
    `d=$(printf %s "$HIVE_INPUT" | sed -n 's/.*"log":"\\([^"]*\\)".*/\\1/p')`,
    `[ -d "$d" ] || { echo "no log dir in $HIVE_INPUT" >&2; exit 9; }`,
    `echo "${task} $HIVE_TASK_ID \${HIVE_AGENT_ID:-?}" >> "$d/log"`,
  ].join('\n')
}

/** Sets `$<name>` from the string `<name>` of the task input (a temp path: no quotes in it). */
export const readStr = (name: string) =>
  `${name}=$(printf %s "$HIVE_INPUT" | sed -n 's/.*"${name}":"\\([^"]*\\)".*/\\1/p')`

/** Sets `$<name>` from the number `<name>` of the task input (a dependency's output passed on). */
export const read = (name: string) =>
  `${name}=$(printf %s "$HIVE_INPUT" | sed -n 's/.*"${name}":\\([0-9]*\\).*/\\1/p')`

/**
 * One task of a generated workflow (YAML lines): capability `shell`, input `log` (the shared log
 * dir) plus `input` (name → expression without the braces); it logs its run, then runs `body`.
 */
export function step(
  id: string,
  deps: string[],
  input: Record<string, string>,
  body: string[],
  extra: string[] = [],
): string {
  const inputs = Object.entries({ log: 'vars.logdir', ...input }).map(([k, v]) => `${k}: "\${{ ${v} }}"`)
  return [
    `    - task_id: ${id}`,
    `      capabilities: [shell]`,
    `      depends_on: [${deps.join(', ')}]`,
    `      input: { ${inputs.join(', ')} }`,
    ...extra.map((l) => `      ${l}`),
    `      run: |`,
    ...[logLine(id), ...body]
      .join('\n')
      .split('\n')
      .map((l) => `        ${l}`),
  ].join('\n')
}

/**
 * A workflow file's text around `tasks` from {@link step}; with `agent`, it declares one `sh -c`
 * agent (max 2 tasks) so it runs on the embedded bus.
 */
export function workflowYaml(
  o: { id: string; onFailure?: string; agent?: boolean },
  tasks: string[],
): string {
  return [
    'workflow:',
    `  id: ${o.id}`,
    `  name: ${o.id}`,
    o.onFailure ? `  on_failure: ${o.onFailure}` : '',
    '  vars: { logdir: "" }',
    o.agent
      ? '  agents:\n    - { id: sh-1, type: shell, capabilities: [shell], max_tasks: 2, exec: ["sh", "-c"] }'
      : '',
    '  tasks:',
    ...tasks,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n')
}

export interface RunWorkflowOptions {
  /** The shared log dir, passed as `--set logdir=…`. */
  logdir: string
  /** Runs over NATS in namespace `ns`; without it, on the embedded bus. */
  nats?: { url: string; ns: string }
  /** `--state-dir`: where the embedded runner keeps its run. */
  stateDir?: string
}

/**
 * `hive run <file> -o json` with the shared log dir, then `more` arguments (`--set`s, `--fresh`).
 * The promise can be left pending while the test kills processes or restarts the server.
 */
export function runWorkflow(
  file: string,
  o: RunWorkflowOptions,
  ...more: string[]
): ReturnType<typeof runHive> {
  const args = ['run', file, '-o', 'json', '--set', `logdir=${o.logdir}`]
  if (o.nats) args.push('--nats', o.nats.url, '--ns', o.nats.ns)
  if (o.stateDir !== undefined) args.push('--state-dir', o.stateDir)
  return runHive([...args, ...more])
}

/** One parsed line of the shared log. */
export interface LogEntry {
  task: string
  attemptId: string
  agent: string
}

export function readLog(dir: string): LogEntry[] {
  let text = ''
  try {
    text = readFileSync(join(dir, 'log'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [task, attemptId, agent] = l.split(' ')
      return { task, attemptId, agent }
    })
}

/** How many times each task ran, by the shared log. */
export function runCounts(dir: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const e of readLog(dir)) out[e.task] = (out[e.task] ?? 0) + 1
  return out
}

export interface RunTaskResult {
  status: string
  attempts: number
  agent_id: string | null
  output: unknown
  error: string | null
  started_at: string | null
  finished_at: string | null
}

export interface RunResult {
  workflow_id: string
  run_id: string
  status: string
  tasks: Record<string, RunTaskResult>
}

/** Parses `hive run --output json` stdout: exactly one JSON object of the documented shape. */
export function parseRunResult(run: { code: number | null; stdout: string; stderr: string }): RunResult {
  const lines = run.stdout.split('\n').filter((l) => l.trim() !== '')
  if (lines.length !== 1)
    throw new Error(
      `want one JSON line on stdout, got ${lines.length}:\n${run.stdout}\nstderr:\n${run.stderr}`,
    )
  const result = JSON.parse(lines[0]) as RunResult
  expect(Object.keys(result).sort()).toEqual(['run_id', 'status', 'tasks', 'workflow_id'])
  return result
}

/** The parts of a result that must not depend on timing or on which agent ran a task. */
export function comparable(r: RunResult) {
  return {
    workflow_id: r.workflow_id,
    status: r.status,
    tasks: Object.fromEntries(
      Object.entries(r.tasks).map(([id, t]) => [
        id,
        { status: t.status, attempts: t.attempts, output: t.output, error: t.error },
      ]),
    ),
  }
}

/** Every file under `dir` with its contents. */
export function snapshotFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'utf8')
  }
  return out
}

export interface AgentSpec {
  id: string
  type: string
  capabilities: string[]
  max_tasks: number
}

export interface NatsHive {
  coordinator: HiveProcess
  agents: Map<string, HiveProcess>
  client: HiveClient
  /** Starts one more agent process and waits until the coordinator lists it alive. */
  addAgent(a: AgentSpec): Promise<HiveProcess>
  stop(): Promise<void>
}

/**
 * A coordinator node and one `hive agent start --exec 'sh -c'` process per agent, in namespace
 * `ns`; resolves once the coordinator lists every agent alive.
 */
export async function startNatsHive(
  url: string,
  ns: string,
  agents: AgentSpec[],
  opts: { heartbeatMs?: number } = {},
): Promise<NatsHive> {
  const common = ['--nats', url, '--ns', ns]
  const nodeArgs = ['node', '--roles', 'coordinator', ...common]
  if (opts.heartbeatMs !== undefined) {
    const config = join(tempDir('conf'), 'hive.yaml')
    writeFileSync(config, `heartbeat_interval_ms: ${opts.heartbeatMs}\n`)
    nodeArgs.push('--config', config)
  }
  const coordinator = startHive(nodeArgs)
  const procs = new Map<string, HiveProcess>()
  const client = await createClient({ servers: url, ns, timeoutMs: 3000, pollMs: 1000 })
  const alive = async (ids: string[]) => {
    const listed = await client.listAgents().catch(() => [])
    return ids.every((id) => listed.some((a) => a.agent_id === id && a.state !== 'dead'))
  }
  const spawnAgent = (a: AgentSpec) => {
    const args = [
      'agent',
      'start',
      '--id',
      a.id,
      '--type',
      a.type,
      '--capabilities',
      a.capabilities.join(','),
    ]
    args.push('--max-tasks', String(a.max_tasks), '--exec', 'sh -c', ...common)
    if (opts.heartbeatMs !== undefined) args.push('--heartbeat', String(opts.heartbeatMs))
    const p = startHive(args)
    procs.set(a.id, p)
    return p
  }
  for (const a of agents) spawnAgent(a)
  const describe = () => [coordinator, ...procs.values()].map((p) => p.output().slice(-2000)).join('\n---\n')
  await waitFor(() => alive(agents.map((a) => a.id)), {
    timeoutMs: 40_000,
    intervalMs: 100,
    message: `agents ${agents.map((a) => a.id).join(', ')} registered in ${ns}`,
  }).catch((err) => {
    throw new Error(`${(err as Error).message}\n${describe()}`)
  })
  return {
    coordinator,
    agents: procs,
    client,
    async addAgent(a) {
      const p = spawnAgent(a)
      await waitFor(() => alive([a.id]), {
        timeoutMs: 40_000,
        intervalMs: 100,
        message: `agent ${a.id} registered`,
      })
      return p
    },
    async stop() {
      await client.close()
      for (const p of [coordinator, ...procs.values()]) p.kill9()
    },
  }
}

/** The hive of {@link useShellHive}: `hive` and `server` are read inside tests, once started. */
export interface ShellHive {
  readonly hive: Hive
  readonly server: NatsServer
  /** A temp dir for the test file's own files; the hive's workspaces are in `<dir>/ws`. */
  readonly dir: string
  readonly ns: string
}

/**
 * An in-process hive on its own nats-server for the enclosing `describe` (or the file), whose one
 * agent `sh-1` runs tasks' shell lines (`sh -c`, 4 at a time). Tests start once `sh-1` has
 * registered; hive and server stop after them.
 */
export function useShellHive(prefix: string): ShellHive {
  const nats = useNatsServer()
  const dir = tempDir(prefix)
  const ns = freshNs(prefix)
  let hive: Hive | undefined
  beforeAll(async () => {
    const h = await createHive({
      ns,
      nats: { servers: nats.url },
      log: createLogger({ level: 'silent' }),
      heartbeatIntervalMs: 500,
      workspaceRoot: join(dir, 'ws'),
      agents: [{ id: 'sh-1', type: 'shell', capabilities: ['shell'], max_tasks: 4, exec: ['sh', '-c'] }],
    })
    hive = h
    await waitFor(async () => (await h.client.listAgents()).length === 1, { message: 'agent registered' })
  }, 20_000)
  afterAll(async () => {
    await hive?.stop()
  })
  return {
    get hive() {
      if (!hive) throw new Error('useShellHive: the hive starts in beforeAll; read it inside a test or hook')
      return hive
    },
    get server() {
      return nats.server
    },
    dir,
    ns,
  }
}

/** What `hive run` persists under `workflow.<id>` (the part the tests read). */
export interface StoredRun {
  run_id: string
  snapshot: { context: { tasks: Record<string, { status: string }> } }
}

/** Task statuses of the run stored in a `--state-dir` (the embedded runner's file store). */
export function storedRunInDir(stateDir: string, workflowId: string): StoredRun | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, `workflow.${workflowId}.json`), 'utf8')) as StoredRun
  } catch (err) {
    // Not written yet (writes are atomic renames, so a file is never half-written).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** `{ task: status }` of a stored run. */
export function storedStatuses(run: StoredRun | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(run?.snapshot.context.tasks ?? {}).map(([id, t]) => [id, t.status]),
  )
}

/**
 * Whether process `pid` still runs: a zombie (dead, not yet reaped by its parent, which may be an
 * init that never reaps) counts as gone.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}
