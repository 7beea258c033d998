import { describe, expect, it } from 'vitest'
import {
  coordinatorDeadline,
  coordinatorStep,
  createCoordinatorContext,
  createCoordinatorMachine,
  getTask,
  listAgents,
  listTasks,
} from '../../src/machines/coordinatorMachine.ts'
import { agentInfo, harness, ofType, resultOf, taskOf } from './coordinatorHarness.ts'

const assigned = (out: ReturnType<ReturnType<typeof harness>['send']>) =>
  ofType(out, 'assign').map((a) => `${a.task.task_id}@${a.agentId}#${a.attempt}`)

describe('coordinator', () => {
  it('coordinator - assigns a submitted task to a capable agent and completes it once', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    const out = h.send({ type: 'task.submit', task: taskOf('t1') })
    expect(assigned(out)).toEqual(['t1@a1#1'])
    expect(ofType(out, 'taskEvent').map((e) => e.event)).toEqual(['queued', 'assigned'])
    h.now = 50
    const done = ofType(
      h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1', 'success', { output: 42 }) }),
      'taskDone',
    )
    expect(done).toHaveLength(1)
    expect(done[0].record).toMatchObject({
      task_id: 't1',
      status: 'success',
      output: 42,
      attempts: 1,
      agent_id: 'a1',
    })
    // A duplicate delivery of the same result is stale now.
    const dup = h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1') })
    expect(ofType(dup, 'taskDone')).toHaveLength(0)
    expect(ofType(dup, 'taskEvent')[0].event).toBe('staleResult')
  })

  it('coordinator - ignores a duplicate task_id (idempotent submit)', () => {
    const h = harness()
    h.send({ type: 'task.submit', task: taskOf('t1', { priority: 2 }) })
    expect(h.send({ type: 'task.submit', task: taskOf('t1', { priority: 9 }) })).toEqual([])
    expect(getTask(h.ctx(), 't1')?.task.priority).toBe(2)
  })

  it('coordinator - dispatches higher priority first and FIFO within a priority', () => {
    const h = harness()
    for (const [id, p] of [
      ['low', 1],
      ['hiA', 9],
      ['mid', 5],
      ['hiB', 9],
    ] as const) {
      h.send({ type: 'task.submit', task: taskOf(id, { priority: p }) })
    }
    const out = h.send({ type: 'agent.register', info: agentInfo('a1', { max_tasks: 10 }) })
    expect(ofType(out, 'assign').map((a) => a.task.task_id)).toEqual(['hiA', 'hiB', 'mid', 'low'])
  })

  it('coordinator - a task nobody can run does not block lower-priority tasks', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('gpu', { priority: 10, required_capabilities: ['gpu'] }) })
    expect(assigned(h.send({ type: 'task.submit', task: taskOf('t1', { priority: 1 }) }))).toEqual([
      't1@a1#1',
    ])
    expect(getTask(h.ctx(), 'gpu')?.status).toBe('queued')
  })

  it('coordinator - a freed slot goes to the waiting higher-priority task, not the older lower one', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('busy') })
    h.send({ type: 'task.submit', task: taskOf('low', { priority: 1 }) })
    h.send({ type: 'task.submit', task: taskOf('high', { priority: 8 }) })
    expect(assigned(h.send({ type: 'task.result', result: resultOf('busy', 1, 'a1') }))).toEqual([
      'high@a1#1',
    ])
  })

  it('coordinator - routes only to eligible agents (capacity, capabilities, type, exclusions, drain, liveness)', () => {
    const h = harness({ heartbeatIntervalMs: 1000 })
    h.send({ type: 'agent.register', info: agentInfo('full', { capabilities: ['CODE', 'rust'] }) })
    h.send({ type: 'task.submit', task: taskOf('fill', { required_capabilities: ['rust'] }) })
    h.send({
      type: 'agent.register',
      info: agentInfo('typed', { agent_type: 'reviewer', capabilities: ['code', 'rust'] }),
    })
    h.send({ type: 'agent.register', info: agentInfo('excluded', { capabilities: ['code', 'rust'] }) })
    h.send({ type: 'agent.register', info: agentInfo('drained', { capabilities: ['code', 'rust'] }) })
    h.send({ type: 'agent.drain', agentId: 'drained' })
    const t = taskOf('t', {
      required_capabilities: ['rust'],
      required_agent_type: 'worker',
      exclude_agents: ['excluded'],
    })
    expect(assigned(h.send({ type: 'task.submit', task: t }))).toEqual([])
    // A fresh eligible agent that then goes silent becomes suspect and gets nothing.
    h.send({ type: 'agent.register', info: agentInfo('quiet', { capabilities: ['rust', 'code'] }), now: 0 })
    expect(getTask(h.ctx(), 't')?.agent_id).toBe('quiet')
  })

  it('coordinator - a suspect agent gets no new work', () => {
    const h = harness({ heartbeatIntervalMs: 1000 })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    const out = h.at(3000)
    expect(ofType(out, 'agentEvent').map((e) => e.event)).toEqual(['suspect'])
    expect(assigned(h.send({ type: 'task.submit', task: taskOf('t1') }))).toEqual([])
    const back = h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 0, running: [] })
    expect(ofType(back, 'agentEvent').map((e) => e.event)).toEqual(['revived'])
    expect(assigned(back)).toEqual(['t1@a1#1'])
  })

  it('coordinator - retries a failure with exponential backoff, then fails for good', () => {
    const h = harness({ heartbeatIntervalMs: 1e6 })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    const retry = { max_retries: 2, backoff: 'exponential' as const, initial_delay: 1, max_delay: 60 }
    h.send({ type: 'task.submit', task: taskOf('t1', { retry }) })
    h.now = 100
    const r1 = h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1', 'failed', { error: 'boom' }) })
    expect(ofType(r1, 'taskEvent').find((e) => e.event === 'retrying')?.data).toMatchObject({
      attempt: 2,
      notBefore: 1100,
    })
    expect(coordinatorDeadline(h.ctx())).toBe(1100)
    expect(assigned(h.at(1099))).toEqual([])
    expect(assigned(h.at(1100))).toEqual(['t1@a1#2'])
    h.send({ type: 'task.result', result: resultOf('t1', 2, 'a1', 'failed') })
    expect(assigned(h.at(1100 + 1999))).toEqual([])
    expect(assigned(h.at(1100 + 2000))).toEqual(['t1@a1#3'])
    const last = h.send({
      type: 'task.result',
      result: resultOf('t1', 3, 'a1', 'failed', { error: 'again' }),
    })
    expect(ofType(last, 'taskDone')[0].record).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'again',
    })
  })

  it('coordinator - fixed backoff waits initial_delay every time, exponential is capped at max_delay', () => {
    const h = harness({
      defaultRetry: { max_retries: 5, backoff: 'exponential', initial_delay: 10, max_delay: 15 },
      heartbeatIntervalMs: 1e6,
    })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('exp') })
    h.send({ type: 'task.result', result: resultOf('exp', 1, 'a1', 'failed') })
    expect(assigned(h.at(10_000))).toEqual(['exp@a1#2'])
    h.send({ type: 'task.result', result: resultOf('exp', 2, 'a1', 'failed') })
    expect(coordinatorDeadline(h.ctx())).toBe(25_000)
    h.send({ type: 'task.cancel', taskId: 'exp' })
    const fixed = { max_retries: 3, backoff: 'fixed' as const, initial_delay: 2, max_delay: 60 }
    h.send({ type: 'task.submit', task: taskOf('fix', { retry: fixed }) })
    h.send({ type: 'task.result', result: resultOf('fix', 1, 'a1', 'failed') })
    expect(assigned(h.at(h.now + 2000))).toEqual(['fix@a1#2'])
    h.send({ type: 'task.result', result: resultOf('fix', 2, 'a1', 'failed') })
    expect(coordinatorDeadline(h.ctx())).toBe(h.now + 2000)
  })

  it('coordinator - a result of an old attempt or another agent is stale', () => {
    const h = harness({ defaultRetry: { max_retries: 1, initial_delay: 0 } })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1', 'failed') })
    expect(getTask(h.ctx(), 't1')).toMatchObject({ status: 'assigned', attempts: 2 })
    expect(ofType(h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1') }), 'taskDone')).toEqual([])
    expect(ofType(h.send({ type: 'task.result', result: resultOf('t1', 2, 'zz') }), 'taskDone')).toEqual([])
    expect(ofType(h.send({ type: 'task.result', result: resultOf('t1', 2, 'a1') }), 'taskDone')).toHaveLength(
      1,
    )
  })

  it('coordinator - a timeout cancels the attempt at the agent and retries, then finishes as timeout', () => {
    const h = harness({ defaultRetry: { max_retries: 1, backoff: 'fixed', initial_delay: 0 } })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'agent.register', info: agentInfo('a2') })
    h.send({ type: 'task.submit', task: taskOf('t1', { timeout: 5 }) })
    expect(coordinatorDeadline(h.ctx())).toBe(3000) // heartbeat expiry comes first
    const t1 = (attempt: number) => [{ task_id: 't1', attempt }]
    h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 1, running: t1(1), now: 2500 })
    h.send({ type: 'agent.heartbeat', agentId: 'a2', load: 0, running: [], now: 2500 })
    h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 1, running: t1(1), now: 4900 })
    h.send({ type: 'agent.heartbeat', agentId: 'a2', load: 0, running: [], now: 4900 })
    const out = h.at(5000)
    expect(ofType(out, 'cancel')).toEqual([{ type: 'cancel', agentId: 'a1', taskId: 't1', attempt: 1 }])
    expect(assigned(out)).toEqual(['t1@a2#2'])
    h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 0, running: [], now: 7000 })
    h.send({ type: 'agent.heartbeat', agentId: 'a2', load: 1, running: t1(2), now: 7000 })
    const end = h.at(10_000)
    expect(ofType(end, 'taskDone')[0].record).toMatchObject({ status: 'timeout', attempts: 2 })
  })

  it('coordinator - a dead agent loses its tasks to others with attempt + 1, not counted as failures', () => {
    const h = harness({ heartbeatIntervalMs: 1000 })
    h.send({ type: 'agent.register', info: agentInfo('a1', { max_tasks: 2 }) })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    h.send({ type: 'task.submit', task: taskOf('t2') })
    const reg = h.send({ type: 'agent.register', info: agentInfo('a2', { max_tasks: 2 }), now: 5000 })
    expect(ofType(reg, 'agentEvent').map((e) => `${e.agentId}:${e.event}`)).toEqual([
      'a2:registered',
      'a1:suspect',
    ])
    expect(assigned(reg)).toEqual([])
    const out = h.at(6000)
    expect(ofType(out, 'agentEvent').map((e) => `${e.agentId}:${e.event}`)).toEqual(['a1:dead'])
    expect(assigned(out).sort()).toEqual(['t1@a2#2', 't2@a2#2'])
    expect(h.ctx().tasks.t1.failures).toBe(0)
    expect(h.ctx().agents.a1.breaker.state).toBe('closed')
    // The dead agent's late result is stale.
    expect(ofType(h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1') }), 'taskDone')).toEqual([])
    // A heartbeat revives it, and the attempts it still runs are cancelled.
    const back = h.send({
      type: 'agent.heartbeat',
      agentId: 'a1',
      load: 1,
      running: [{ task_id: 't2', attempt: 1 }],
    })
    expect(ofType(back, 'agentEvent').map((e) => e.event)).toEqual(['revived'])
    expect(ofType(back, 'cancel')).toEqual([{ type: 'cancel', agentId: 'a1', taskId: 't2', attempt: 1 }])
    expect(listAgents(h.ctx(), h.now).find((a) => a.agent_id === 'a1')).toMatchObject({
      state: 'alive',
      load: 0,
    })
  })

  it('coordinator - re-registering an agent revives it with nothing in flight', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    const out = h.send({ type: 'agent.register', info: agentInfo('a1') })
    expect(ofType(out, 'taskEvent').find((e) => e.event === 'requeued')?.data).toMatchObject({
      reason: 'agent_restarted',
    })
    expect(assigned(out)).toEqual(['t1@a1#2'])
  })

  it('coordinator - deregistering requeues in-flight work; draining finishes it but takes no more', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'agent.register', info: agentInfo('a2') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    h.send({ type: 'task.submit', task: taskOf('t2') })
    h.send({ type: 'task.submit', task: taskOf('t3') })
    expect(ofType(h.send({ type: 'agent.drain', agentId: 'a1' }), 'agentEvent').map((e) => e.event)).toEqual([
      'draining',
    ])
    const fin = h.send({ type: 'task.result', result: resultOf('t1', 1, 'a1') })
    expect(ofType(fin, 'agentEvent').map((e) => e.event)).toEqual(['drained'])
    expect(assigned(fin)).toEqual([])
    const gone = h.send({ type: 'agent.deregister', agentId: 'a2' })
    expect(ofType(gone, 'taskEvent').map((e) => e.event)).toContain('requeued')
    expect(getTask(h.ctx(), 't2')).toMatchObject({ status: 'queued', attempts: 1 })
    expect(listAgents(h.ctx(), h.now).map((a) => a.agent_id)).toEqual(['a1'])
    expect(assigned(h.send({ type: 'agent.register', info: agentInfo('a3') }))).toEqual(['t2@a3#2'])
  })

  it('coordinator - cancels queued tasks at once and running ones at their agent', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('run') })
    h.send({ type: 'task.submit', task: taskOf('wait') })
    const q = h.send({ type: 'task.cancel', taskId: 'wait' })
    expect(ofType(q, 'taskDone')[0].record.status).toBe('cancelled')
    expect(ofType(q, 'cancel')).toEqual([])
    h.send({ type: 'task.started', taskId: 'run', attempt: 1, agentId: 'a1', now: 10 })
    expect(getTask(h.ctx(), 'run')).toMatchObject({ status: 'running', started_at: 10 })
    const r = h.send({ type: 'task.cancel', taskId: 'run' })
    expect(ofType(r, 'cancel')).toEqual([{ type: 'cancel', agentId: 'a1', taskId: 'run', attempt: 1 }])
    expect(ofType(r, 'taskDone')[0].record.status).toBe('cancelled')
    expect(h.send({ type: 'task.cancel', taskId: 'run' })).toEqual([])
    expect(ofType(h.send({ type: 'task.result', result: resultOf('run', 1, 'a1') }), 'taskDone')).toEqual([])
  })

  it('coordinator - tasks with resources wait for the allocator; denials and preemptions requeue', () => {
    const h = harness({ allocationRetryMs: 500 })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'agent.register', info: agentInfo('a2') })
    const out = h.send({
      type: 'task.submit',
      task: taskOf('t1', { resources: { cpu_cores: 2 }, priority: 7 }),
    })
    expect(ofType(out, 'allocate')).toEqual([
      {
        type: 'allocate',
        requestId: 't1#1',
        owner: 't1',
        agentId: 'a1',
        priority: 7,
        resources: { cpu_cores: 2 },
      },
    ])
    expect(assigned(out)).toEqual([])
    // Denied: back in the queue, later, on the other agent first; not a failure.
    expect(
      ofType(h.send({ type: 'allocation.denied', requestId: 't1#1', reason: 'no cpu' }), 'allocate'),
    ).toEqual([])
    const again = h.at(500)
    expect(ofType(again, 'allocate').map((a) => `${a.requestId}@${a.agentId}`)).toEqual(['t1#2@a2'])
    // A grant for the old request is given back.
    expect(h.send({ type: 'allocation.granted', requestId: 't1#1' })).toEqual([
      { type: 'release', requestId: 't1#1' },
    ])
    expect(assigned(h.send({ type: 'allocation.granted', requestId: 't1#2' }))).toEqual(['t1@a2#2'])
    // Preempted while running: cancelled at the agent and requeued with the next attempt.
    const pre = h.send({ type: 'allocation.preempted', requestId: 't1#2' })
    expect(ofType(pre, 'cancel')).toEqual([{ type: 'cancel', agentId: 'a2', taskId: 't1', attempt: 2 }])
    expect(ofType(pre, 'allocate').map((a) => a.requestId)).toEqual(['t1#3'])
    h.send({ type: 'allocation.granted', requestId: 't1#3' })
    const done = h.send({
      type: 'task.result',
      result: resultOf('t1', 3, getTask(h.ctx(), 't1')?.agent_id as string),
    })
    expect(ofType(done, 'release')).toEqual([{ type: 'release', requestId: 't1#3' }])
    expect(ofType(done, 'taskDone')[0].record).toMatchObject({ status: 'success', attempts: 3 })
    expect(h.ctx().tasks.t1.failures).toBe(0)
  })

  it('coordinator - opens an agent breaker after repeated failures, probes after recovery, closes on success', () => {
    const h = harness({
      breaker: { failureThreshold: 2, windowMs: 10_000, recoveryTimeoutMs: 1000 },
      defaultRetry: { max_retries: 0 },
      heartbeatIntervalMs: 100_000,
    })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('f1') })
    h.send({ type: 'task.result', result: resultOf('f1', 1, 'a1', 'failed') })
    h.send({ type: 'task.submit', task: taskOf('f2') })
    const opened = h.send({ type: 'task.result', result: resultOf('f2', 1, 'a1', 'failed') })
    expect(ofType(opened, 'agentEvent').map((e) => e.event)).toEqual(['breakerOpened'])
    expect(assigned(h.send({ type: 'task.submit', task: taskOf('p') }))).toEqual([])
    expect(listAgents(h.ctx(), h.now)[0]).toMatchObject({ breaker: 'open', available: false })
    expect(coordinatorDeadline(h.ctx())).toBe(1000)
    const probe = h.at(1000)
    expect(assigned(probe)).toEqual(['p@a1#1'])
    h.send({ type: 'task.submit', task: taskOf('q') })
    h.send({ type: 'agent.register', info: agentInfo('a1', { max_tasks: 5 }), now: 1000 })
    // Re-registration requeued the probe: the breaker lets the next task probe instead.
    expect(h.ctx().agents.a1.breaker).toEqual({ state: 'half-open', probeInFlight: true })
    expect(h.ctx().agents.a1.load).toBe(1)
    const closed = h.send({ type: 'task.result', result: resultOf('p', 2, 'a1') })
    expect(ofType(closed, 'agentEvent').map((e) => e.event)).toEqual(['breakerClosed'])
    expect(assigned(closed)).toEqual(['q@a1#1'])
  })

  it('coordinator - query helpers show agents, tasks and records', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1', { capabilities: ['Code', 'go'] }) })
    h.send({ type: 'agent.register', info: agentInfo('a2', { agent_type: 'reviewer' }) })
    h.send({ type: 'task.submit', task: taskOf('t1', { required_agent_type: 'reviewer' }) })
    h.send({ type: 'task.submit', task: taskOf('t2', { required_capabilities: ['go'] }) })
    h.send({ type: 'task.submit', task: taskOf('t3', { required_capabilities: ['go'] }) })
    expect(listAgents(h.ctx(), 0, { capability: 'GO' }).map((a) => a.capabilities)).toEqual([['code', 'go']])
    expect(listAgents(h.ctx(), 0, { agent_type: 'reviewer' })[0]).toMatchObject({ load: 1, available: false })
    expect(
      listAgents(h.ctx(), 0, { has_capacity: false })
        .map((a) => a.agent_id)
        .sort(),
    ).toEqual(['a1', 'a2'])
    expect(listAgents(h.ctx(), 6000)[0].state).toBe('dead')
    expect(listTasks(h.ctx(), 'queued').map((t) => t.task_id)).toEqual(['t3'])
    expect(listTasks(h.ctx(), { status: 'assigned', limit: 1 })).toHaveLength(1)
    expect(listTasks(h.ctx(), { task_ids: ['t3', 'nope'] })[0]).toMatchObject({ task_id: 't3', attempts: 0 })
    expect(getTask(h.ctx(), 'nope')).toBeUndefined()
  })

  it('coordinator - prunes the oldest finished tasks beyond retainFinished', () => {
    const h = harness({ retainFinished: 2 })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    for (const id of ['t1', 't2', 't3']) {
      h.send({ type: 'task.submit', task: taskOf(id) })
      h.send({ type: 'task.result', result: resultOf(id, 1, 'a1') })
    }
    expect(getTask(h.ctx(), 't1')).toBeUndefined()
    expect(getTask(h.ctx(), 't3')?.status).toBe('success')
  })

  it('coordinator - the predictive strategy routes away from an agent that learned to be slow', () => {
    const h = harness({ strategy: 'predictive' })
    h.send({ type: 'agent.register', info: agentInfo('slow', { max_tasks: 4 }) })
    h.send({ type: 'agent.register', info: agentInfo('fast', { max_tasks: 4 }) })
    for (const [id, agent, ms] of [
      ['x', 'fast', 100],
      ['y', 'slow', 5000],
    ] as const) {
      h.send({
        type: 'task.submit',
        task: taskOf(id, { exclude_agents: [agent === 'fast' ? 'slow' : 'fast'] }),
      })
      h.send({
        type: 'task.result',
        result: resultOf(id, 1, agent, 'success', { started_at: 0, finished_at: ms }),
      })
    }
    const out = [1, 2, 3].flatMap((i) => assigned(h.send({ type: 'task.submit', task: taskOf(`t${i}`) })))
    expect(out).toEqual(['t1@fast#1', 't2@fast#1', 't3@fast#1'])
  })

  it('coordinator - work per task stays flat as the backlog grows (no quadratic scans)', () => {
    // Submit n tasks to 20 busy agents, then complete them all; time per task at 8n vs n. A scan of
    // the queue or the task table per event would make the ratio about 8; linear work keeps it near 1.
    const perTask = (n: number): number => {
      const ctx = createCoordinatorContext({ heartbeatIntervalMs: 1e9 })
      for (let i = 0; i < 20; i++)
        coordinatorStep(ctx, { type: 'agent.register', info: agentInfo(`a${i}`, { max_tasks: 4 }), now: 0 })
      const started = performance.now()
      for (let i = 0; i < n; i++) {
        coordinatorStep(ctx, {
          type: 'task.submit',
          task: taskOf(`t${i}`, { priority: (i % 10) + 1 }),
          now: 0,
        })
      }
      let done = 0
      while (done < n) {
        for (const id in ctx.agents) {
          for (const [t, at] of Object.entries(ctx.agents[id].running)) {
            const out = coordinatorStep(ctx, { type: 'task.result', result: resultOf(t, at, id), now: 1 })
            done += ofType(out, 'taskDone').length
          }
        }
      }
      return (performance.now() - started) / n
    }
    perTask(1000) // warm up the JIT
    const small = Math.min(perTask(1000), perTask(1000))
    const large = perTask(8000)
    expect(large / small).toBeLessThan(4)
  })

  it('coordinator - createCoordinatorMachine() defaults to the correct rules (max_tasks enforced)', () => {
    const h = harness({}, createCoordinatorMachine())
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    expect(assigned(h.send({ type: 'task.submit', task: taskOf('t2') }))).toEqual([])
  })

  // Regression: an assignment or a result lost in transit (a server restart) left the task
  // assigned forever; the agent's heartbeat shows it is not running it.
  it('coordinator - an attempt its agent no longer lists after the grace period is requeued, not lost', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 0, running: [], now: 1000 })
    expect(h.ctx().tasks.t1.attempt).toBe(1) // inside the grace: the assignment may be in flight
    const out = h.at(2500)
    expect(out).toEqual([])
    h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 0, running: [], now: 2600 })
    expect(h.ctx().tasks.t1.attempt).toBe(2)
    expect(h.ctx().tasks.t1.status).toBe('assigned')
    expect(h.ctx().tasks.t1.failures).toBe(0)
  })

  it('coordinator - an attempt the agent rejects goes to another agent without counting as a failure', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    expect(h.ctx().tasks.t1.agentId).toBe('a1')
    h.send({ type: 'agent.register', info: agentInfo('a2') })
    h.send({ type: 'task.rejected', taskId: 't1', attempt: 1, agentId: 'a1', reason: 'draining', now: 10 })
    expect(h.ctx().tasks.t1).toMatchObject({ attempt: 2, status: 'queued', failures: 0 })
    // After a short pause (no bouncing off an agent that just said no), another agent takes it.
    h.at(10 + 1000)
    expect(h.ctx().tasks.t1).toMatchObject({ attempt: 2, agentId: 'a2', status: 'assigned' })
    // A stale rejection changes nothing.
    h.send({ type: 'task.rejected', taskId: 't1', attempt: 1, agentId: 'a1', reason: 'late', now: 1011 })
    expect(h.ctx().tasks.t1).toMatchObject({ attempt: 2, agentId: 'a2' })
  })

  // Regression: a timed-out attempt's slot was freed at the cancel, while the agent still held it
  // until its process died, so the retry bounced off the "full" agent thousands of times.
  it('coordinator - a cancelled attempt keeps its slot until the agent reports it ended', () => {
    const h = harness({ defaultRetry: { max_retries: 1, backoff: 'fixed', initial_delay: 0 } })
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1', { timeout: 1 }) })
    h.send({
      type: 'agent.heartbeat',
      agentId: 'a1',
      load: 1,
      running: [{ task_id: 't1', attempt: 1 }],
      now: 900,
    })
    const out = h.at(1000)
    expect(ofType(out, 'cancel')).toEqual([{ type: 'cancel', agentId: 'a1', taskId: 't1', attempt: 1 }])
    expect(assigned(out)).toEqual([]) // a1 is still busy killing attempt 1
    expect(h.ctx().tasks.t1.status).toBe('queued')
    h.send({
      type: 'task.result',
      result: {
        task_id: 't1',
        attempt: 1,
        agent_id: 'a1',
        status: 'cancelled',
        started_at: 0,
        finished_at: 1100,
      },
      now: 1100,
    })
    expect(h.ctx().tasks.t1).toMatchObject({ status: 'assigned', attempt: 2, agentId: 'a1' })
  })

  it('coordinator - a dying attempt the agent stops listing frees its slot', () => {
    const h = harness()
    h.send({ type: 'agent.register', info: agentInfo('a1') })
    h.send({ type: 'task.submit', task: taskOf('t1') })
    h.send({ type: 'task.cancel', taskId: 't1', now: 10 })
    expect(h.ctx().agents.a1.load).toBe(1)
    h.send({ type: 'agent.heartbeat', agentId: 'a1', load: 0, running: [], now: 500 })
    expect(h.ctx().agents.a1.load).toBe(0)
  })
})
