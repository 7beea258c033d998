import type { AgentInfo } from '../bus/catalogue.ts'
import type { Bus } from '../bus/createBus.ts'
import { type AllocatorEmitted, allocatorDeadline, allocatorMachine } from '../machines/allocatorMachine.ts'
import type { Clock } from './clock.ts'
import type { Logger } from './createLogger.ts'
import { type HostedActor, hostMachine } from './hostMachine.ts'

/** What the allocator tells the coordinator about the requests the coordinator made. */
export type AllocationAnswer =
  | { type: 'allocation.granted'; requestId: string }
  | { type: 'allocation.denied'; requestId: string; reason: string }
  | { type: 'allocation.preempted'; requestId: string }

export interface AllocatorHandle {
  readonly actor: HostedActor<typeof allocatorMachine>
  /** Registers (or replaces) an agent's capacity: its declared resources plus max_tasks task slots. */
  agentCapacity(info: AgentInfo): void
  /** Feeds a coordinator's `allocate` / `release` emitted event. */
  fromCoordinator(ev: { type: string } & Record<string, unknown>): void
  stop(): void
}

/**
 * Runs the resource allocator beside the coordinator: the coordinator asks it for resources
 * before assigning a task that declares some, and it answers granted, denied or preempted (a
 * preempted task is requeued by the coordinator, never lost). Over-allocation is impossible by
 * construction of the machine; this host only translates.
 */
export function startAllocator(o: {
  bus: Bus
  log: Logger
  clock?: Clock
  answer: (a: AllocationAnswer) => void
  inspect?: Parameters<typeof hostMachine>[0]['inspect']
}): AllocatorHandle {
  const log = o.log.child({ actor: 'allocator' })
  const actor = hostMachine({
    machine: allocatorMachine,
    input: {},
    kind: 'allocator',
    id: 'allocator',
    bus: o.bus,
    log,
    clock: o.clock,
    inspect: o.inspect,
    publishState: false,
    deadline: (s) => allocatorDeadline(s.context),
    onEmit(raw) {
      const ev = raw as unknown as AllocatorEmitted
      switch (ev.type) {
        case 'granted':
          o.answer({ type: 'allocation.granted', requestId: ev.requestId })
          break
        case 'denied':
          o.answer({ type: 'allocation.denied', requestId: ev.requestId, reason: ev.reason })
          break
        case 'preempted':
        case 'revoked':
        case 'expired':
          o.answer({ type: 'allocation.preempted', requestId: ev.requestId })
          break
        case 'deadlock':
          log.warn(
            { cycle: ev.cycle },
            'deadlock among queued resource requests: the lowest-priority one was denied',
          )
          break
      }
    },
  })
  return {
    actor,
    agentCapacity(info) {
      const r = info.resources ?? {}
      actor.send({
        type: 'capacity',
        agentId: info.agent_id,
        capacity: {
          cpu_cores: r.cpu_cores ?? 0,
          memory_mb: r.memory_mb ?? 0,
          disk_mb: r.disk_mb ?? 0,
          network_mbps: r.network_mbps ?? 0,
          task_slots: info.max_tasks,
        },
      })
    },
    fromCoordinator(ev) {
      if (ev.type === 'allocate') {
        actor.send({
          type: 'allocate',
          requestId: ev.requestId as string,
          owner: ev.owner as string,
          agentId: ev.agentId as string,
          priority: ev.priority as number,
          resources: ev.resources as Record<string, number>,
          wait: true,
        })
      } else if (ev.type === 'release') actor.send({ type: 'release', requestId: ev.requestId as string })
    },
    stop: () => actor.stop(),
  }
}
