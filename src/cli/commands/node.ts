import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import { createLogger } from '../../actors/createLogger.ts'
import { createHive, type Role } from '../../api/createHive.ts'
import { agentDefsOf, type HiveConfig, loadHiveConfig } from '../../config/hiveConfig.ts'
import { globals, untilSignal, withGlobals } from '../context.ts'
import { CliError, EXIT, print } from '../output.ts'

/** Loads `--config` (or nothing) and turns it into createHive options. */
export async function hiveOptionsFrom(configPath: string | undefined, g: { nats?: string; ns: string }) {
  const config: HiveConfig = configPath ? await loadHiveConfig(configPath) : { agents: [] }
  const servers = g.nats ?? (config.nats ? config.nats.servers : undefined)
  return {
    ns: g.ns !== 'default' ? g.ns : (config.ns ?? g.ns),
    nats: servers ? { ...config.nats, servers } : undefined,
    agents: agentDefsOf(config, configPath ? dirname(resolve(configPath)) : process.cwd()),
    heartbeatIntervalMs: config.heartbeat_interval_ms,
    coordinator: {
      strategy: config.strategy,
      breaker: config.breaker && {
        failureThreshold: config.breaker.failure_threshold,
        windowMs: config.breaker.window_ms,
        recoveryTimeoutMs: config.breaker.recovery_timeout_ms,
      },
    },
  }
}

async function runNode(roles: Role[], cmd: Command, configPath?: string, inspect?: boolean) {
  const g = globals(cmd)
  const opts = await hiveOptionsFrom(configPath, g)
  const log = createLogger({ actor: 'hive' })
  const hive = await createHive({ ...opts, roles, log, ...(await inspectorOption(inspect, log)) })
  const info = {
    ns: hive.bus.ns,
    bus: opts.nats ? `nats ${String(opts.nats.servers)}` : 'embedded',
    roles,
    agents: [...hive.agents.keys()],
  }
  if (g.output === 'table') log.info(info, 'hive node running; Ctrl-C drains and stops it')
  else print(info, g.output)
  const sig = await untilSignal()
  log.info({ signal: sig }, 'draining')
  await hive.stop({ drain: true })
  process.exit(EXIT.ok)
}

async function inspectorOption(inspect: boolean | undefined, log: ReturnType<typeof createLogger>) {
  if (!inspect) return {}
  const { startInspector } = await import('../../actors/startInspector.ts')
  const inspector = await startInspector({ log })
  return { inspect: inspector.inspect }
}

export function registerNodeCommands(program: Command): void {
  withGlobals(
    program
      .command('up')
      .description(
        'run a whole hive in this process: coordinator and the config’s agents, until SIGINT/SIGTERM',
      )
      .option('-c, --config <file>', 'hive.yaml with agents and settings')
      .option('--inspect', 'attach the Stately inspector (prints the relay URL)'),
  ).action(async (o: { config?: string; inspect?: boolean }, cmd: Command) => {
    await runNode(['coordinator', 'agents'], cmd, o.config, o.inspect)
  })

  withGlobals(
    program
      .command('node')
      .description('run one node of a multi-process hive with the given roles')
      .requiredOption('--roles <list>', 'comma-separated: coordinator,allocator,agents')
      .option('-c, --config <file>', 'hive.yaml with agents and settings')
      .option('--inspect', 'attach the Stately inspector'),
  ).action(async (o: { roles: string; config?: string; inspect?: boolean }, cmd: Command) => {
    const roles = o.roles.split(',').map((r) => r.trim())
    const bad = roles.filter((r) => !['coordinator', 'allocator', 'agents'].includes(r))
    if (bad.length)
      throw new CliError(`unknown role ${bad.join(', ')}: use coordinator, allocator, agents`, EXIT.usage)
    // The allocator runs inside the coordinator's process: it guards the same agents' resources.
    const hiveRoles = [...new Set(roles.map((r) => (r === 'allocator' ? 'coordinator' : r)))] as Role[]
    await runNode(hiveRoles, cmd, o.config, o.inspect)
  })
}
