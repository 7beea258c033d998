import type { Command } from 'commander'
import { createLogger } from '../../actors/createLogger.ts'
import { createHive } from '../../api/createHive.ts'
import { connect, globals, untilSignal, withGlobals } from '../context.ts'
import { CliError, EXIT, print } from '../output.ts'

const AGENT_COLUMNS = [
  'agent_id',
  'agent_type',
  'state',
  'load',
  'max_tasks',
  'available',
  'breaker',
  'capabilities',
]

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('start, list, inspect and drain agents')

  withGlobals(
    agent
      .command('start')
      .description('run one agent in this process, connected to a hive over NATS')
      .requiredOption('--id <id>', 'agent id (letters, digits, - _ :)')
      .requiredOption('--type <type>', 'agent type, e.g. backend')
      .requiredOption('--capabilities <list>', 'comma-separated capabilities')
      .option('--max-tasks <n>', 'tasks it runs at once', '1')
      .option('--weight <w>', 'priority weight 1-100', '50')
      .option('--exec <command>', 'command run per task (split like a shell would, run without one)')
      .option('--function <module#export>', 'JS/TS function run per task')
      .option('--heartbeat <ms>', 'heartbeat interval in ms'),
  ).action(async (o, cmd: Command) => {
    const g = globals(cmd)
    if (!g.nats)
      throw new CliError('hive agent start needs --nats URL (or HIVE_NATS_URL): agents join a running hive')
    if (!o.exec === !o.function)
      throw new CliError('give exactly one of --exec "CMD ARGS…" or --function module#export')
    const log = createLogger({ actor: `agent.${o.id}` })
    const hive = await createHive({
      ns: g.ns,
      nats: { servers: g.nats },
      roles: ['agents'],
      log,
      node: `agent-${o.id}`,
      heartbeatIntervalMs: o.heartbeat ? Number(o.heartbeat) : undefined,
      agents: [
        {
          id: o.id,
          type: o.type,
          capabilities: String(o.capabilities).split(','),
          max_tasks: intOption(o.maxTasks, '--max-tasks'),
          weight: intOption(o.weight, '--weight'),
          exec: o.exec,
          function: o.function,
          baseDir: process.cwd(),
        },
      ],
    })
    log.info({ id: o.id }, 'agent running; Ctrl-C drains and stops it')
    await untilSignal()
    await hive.stop({ drain: true })
    process.exit(EXIT.ok)
  })

  withGlobals(
    agent
      .command('list')
      .description('list the agents a hive knows')
      .option('--type <type>', 'only this agent type')
      .option('--available', 'only agents that are alive and not draining')
      .option('--has-capacity', 'only agents below their max concurrent tasks'),
  ).action(async (o, cmd: Command) => {
    const g = globals(cmd)
    const client = await connect(g)
    try {
      const agents = await client.listAgents({
        agent_type: o.type,
        available: o.available,
        has_capacity: o.hasCapacity,
      })
      print(agents, g.output, AGENT_COLUMNS)
    } finally {
      await client.close()
    }
  })

  withGlobals(agent.command('status').description('show one agent').argument('<id>')).action(
    async (id: string, _o, cmd: Command) => {
      const g = globals(cmd)
      const client = await connect(g)
      try {
        print(await client.agentStatus(id), g.output, AGENT_COLUMNS)
      } finally {
        await client.close()
      }
    },
  )

  withGlobals(
    agent
      .command('drain')
      .description('stop sending work to an agent; it finishes what it runs')
      .argument('<id>'),
  ).action(async (id: string, _o, cmd: Command) => {
    const g = globals(cmd)
    const client = await connect(g)
    try {
      await client.drainAgent(id)
      print({ agent_id: id, draining: true }, g.output)
    } finally {
      await client.close()
    }
  })
}

export function intOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n))
    throw new CliError(`${name} must be an integer, got ${JSON.stringify(v)}`, EXIT.usage)
  return n
}
