import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { createLogger, type Logger } from '../../actors/createLogger.ts'
import { startWorkflowRun, workflowStoreKey } from '../../actors/startWorkflowRun.ts'
import { createHive, type Hive } from '../../api/createHive.ts'
import { envelope } from '../../bus/envelope.ts'
import { HiveError } from '../../bus/errors.ts'
import { subject } from '../../bus/subjects.ts'
import type { WorkflowSummary } from '../../machines/workflowSummary.ts'
import type { WorkflowDef } from '../../schema/workflow.ts'
import { createFileSnapshotStore } from '../../store/createFileSnapshotStore.ts'
import { createKvSnapshotStore } from '../../store/createKvSnapshotStore.ts'
import type { SnapshotStore } from '../../store/snapshotStore.ts'
import { loadWorkflow } from '../../workflow/loadWorkflow.ts'
import { WorkflowFileError } from '../../workflow/WorkflowFileError.ts'
import { WorkflowValidationError } from '../../workflow/WorkflowValidationError.ts'
import { globals, untilSignal, withGlobals } from '../context.ts'
import { CliError, EXIT, print } from '../output.ts'
import { createRunMonitorDisplay } from './workflowMonitor.ts'

/** `--set a=b --set c=d` → { a: 'b', c: 'd' }. */
export function parseSets(sets: string[] = []): Record<string, string> {
  const out: Record<string, string> = {}
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw new CliError(`--set expects key=value, got ${JSON.stringify(s)}`)
    out[s.slice(0, eq)] = s.slice(eq + 1)
  }
  return out
}

export async function loadWorkflowOrExit(file: string, vars: Record<string, string>): Promise<WorkflowDef> {
  try {
    const def = await loadWorkflow(file, { vars })
    // The coordinator routes by capability: a task without one could never be placed.
    const bare = def.tasks.filter((t) => t.capabilities.length === 0).map((t) => t.task_id)
    if (bare.length) {
      throw new CliError(
        `${file}: task${bare.length > 1 ? 's' : ''} ${bare.join(', ')} name${bare.length > 1 ? '' : 's'} no agent_capabilities (fix: add e.g. agent_capabilities: [shell], what an agent must be able to do)`,
        EXIT.usage,
      )
    }
    return def
  } catch (err) {
    if (err instanceof WorkflowValidationError || err instanceof WorkflowFileError) {
      throw new CliError(err.message, EXIT.usage)
    }
    throw err
  }
}

/** The result of a run as `--output json` prints it. */
export function runResult(def: WorkflowDef, runId: string, s: WorkflowSummary) {
  const iso = (t?: number) => (t ? new Date(t).toISOString() : null)
  return {
    workflow_id: def.id,
    run_id: runId,
    status: s.status,
    tasks: Object.fromEntries(
      Object.entries(s.tasks).map(([id, t]) => [
        id,
        {
          status: t.status,
          attempts: t.attempts,
          agent_id: t.agent_id ?? null,
          output: t.output ?? null,
          error: t.error ?? null,
          started_at: iso(t.started_at),
          finished_at: iso(t.finished_at),
        },
      ]),
    ),
  }
}

/** The live display of `hive workflow monitor`, fed from the run in this process. */
function createRunDisplay(def: WorkflowDef, enabled: boolean, tty: boolean) {
  const monitor = createRunMonitorDisplay(process.stderr, tty)
  let runId = ''
  const display = (s: WorkflowSummary) => {
    if (!enabled) return
    monitor({ run_id: runId, workflow_id: def.id, name: def.name, status: s.status, tasks: s.tasks as never })
  }
  return Object.assign(display, { setRunId: (id: string) => (runId = id) })
}

/**
 * Joins a hive over NATS as a bare client (no roles) and checks that a coordinator answers: the
 * client would otherwise wait for one forever, retrying each submission.
 */
async function connectRunner(servers: string, ns: string, workflowId: string, log: Logger): Promise<Hive> {
  let hive: Hive
  try {
    hive = await createHive({ ns, nats: { servers }, roles: [], log, node: `run-${workflowId}` })
  } catch (err) {
    throw new CliError(`cannot reach NATS at ${servers}: ${(err as Error).message}`, EXIT.unavailable)
  }
  try {
    await hive.client.listAgents()
  } catch (err) {
    await hive.stop()
    throw new CliError(
      `no coordinator answers in namespace ${JSON.stringify(ns)} at ${servers} (${(err as Error).message}); start one with \`hive node --roles coordinator --nats …\``,
      EXIT.unavailable,
    )
  }
  return hive
}

/**
 * Over NATS: the stored unfinished run of this workflow must not be resumed while another process
 * runs it (its mailbox answers a ping), or every task would be submitted twice.
 */
async function refuseIfRunningElsewhere(hive: Hive, store: SnapshotStore, workflowId: string): Promise<void> {
  const stored = (await store.get(workflowStoreKey(workflowId))) as
    | { run_id: string; snapshot: { status: string } }
    | undefined
  if (!stored || stored.snapshot.status === 'done') return
  const mailbox = subject(hive.bus.ns, { kind: 'mailbox', actor: 'workflow', id: stored.run_id })
  try {
    await hive.bus.request(mailbox, envelope('ping', {}, { from: hive.bus.node }), { timeoutMs: 500 })
  } catch (err) {
    if (err instanceof HiveError && err.code === 'NO_RESPONDERS') return
  }
  await hive.stop()
  throw new CliError(
    `run ${stored.run_id} of workflow ${workflowId} is running in another process; watch it with \`hive workflow monitor ${stored.run_id}\`, or start a new run with --fresh`,
    EXIT.usage,
  )
}

/**
 * On the embedded bus the state directory is shared through the file system: a lock file with
 * this process's pid keeps a second `hive run` of the same workflow from resuming the same run.
 */
function takeRunLock(stateDir: string, workflowId: string): void {
  mkdirSync(stateDir, { recursive: true })
  const lock = join(stateDir, `${workflowId}.lock`)
  try {
    const pid = Number(readFileSync(lock, 'utf8'))
    if (pid !== process.pid && pid > 0 && isAlive(pid)) {
      throw new CliError(
        `workflow ${workflowId} is already running in process ${pid} with state in ${stateDir}; wait for it, or start a new run with --fresh`,
        EXIT.usage,
      )
    }
  } catch (err) {
    if (err instanceof CliError) throw err
  }
  writeFileSync(lock, String(process.pid))
  process.on('exit', () => {
    try {
      if (Number(readFileSync(lock, 'utf8')) === process.pid) rmSync(lock)
    } catch {
      // Already gone.
    }
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function registerRunCommand(program: Command): void {
  withGlobals(
    program
      .command('run')
      .description('run a workflow file to its end; resumes the unfinished run of the same workflow id')
      .argument('<file>', 'workflow YAML or JSON')
      .option(
        '--set <key=value>',
        'set a workflow variable (repeatable)',
        (v: string, acc: string[]) => [...acc, v],
        [],
      )
      .option('--fresh', 'start a new run even if an unfinished one is stored')
      .option('--state-dir <dir>', 'where run state lives on the embedded bus', '.hive')
      .option('--quiet', 'no progress display'),
  ).action(
    async (
      file: string,
      o: { set: string[]; fresh?: boolean; stateDir: string; quiet?: boolean },
      cmd: Command,
    ) => {
      const g = globals(cmd)
      const def = await loadWorkflowOrExit(file, parseSets(o.set))
      const log = createLogger({ actor: 'hive.run', level: process.env.HIVE_LOG_LEVEL ?? 'warn' })
      let hive: Hive
      let store: SnapshotStore
      if (g.nats) {
        hive = await connectRunner(g.nats, g.ns, def.id, log)
        const nc = (hive.bus as unknown as { nc?: Parameters<typeof createKvSnapshotStore>[0] }).nc
        if (!nc) throw new CliError('internal: the NATS bus has no connection for the snapshot store')
        store = await createKvSnapshotStore(nc, g.ns)
        if (!o.fresh) await refuseIfRunningElsewhere(hive, store, def.id)
      } else {
        if (!o.fresh) takeRunLock(resolve(o.stateDir), def.id)
        if (def.agents.length === 0) {
          throw new CliError(
            `${file}: the workflow declares no agents, so it cannot run on the embedded bus; add an agents: list or give --nats URL of a running hive`,
          )
        }
        hive = await createHive({
          ns: g.ns,
          log,
          // A workflow's agent has an AgentDef's fields; paths are relative to the workflow file.
          agents: def.agents.map((a) => ({ ...a, baseDir: dirname(resolve(file)) })),
        })
        store = createFileSnapshotStore(resolve(o.stateDir))
      }
      const display = createRunDisplay(def, !o.quiet && g.output === 'table', process.stderr.isTTY === true)
      const run = await startWorkflowRun({
        def,
        bus: hive.bus,
        client: hive.client,
        store,
        log,
        fresh: o.fresh,
        onChange: display,
      })
      display.setRunId(run.runId)
      // On stderr whatever the output format: a resumed run is worth knowing about, and stdout stays
      // one JSON/YAML document.
      if (run.resumed) {
        process.stderr.write(`resuming run ${run.runId}\n`)
        // A run resumes with the definition it started with: say so when the file or --set differ.
        if (JSON.stringify(run.actor.getSnapshot().context.def) !== JSON.stringify(def))
          process.stderr.write(
            `note: ${file} or its --set values changed since run ${run.runId} started; it goes on as it started (--fresh starts over with the file as it is now)\n`,
          )
      }
      const outcome = await Promise.race([run.done, untilSignal().then((sig) => sig)])
      if (typeof outcome === 'string') {
        process.stderr.write(
          `\ninterrupted by ${outcome}: run ${run.runId} is saved; run the same command again to resume it\n`,
        )
        run.stop()
        await hive.stop()
        process.exit(EXIT.interrupted)
      }
      display(outcome)
      const result = runResult(def, run.runId, outcome)
      if (g.output === 'table') {
        process.stdout.write(`\n${def.name}: ${result.status} (run ${run.runId})\n`)
        print(
          Object.entries(result.tasks).map(([task_id, t]) => ({ task_id, ...t })),
          'table',
          ['task_id', 'status', 'attempts', 'agent_id', 'error'],
        )
      } else print(result, g.output)
      await hive.stop()
      process.exit(result.status === 'success' ? EXIT.ok : EXIT.failed)
    },
  )
}
