import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { createLogger } from '../../actors/createLogger.ts'
import type { HiveClient } from '../../api/createClient.ts'
import { createHive } from '../../api/createHive.ts'
import { type TaskRecord, type TaskSpec, taskSpec } from '../../bus/catalogue.ts'
import { newId } from '../../bus/envelope.ts'
import { connect, globals, withGlobals } from '../context.ts'
import { CliError, createProgress, EXIT, print } from '../output.ts'
import { hiveOptionsFrom } from './node.ts'

const TASK_COLUMNS = ['task_id', 'status', 'agent_id', 'attempts', 'started_at', 'finished_at', 'error']

/** The result line of a finished task, as `--wait --output json` prints it. */
export function resultLine(r: TaskRecord) {
  return {
    task_id: r.task_id,
    status: r.status,
    agent_id: r.agent_id ?? null,
    attempts: r.attempts,
    output: r.output ?? null,
    error: r.error ?? null,
    started_at: r.started_at ? new Date(r.started_at).toISOString() : null,
    finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  }
}

/** Reads a JSON-lines task file; every bad line is reported with its line number, and nothing is submitted. */
export async function readTaskFile(file: string): Promise<TaskSpec[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.usage)
  }
  const tasks: TaskSpec[] = []
  const problems: string[] = []
  text.split('\n').forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (err) {
      problems.push(`${file}:${i + 1}: not JSON: ${(err as Error).message}`)
      return
    }
    const parsed = taskSpec.safeParse(value)
    if (!parsed.success) {
      const detail = parsed.error.issues
        .map((x) => `${x.path.join('.') || '(task)'}: ${x.message}`)
        .join('; ')
      problems.push(`${file}:${i + 1}: invalid task: ${detail}`)
      return
    }
    tasks.push(value as TaskSpec)
  })
  if (problems.length)
    throw new CliError(`${problems.join('\n')}\nnothing was submitted; fix the lines above`)
  return tasks
}

function taskFromFlags(o: Record<string, string | undefined>): TaskSpec {
  if (!o.capabilities) throw new CliError('give --capabilities a,b (or --file tasks.jsonl)')
  let input: unknown
  if (o.input !== undefined) {
    try {
      input = JSON.parse(o.input)
    } catch {
      throw new CliError(`--input must be JSON, got ${JSON.stringify(o.input)} (quote strings: '"text"')`)
    }
  }
  const spec = {
    task_id: o.id,
    task_type: o.type ?? 'generic',
    description: o.description,
    required_capabilities: o.capabilities.split(',').map((c) => c.trim()),
    required_agent_type: o.agentType,
    priority: o.priority === undefined ? undefined : Number(o.priority),
    timeout: o.timeout === undefined ? undefined : Number(o.timeout),
    retry: o.retries === undefined ? undefined : { max_retries: Number(o.retries) },
    input,
  }
  const parsed = taskSpec.safeParse(spec)
  if (!parsed.success) {
    throw new CliError(
      `invalid task: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
    )
  }
  return spec as TaskSpec
}

async function withClient<T>(
  g: ReturnType<typeof globals>,
  configPath: string | undefined,
  fn: (c: HiveClient) => Promise<T>,
): Promise<T> {
  if (g.nats) {
    const client = await connect(g)
    try {
      return await fn(client)
    } finally {
      await client.close()
    }
  }
  if (!configPath) {
    throw new CliError(
      'no hive to talk to: give --nats URL (or HIVE_NATS_URL) for a running hive, or --config hive.yaml to run its agents here on the embedded bus',
    )
  }
  const hive = await createHive({
    ...(await hiveOptionsFrom(configPath, g)),
    log: createLogger({ level: 'warn' }),
  })
  try {
    return await fn(hive.client)
  } finally {
    await hive.stop()
  }
}

/** Warns on stderr about waiting tasks whose requirements no registered agent meets. */
async function warnUnplaceable(client: HiveClient, waiting: TaskSpec[]): Promise<void> {
  try {
    const agents = (await client.listAgents()).filter((a) => a.state !== 'dead')
    const fits = (t: TaskSpec) =>
      agents.some(
        (a) =>
          t.required_capabilities.every((c) => a.capabilities.includes(c.trim().toLowerCase())) &&
          (t.required_agent_type === undefined || a.agent_type === t.required_agent_type) &&
          !(t.exclude_agents ?? []).includes(a.agent_id),
      )
    const stuck = waiting.filter((t) => !fits(t))
    if (stuck.length === 0) return
    const caps = [...new Set(stuck.map((t) => t.required_capabilities.join(',')))].join('; ')
    process.stderr.write(
      `hive: ${stuck.length} task(s) wait for an agent with capabilities [${caps}]: none of the ${agents.length} registered agents has them (start one with \`hive agent start --capabilities …\`)\n`,
    )
  } catch {
    // Only a hint: the wait goes on either way.
  }
}

export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('submit tasks and follow them')

  withGlobals(
    task
      .command('submit')
      .description('submit one task from flags, or many from a JSON-lines file')
      .option('--id <id>', 'task id (generated when absent)')
      .option('--type <type>', 'task type', 'generic')
      .option('--description <text>', 'what to do')
      .option('--capabilities <list>', 'required capabilities, comma-separated')
      .option('--agent-type <type>', 'required agent type')
      .option('--priority <p>', 'priority 1-10 (default 5)')
      .option('--timeout <seconds>', 'timeout in seconds')
      .option('--retries <n>', 'retries after a failure')
      .option('--input <json>', 'task input as JSON')
      .option('-f, --file <tasks.jsonl>', 'one task per line')
      .option('-c, --config <file>', 'without --nats: run this hive.yaml’s agents here on the embedded bus')
      .option('-w, --wait', 'wait for results; exit 1 if any task did not succeed'),
  ).action(async (o, cmd: Command) => {
    const g = globals(cmd)
    const tasks = o.file ? await readTaskFile(o.file) : [taskFromFlags(o)]
    for (const t of tasks) t.task_id ??= newId()
    // On the embedded bus the hive lives only as long as this command: submitting without waiting
    // would end it before the tasks ran.
    if (!g.nats && !o.wait) o.wait = true
    const failed = await withClient(g, o.config, async (client) => {
      if (!o.wait) {
        const progress = createProgress(
          tasks.length,
          'submitting',
          tasks.length > 1 && process.stderr.isTTY === true,
        )
        const ids = []
        for (const t of tasks) {
          ids.push(await client.submit(t))
          progress.tick()
        }
        progress.end()
        if (g.output === 'json') for (const id of ids) print(id, 'json')
        else print(ids, g.output)
        return 0
      }
      const progress = createProgress(
        tasks.length,
        'tasks',
        tasks.length > 1 && process.stderr.isTTY === true,
      )
      let bad = 0
      const results: ReturnType<typeof resultLine>[] = []
      const pending = new Set(tasks.map((t) => t.task_id as string))
      // A task no registered agent can take waits until one registers: say so, once, rather
      // than sit silent.
      const hint = setTimeout(
        () =>
          void warnUnplaceable(
            client,
            tasks.filter((t) => pending.has(t.task_id!)),
          ),
        5000,
      )
      hint.unref()
      await Promise.all(
        tasks.map(async (t) => {
          const rec = await client.submit(t, { wait: true })
          pending.delete(t.task_id!)
          const ok = rec.status === 'success'
          if (!ok) bad++
          progress.tick(ok)
          const line = resultLine(rec)
          if (g.output === 'json') print(line, 'json')
          else results.push(line)
        }),
      )
      clearTimeout(hint)
      progress.end()
      if (g.output !== 'json') print(results, g.output, TASK_COLUMNS)
      return bad
    })
    if (failed) process.exitCode = EXIT.failed
  })

  withGlobals(task.command('status').description('show one task').argument('<id>')).action(
    async (id: string, _o, cmd: Command) => {
      const g = globals(cmd)
      const client = await connect(g)
      try {
        print(resultLine(await client.status(id)), g.output, TASK_COLUMNS)
      } finally {
        await client.close()
      }
    },
  )

  withGlobals(
    task
      .command('list')
      .description('list tasks')
      .option('--status <status>', 'queued | assigned | running | success | failed | timeout | cancelled')
      .option('--limit <n>', 'at most this many'),
  ).action(async (o, cmd: Command) => {
    const g = globals(cmd)
    const client = await connect(g)
    try {
      const tasks = await client.listTasks({ status: o.status, limit: o.limit ? Number(o.limit) : undefined })
      print(tasks.map(resultLine), g.output, TASK_COLUMNS)
    } finally {
      await client.close()
    }
  })
}
