/**
 * `hive workflow …`: workflows on a running hive, through its workflow service
 * (`hive.<ns>.svc.workflow`, started beside the coordinator by `hive up` and `hive node`).
 *
 * `create FILE` validates a file and prints the normalized definition (a workflow file that
 * `hive run` and `hive workflow start` accept). It stores nothing: a hive keeps the definition of
 * each run it starts, and `export RUN` prints it back.
 */
import { userInfo } from 'node:os'
import type { Command } from 'commander'
import { stringify as toYaml } from 'yaml'
import type { WorkflowRunView } from '../../actors/startWorkflowService.ts'
import type { HiveClient } from '../../api/createClient.ts'
import { envelope } from '../../bus/envelope.ts'
import type { WorkflowSummary } from '../../machines/workflowSummary.ts'
import type { WorkflowDef } from '../../schema/workflow.ts'
import { connect, globals, withGlobals } from '../context.ts'
import { EXIT, type OutputFormat, print } from '../output.ts'
import { loadWorkflowOrExit, parseSets, runResult } from './run.ts'
import { askWorkflowService, createRunMonitorDisplay, followRun, runEnded } from './workflowMonitor.ts'
import { registerTemplateCommands } from './workflowTemplate.ts'

const collect = (v: string, acc: string[]) => [...acc, v]

/** Runs `fn` with a client of the hive given by the global options, and closes it after. */
async function withHive<T>(cmd: Command, fn: (client: HiveClient, output: OutputFormat) => Promise<T>) {
  const g = globals(cmd)
  const client = await connect(g)
  try {
    return await fn(client, g.output)
  } finally {
    await client.close()
  }
}

const from = (client: HiveClient) => ({ from: client.bus.node })

/** A workflow definition as a file: YAML under `workflow:`, or one line of JSON. */
function printDefinition(def: unknown, output: OutputFormat) {
  if (output === 'json') print(def, 'json')
  else process.stdout.write(toYaml({ workflow: def }, { lineWidth: 0 }))
}

/** The `hive run --output json` shape of a run view. */
function resultOf(v: WorkflowRunView) {
  // runResult reads only the id of the definition.
  return runResult({ id: v.workflow_id } as WorkflowDef, v.run_id, {
    status: v.status,
    tasks: v.tasks,
  } as WorkflowSummary)
}

function printResult(v: WorkflowRunView, output: OutputFormat) {
  const result = resultOf(v)
  if (output !== 'table') return print(result, output)
  process.stdout.write(`${v.name ?? v.workflow_id}: ${v.status} (run ${v.run_id})\n`)
  print(
    Object.entries(result.tasks).map(([task_id, t]) => ({ task_id, ...t })),
    'table',
    ['task_id', 'status', 'attempts', 'agent_id', 'error'],
  )
}

/** Exit code of a run that was followed or asked for its result: 0 only for success. */
const exitOf = (v: WorkflowRunView) => (v.status === 'success' ? EXIT.ok : EXIT.failed)

async function monitor(client: HiveClient, runId: string, output: OutputFormat) {
  const display =
    output === 'table' ? createRunMonitorDisplay(process.stderr, process.stderr.isTTY === true) : () => {}
  const end = await followRun(client, runId, display)
  if (typeof end === 'string') {
    process.stderr.write(`\ninterrupted by ${end}: run ${runId} goes on in the hive\n`)
    process.exitCode = EXIT.interrupted
    return
  }
  printResult(end, output)
  process.exitCode = exitOf(end)
}

function sub(parent: Command, name: string, description: string): Command {
  return withGlobals(parent.command(name).description(description))
}

export function registerWorkflowCommands(program: Command): void {
  const wf = program
    .command('workflow')
    .description('workflows on a running hive: start, watch, approve, cancel; templates')

  sub(wf, 'create', 'validate a workflow file and print its normalized definition (stores nothing)')
    .argument('<file>', 'workflow YAML or JSON')
    .option('--set <key=value>', 'set a workflow variable (repeatable)', collect, [])
    .action(async (file: string, o: { set: string[] }, cmd: Command) => {
      const def = await loadWorkflowOrExit(file, parseSets(o.set))
      printDefinition(def, globals(cmd).output)
    })

  sub(wf, 'start', 'start a run of a workflow file on the hive and print its run id')
    .argument('<file>', 'workflow YAML or JSON')
    .option('--set <key=value>', 'set a workflow variable (repeatable)', collect, [])
    .option('--fresh', 'start a new run even if an unfinished one of this workflow is stored')
    .option('--wait', 'follow the run to its end, like `monitor`; exit 1 unless it succeeds')
    .action(async (file: string, o: { set: string[]; fresh?: boolean; wait?: boolean }, cmd: Command) => {
      const def = await loadWorkflowOrExit(file, parseSets(o.set))
      await withHive(cmd, async (client, output) => {
        const started = await askWorkflowService(
          client,
          envelope('workflow.start', { definition: { ...def }, file, fresh: o.fresh === true }, from(client)),
          'workflow.started',
        )
        if (output === 'table') {
          if (started.resumed) process.stderr.write(`resuming the unfinished run ${started.run_id}\n`)
          process.stdout.write(`${started.run_id}\n`)
        } else if (!o.wait) print(started, output)
        if (o.wait) await monitor(client, started.run_id, output)
      })
    })

  sub(wf, 'status', 'show a run and its tasks')
    .argument('<run>', 'run id')
    .action(async (runId: string, _o: unknown, cmd: Command) => {
      await withHive(cmd, async (client, output) => {
        const v = await askWorkflowService(
          client,
          envelope('workflow.status', { run_id: runId }, from(client)),
          'workflow.status.result',
        )
        if (output !== 'table') return print(v, output)
        process.stdout.write(
          `${v.name ?? v.workflow_id} (run ${v.run_id}): ${v.status}${v.error ? ` — ${v.error}` : ''}${v.live ? '' : ' [stored]'}\n`,
        )
        print(
          Object.entries(v.tasks).map(([task_id, t]) => ({ task_id, ...t })),
          'table',
          ['task_id', 'status', 'attempts', 'agent_id', 'error'],
        )
      })
    })

  sub(wf, 'list', 'list the runs the hive knows (live, and finished ones in its store)')
    .option('--status <status>', 'only runs with this status (running, success, failed, cancelled, …)')
    .action(async (o: { status?: string }, cmd: Command) => {
      await withHive(cmd, async (client, output) => {
        const { runs } = await askWorkflowService(
          client,
          envelope('workflow.list', { status: o.status }, from(client)),
          'workflow.list.result',
        )
        if (output !== 'table') return print(runs, output)
        const iso = (t?: number) => (t ? new Date(t).toISOString() : '')
        print(
          runs.map((r) => {
            const tasks = Object.values(r.tasks)
            const done = tasks.filter(
              (t) => !['pending', 'ready', 'running', 'waiting_approval'].includes(t.status),
            )
            return { ...r, tasks: `${done.length}/${tasks.length}`, started_at: iso(r.started_at) }
          }),
          'table',
          ['run_id', 'workflow_id', 'status', 'live', 'tasks', 'started_at'],
        )
      })
    })

  sub(wf, 'cancel', 'cancel a run: running tasks are cancelled, pending ones never start')
    .argument('<run>', 'run id')
    .option('--reason <text>', 'why (kept as the run error)')
    .action(async (runId: string, o: { reason?: string }, cmd: Command) => {
      await withHive(cmd, async (client, output) => {
        const v = await askWorkflowService(
          client,
          envelope('workflow.cancel', { run_id: runId, reason: o.reason }, from(client)),
          'workflow.status.result',
        )
        if (output === 'table') process.stdout.write(`run ${runId}: ${v.status}\n`)
        else print(v, output)
      })
    })

  for (const verdict of ['approve', 'reject'] as const) {
    const c = sub(
      wf,
      verdict,
      verdict === 'approve'
        ? 'approve a task waiting at its approval gate: it runs'
        : 'reject a task waiting at its approval gate: it fails (and with it the run, unless on_failure: continue)',
    )
      .argument('<run>', 'run id')
      .argument('<task>', 'task id')
    if (verdict === 'approve') c.option('--by <name>', 'who approves (default: the current user)')
    else c.option('--reason <text>', 'why (kept as the task error)')
    c.action(async (runId: string, taskId: string, o: { by?: string; reason?: string }, cmd: Command) => {
      await withHive(cmd, async (client, output) => {
        const msg =
          verdict === 'approve'
            ? envelope(
                'workflow.approve',
                { run_id: runId, task_id: taskId, by: o.by ?? userInfo().username },
                from(client),
              )
            : envelope('workflow.reject', { run_id: runId, task_id: taskId, reason: o.reason }, from(client))
        const v = await askWorkflowService(client, msg, 'workflow.status.result')
        if (output === 'table')
          process.stdout.write(
            `${verdict === 'approve' ? 'approved' : 'rejected'} ${taskId} of run ${runId}: ${v.tasks[taskId]?.status} (run ${v.status})\n`,
          )
        else print(v, output)
      })
    })
  }

  sub(
    wf,
    'result',
    'print the result of a run (the shape of `hive run --output json`); exit 1 unless it succeeded',
  )
    .argument('<run>', 'run id')
    .option('--wait', 'wait for the run to end first')
    .action(async (runId: string, o: { wait?: boolean }, cmd: Command) => {
      await withHive(cmd, async (client, output) => {
        if (o.wait) return monitor(client, runId, output === 'table' ? 'table' : output)
        const v = await askWorkflowService(
          client,
          envelope('workflow.status', { run_id: runId }, from(client)),
          'workflow.status.result',
        )
        if (!runEnded(v.status))
          process.stderr.write(
            `run ${runId} has not ended (${v.status}): this is its result so far; wait with --wait\n`,
          )
        printResult(v, output)
        process.exitCode = exitOf(v)
      })
    })

  sub(
    wf,
    'export',
    'print the definition a run was started with, as a workflow file (YAML; JSON with -o json)',
  )
    .argument('<run>', 'run id')
    .action(async (runId: string, _o: unknown, cmd: Command) => {
      await withHive(cmd, async (client, output) => {
        const { definition } = await askWorkflowService(
          client,
          envelope('workflow.export', { run_id: runId }, from(client)),
          'workflow.definition',
        )
        printDefinition(definition, output)
      })
    })

  sub(wf, 'monitor', 'follow a run live until it ends, then print its result; exit 1 unless it succeeded')
    .argument('<run>', 'run id')
    .action(async (runId: string, _o: unknown, cmd: Command) => {
      await withHive(cmd, (client, output) => monitor(client, runId, output))
    })

  registerTemplateCommands(wf)
}
