import type { Clock } from '../actors/clock.ts'
import type { Logger } from '../actors/createLogger.ts'
import { createLogger } from '../actors/createLogger.ts'
import { createResultOutbox } from '../actors/createResultOutbox.ts'
import { type ExecutorSpec, executorFor } from '../actors/executorFor.ts'
import { type AgentHandle, startAgent } from '../actors/startAgent.ts'
import { type CoordinatorHandle, startCoordinator } from '../actors/startCoordinator.ts'
import { startWorkflowService, type WorkflowServiceHandle } from '../actors/startWorkflowService.ts'
import { type Bus, createMemoryBus } from '../bus/index.ts'
import { createNatsBus, type NatsOptions } from '../bus/NatsBus.ts'
import type { CoordinatorInput } from '../machines/coordinatorMachine.ts'
import { agentInfo } from '../schema/domain.ts'
import { createKvSnapshotStore } from '../store/createKvSnapshotStore.ts'
import { createMemorySnapshotStore, type SnapshotStore } from '../store/snapshotStore.ts'
import { createClient, type HiveClient } from './createClient.ts'

/** An agent to start: who it is, and how it runs tasks. */
export interface AgentDef extends ExecutorSpec {
  id: string
  type: string
  capabilities: string[]
  max_tasks?: number
  weight?: number
  resources?: Record<string, number>
  metadata?: Record<string, unknown>
}

/** `workflows` is the workflow service; it also runs wherever the coordinator does (see `workflows`). */
export type Role = 'coordinator' | 'agents' | 'workflows'

/** Heartbeat period shared by agents and coordinator unless configured. */
export const DEFAULT_HEARTBEAT_MS = 1000

export interface HiveOptions {
  ns?: string
  /** Run over NATS; without it (and without `bus`) the hive runs on the embedded in-memory bus. */
  nats?: NatsOptions
  bus?: Bus
  /** What this process hosts (default: everything). */
  roles?: Role[]
  agents?: AgentDef[]
  coordinator?: CoordinatorInput
  heartbeatIntervalMs?: number
  log?: Logger
  clock?: Clock
  workspaceRoot?: string
  /** This process's name on the bus. */
  node?: string
  inspect?: Parameters<typeof startAgent>[0]['inspect']
  /**
   * The workflow service (`hive.<ns>.svc.workflow`): on by default where the coordinator (or the
   * `workflows` role) runs; `false` turns it off. Its runs persist in `store`, by default JetStream
   * KV over NATS and memory on the embedded bus.
   */
  workflows?: boolean | { store?: SnapshotStore }
}

export interface Hive {
  readonly bus: Bus
  readonly client: HiveClient
  readonly coordinator?: CoordinatorHandle
  readonly workflows?: WorkflowServiceHandle
  readonly agents: ReadonlyMap<string, AgentHandle>
  addAgent(def: AgentDef): AgentHandle
  removeAgent(id: string, opts?: { drain?: boolean }): Promise<void>
  /** Drains agents (running tasks finish), stops the coordinator, closes the bus. */
  stop(opts?: { drain?: boolean }): Promise<void>
}

/**
 * Starts a whole hive in this process: coordinator and agents, on the embedded bus unless NATS
 * servers are given.
 *
 * @example
 * const hive = await createHive({
 *   agents: [{ id: 'echo-1', type: 'worker', capabilities: ['echo'], function: async (t) => t.input }],
 * })
 * const rec = await hive.client.submit({ task_type: 'echo', required_capabilities: ['echo'], input: 1 }, { wait: true })
 * await hive.stop()
 */
export async function createHive(o: HiveOptions = {}): Promise<Hive> {
  if (o.bus && o.ns && o.ns !== o.bus.ns) {
    throw new Error(
      `createHive: ns ${JSON.stringify(o.ns)} differs from the given bus's ns ${JSON.stringify(o.bus.ns)}`,
    )
  }
  const ns = o.bus?.ns ?? o.ns ?? 'default'
  const node = o.node ?? `node-${process.pid}`
  const log = o.log ?? createLogger({ actor: node })
  const bus =
    o.bus ??
    (o.nats
      ? await createNatsBus({
          ...o.nats,
          ns,
          node,
          onHandlerError: (err) => log.error({ err }, 'handler failed'),
        })
      : createMemoryBus({ ns, node, onHandlerError: (err) => log.warn({ err }, 'handler failed') }))
  const ownBus = !o.bus
  bus.onStatus((s) => log.info({ status: s }, `bus ${s.type}`))
  const roles = new Set<Role>(o.roles ?? ['coordinator', 'agents'])
  // Agents and coordinator must agree on the pace, or live agents look dead.
  const heartbeatIntervalMs = o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS
  const coordinator = roles.has('coordinator')
    ? startCoordinator({
        bus,
        log,
        clock: o.clock,
        inspect: o.inspect,
        config: { ...o.coordinator, heartbeatIntervalMs },
      })
    : undefined
  const agents = new Map<string, AgentHandle>()
  const client = await createClient({ bus, ns })
  const workflows =
    o.workflows !== false && (roles.has('coordinator') || roles.has('workflows'))
      ? startWorkflowService({
          bus,
          client,
          log,
          clock: o.clock,
          inspect: o.inspect,
          store: await workflowStore(bus, ns, o.workflows, log),
        })
      : undefined

  // This node's agents send their results together (one message per pass for all of them).
  const results = createResultOutbox(bus, log)
  const addAgent = (def: AgentDef): AgentHandle => {
    if (agents.has(def.id)) throw new Error(`an agent with id ${JSON.stringify(def.id)} already runs here`)
    const info = agentInfo.parse({
      agent_id: def.id,
      agent_type: def.type,
      capabilities: def.capabilities,
      max_tasks: def.max_tasks,
      weight: def.weight,
      resources: def.resources,
      metadata: def.metadata,
      node,
    })
    const agent = startAgent({
      bus,
      log,
      info,
      // Relative paths in exec/function mean the caller's working directory, not the task's workspace.
      executor: executorFor({
        ...def,
        baseDir: def.baseDir ?? process.cwd(),
        env: { HIVE_AGENT_ID: def.id, ...def.env },
      }),
      clock: o.clock,
      heartbeatIntervalMs,
      workspaceRoot: o.workspaceRoot ? `${o.workspaceRoot}/${def.id}` : undefined,
      inspect: o.inspect,
      results,
    })
    agents.set(def.id, agent)
    return agent
  }
  if (roles.has('agents')) for (const def of o.agents ?? []) addAgent(def)

  let stopping: Promise<void> | undefined
  return {
    bus,
    client,
    coordinator,
    workflows,
    agents,
    addAgent,
    async removeAgent(id, opts = {}) {
      const a = agents.get(id)
      if (!a) return
      if (opts.drain) await a.drain()
      await a.stop()
      agents.delete(id)
    },
    stop(opts = {}) {
      stopping ??= (async () => {
        if (opts.drain) await Promise.all([...agents.values()].map((a) => a.drain()))
        await Promise.all([...agents.values()].map((a) => a.stop()))
        await workflows?.stop()
        await coordinator?.stop()
        await client.close()
        if (ownBus) await bus.close()
      })()
      return stopping
    },
  }
}

/** The workflow service's store: the one given, else JetStream KV over NATS, else memory. */
async function workflowStore(
  bus: Bus,
  ns: string,
  opt: HiveOptions['workflows'],
  log: Logger,
): Promise<SnapshotStore> {
  if (typeof opt === 'object' && opt.store) return opt.store
  const nc = (bus as { nc?: Parameters<typeof createKvSnapshotStore>[0] }).nc
  if (!nc) return createMemorySnapshotStore()
  try {
    return await createKvSnapshotStore(nc, ns)
  } catch (err) {
    // A server without JetStream still runs workflows, but they do not survive this process.
    log.warn({ err }, 'no JetStream for workflow snapshots: workflow runs are kept in memory')
    return createMemorySnapshotStore()
  }
}
