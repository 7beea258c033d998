// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow expressions are written as ${{ }} in plain strings
import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../../src/machines/backoff.ts'
import { workflowDeadline, workflowSummary } from '../../src/machines/workflowMachine.ts'
import { result, startRun, workflow } from './workflowHarness.ts'

const submitted = (run: ReturnType<typeof startRun>) =>
  run.of('submit').map((e) => `${e.taskId}#${e.attempt}`)

describe('workflowMachine', () => {
  it('workflowMachine - submits roots, then dependants with interpolated input and full spec', () => {
    const run = startRun(
      workflow([
        { task_id: 'a', input: { n: 1 } },
        {
          task_id: 'b',
          depends_on: ['a'],
          input: { from_a: '${{ tasks.a.output.v }}', msg: 'run ${{ workflow.run_id }}' },
          agent_type: 'coder',
          capabilities: ['ts'],
          timeout: 30,
          priority: 8,
          run: 'make',
          description: 'build it',
        },
      ]),
    )
    expect(submitted(run)).toEqual(['a#1'])
    expect(run.status('b')).toBe('pending')
    run.send(result(run, 'a', 'success', 10, { output: { v: 42 }, agent_id: 'ag1' }))
    const spec = run.of('submit')[1].spec
    expect(spec).toEqual({
      task_id: 'run1:b:1',
      task_type: 'b',
      description: 'build it',
      required_capabilities: ['ts'],
      required_agent_type: 'coder',
      priority: 8,
      timeout: 30,
      input: { from_a: 42, msg: 'run run1' },
      workflow_id: 'wf',
      metadata: { workflow_id: 'wf', run_id: 'run1', task_id: 'b', attempt: 1, run: 'make' },
    })
    expect(workflowSummary(run.actor.getSnapshot()).tasks.a).toMatchObject({
      agent_id: 'ag1',
      output: { v: 42 },
    })
  })

  it('workflowMachine - a task waits for every dependency, not just one', () => {
    const run = startRun(
      workflow([{ task_id: 'a' }, { task_id: 'b' }, { task_id: 'c', depends_on: ['a', 'b'] }]),
    )
    run.send(result(run, 'a', 'success', 5))
    expect(run.status('c')).toBe('pending')
    run.send(result(run, 'b', 'success', 6))
    expect(run.status('c')).toBe('running')
  })

  it('workflowMachine - a false when skips the task and, in turn, its dependants', () => {
    const run = startRun(
      workflow(
        [
          { task_id: 'a', when: '${{ vars.env == "prod" }}' },
          { task_id: 'b', depends_on: ['a'] },
          { task_id: 'c', when: "vars.env == 'dev'" },
        ],
        { vars: { env: 'dev' } },
      ),
    )
    expect(run.status('a')).toBe('skipped')
    expect(run.status('b')).toBe('skipped')
    expect(run.status('c')).toBe('running')
    run.send(result(run, 'c', 'success', 5))
    expect(run.actor.getSnapshot().value).toBe('success')
  })

  it('workflowMachine - when is evaluated against finished outputs at readiness', () => {
    const run = startRun(
      workflow([{ task_id: 'a' }, { task_id: 'b', depends_on: ['a'], when: '${{ tasks.a.output.deploy }}' }]),
    )
    run.send(result(run, 'a', 'success', 5, { output: { deploy: false } }))
    expect(run.status('b')).toBe('skipped')
  })

  it('workflowMachine - a failure() condition runs a cleanup task after a dependency failed', () => {
    const run = startRun(
      workflow([
        { task_id: 'a' },
        { task_id: 'b' },
        { task_id: 'notify', depends_on: ['a', 'b'], when: '${{ failure() }}' },
        { task_id: 'always', depends_on: ['a'], when: 'always()' },
        { task_id: 'next', depends_on: ['a'] },
      ]),
    )
    run.send(result(run, 'a', 'failed', 5, { error: 'boom' }))
    expect(run.status('next')).toBe('skipped')
    expect(run.status('always')).toBe('running')
    expect(run.status('notify')).toBe('pending')
    run.send(result(run, 'b', 'success', 6))
    expect(run.status('notify')).toBe('running')
  })

  it('workflowMachine - a when that does not parse fails the task', () => {
    const run = startRun(workflow([{ task_id: 'a', when: '${{ tasks.( }}' }]))
    expect(run.status('a')).toBe('failed')
    expect(run.actor.getSnapshot().context.tasks.a.error).toMatch(/^when:/)
    expect(run.actor.getSnapshot().value).toBe('failed')
  })

  it('workflowMachine - an approval gate holds the task until approved', () => {
    const run = startRun(workflow([{ task_id: 'a', approval: { required: true, message: 'ship it?' } }]))
    expect(run.status('a')).toBe('waiting_approval')
    expect(run.of('approvalNeeded')).toEqual([{ type: 'approvalNeeded', taskId: 'a', message: 'ship it?' }])
    expect(run.of('submit')).toEqual([])
    run.send({ type: 'approve', taskId: 'a', by: 'alice', now: 5 })
    expect(submitted(run)).toEqual(['a#1'])
    expect(run.actor.getSnapshot().context.tasks.a.approvedBy).toBe('alice')
  })

  it('workflowMachine - a rejection fails the task with the reason and applies fail_fast', () => {
    const run = startRun(
      workflow([{ task_id: 'a', approval: { required: true } }, { task_id: 'b' }], {
        on_failure: 'fail_fast',
      }),
    )
    run.send({ type: 'reject', taskId: 'a', reason: 'not today', now: 5 })
    const s = workflowSummary(run.actor.getSnapshot())
    expect(s.status).toBe('failed')
    expect(s.tasks.a).toMatchObject({ status: 'failed', error: 'rejected: not today' })
    expect(s.tasks.b.status).toBe('cancelled')
    expect(run.of('cancelTask')).toEqual([
      { type: 'cancelTask', taskId: 'b', attempt: 1, attemptId: 'run1:b:1' },
    ])
  })

  it('workflowMachine - max_parallel caps running tasks; higher priority goes first, then definition order', () => {
    const run = startRun(
      workflow(
        [
          { task_id: 'low', priority: 2 },
          { task_id: 'mid1', priority: 5 },
          { task_id: 'high', priority: 9 },
          { task_id: 'mid2', priority: 5 },
        ],
        { max_parallel: 2 },
      ),
    )
    expect(submitted(run)).toEqual(['high#1', 'mid1#1'])
    run.send(result(run, 'high', 'success', 5))
    expect(submitted(run)).toEqual(['high#1', 'mid1#1', 'mid2#1'])
    run.send(result(run, 'mid1', 'success', 6))
    run.send(result(run, 'mid2', 'success', 7))
    expect(submitted(run)).toEqual(['high#1', 'mid1#1', 'mid2#1', 'low#1'])
  })

  it('workflowMachine - retries after exponential backoff via tick, at most max_retries + 1 attempts', () => {
    const run = startRun(
      workflow([
        { task_id: 'a', retry: { max_retries: 2, backoff: 'exponential', initial_delay: 1, max_delay: 60 } },
      ]),
    )
    run.send(result(run, 'a', 'failed', 100, { error: 'e1' }))
    expect(run.status('a')).toBe('ready')
    expect(workflowDeadline(run.actor.getSnapshot().context)).toBe(1100)
    run.send({ type: 'tick', now: 1099 })
    expect(submitted(run)).toEqual(['a#1'])
    run.send({ type: 'tick', now: 1100 })
    expect(submitted(run)).toEqual(['a#1', 'a#2'])
    run.send(result(run, 'a', 'timeout', 2000))
    expect(workflowDeadline(run.actor.getSnapshot().context)).toBe(4000)
    run.send({ type: 'tick', now: 4000 })
    run.send(result(run, 'a', 'failed', 5000, { error: 'e3' }))
    expect(submitted(run)).toEqual(['a#1', 'a#2', 'a#3'])
    expect(workflowSummary(run.actor.getSnapshot())).toMatchObject({
      status: 'failed',
      tasks: { a: { status: 'failed', attempts: 3, error: 'e3' } },
    })
  })

  it('workflowMachine - results of stale attempts and duplicates are ignored', () => {
    const run = startRun(
      workflow([{ task_id: 'a', retry: { max_retries: 1, initial_delay: 0 } }, { task_id: 'z' }]),
    )
    run.send(result(run, 'a', 'failed', 10))
    expect(submitted(run)).toEqual(['a#1', 'z#1', 'a#2'])
    run.send(result(run, 'a', 'success', 11, { attempt: 1, output: 'stale' }))
    expect(run.status('a')).toBe('running')
    run.send(result(run, 'a', 'success', 12, { output: 'fresh' }))
    run.send(result(run, 'a', 'failed', 13, { attempt: 2, output: 'duplicate' }))
    expect(workflowSummary(run.actor.getSnapshot()).tasks.a).toMatchObject({
      status: 'success',
      output: 'fresh',
    })
    expect(run.actor.getSnapshot().value).toBe('running')
  })

  it('workflowMachine - a cancelled result is final, never retried', () => {
    const run = startRun(workflow([{ task_id: 'a', retry: { max_retries: 3, initial_delay: 0 } }]))
    run.send(result(run, 'a', 'cancelled', 10))
    expect(submitted(run)).toEqual(['a#1'])
    expect(run.actor.getSnapshot().value).toBe('failed')
  })

  it('workflowMachine - fail_fast cancels running tasks and everything unstarted', () => {
    const run = startRun(
      workflow([{ task_id: 'a' }, { task_id: 'b' }, { task_id: 'c', depends_on: ['b'] }, { task_id: 'd' }], {
        on_failure: 'fail_fast',
        max_parallel: 2,
      }),
    )
    run.send(result(run, 'a', 'failed', 10, { error: 'boom' }))
    const snap = run.actor.getSnapshot()
    expect(snap.value).toBe('failed')
    expect(run.of('cancelTask').map((e) => e.taskId)).toEqual(['b'])
    expect(Object.values(workflowSummary(snap).tasks).map((t) => t.status)).toEqual([
      'failed',
      'cancelled',
      'cancelled',
      'cancelled',
    ])
    expect(snap.context.error).toBe('task a failed: boom')
    expect(run.of('runFinished')).toEqual([
      { type: 'runFinished', status: 'failed', tasks: workflowSummary(snap).tasks },
    ])
  })

  it('workflowMachine - continue skips dependants of a failure, runs the rest, ends failed', () => {
    const run = startRun(workflow([{ task_id: 'a' }, { task_id: 'b', depends_on: ['a'] }, { task_id: 'c' }]))
    run.send(result(run, 'a', 'failed', 10))
    expect(run.status('b')).toBe('skipped')
    expect(run.status('c')).toBe('running')
    expect(run.actor.getSnapshot().status).toBe('active')
    run.send(result(run, 'c', 'success', 11))
    expect(run.actor.getSnapshot().value).toBe('failed')
  })

  it('workflowMachine - a tick past the run deadline cancels running tasks and ends timeout', () => {
    const run = startRun(
      workflow([{ task_id: 'a' }, { task_id: 'b', depends_on: ['a'] }], { timeout: 60 }),
      undefined,
      1000,
    )
    expect(workflowDeadline(run.actor.getSnapshot().context)).toBe(61_000)
    run.send({ type: 'tick', now: 60_999 })
    expect(run.actor.getSnapshot().status).toBe('active')
    run.send({ type: 'tick', now: 61_000 })
    expect(run.actor.getSnapshot().value).toBe('timeout')
    expect(run.of('cancelTask').map((e) => e.taskId)).toEqual(['a'])
    expect(workflowSummary(run.actor.getSnapshot()).tasks.b.status).toBe('cancelled')
    expect(workflowDeadline(run.actor.getSnapshot().context)).toBeUndefined()
  })

  it('workflowMachine - cancel stops everything running; cancel before start ends at once', () => {
    const run = startRun(workflow([{ task_id: 'a' }, { task_id: 'b' }]))
    run.send({ type: 'cancel', reason: 'user', now: 5 })
    expect(run.actor.getSnapshot().value).toBe('cancelled')
    expect(run.of('cancelTask').map((e) => e.taskId)).toEqual(['a', 'b'])
    expect(run.actor.getSnapshot().context.error).toBe('user')
    expect(run.of('runFinished')).toHaveLength(1)
    const unstarted = startRun(workflow([{ task_id: 'a' }]), undefined, 0, false)
    unstarted.send({ type: 'cancel', now: 1 })
    expect(unstarted.actor.getSnapshot().value).toBe('cancelled')
    expect(unstarted.of('submit')).toEqual([])
    expect(unstarted.status('a')).toBe('cancelled')
  })

  it('workflowMachine - a cyclic or dangling definition fails at start', () => {
    const cyc = startRun(
      workflow([
        { task_id: 'a', depends_on: ['b'] },
        { task_id: 'b', depends_on: ['a'] },
      ]),
    )
    expect(cyc.actor.getSnapshot().value).toBe('failed')
    expect(cyc.actor.getSnapshot().context.error).toBe('dependency cycle: a -> b -> a')
    const dangling = startRun(workflow([{ task_id: 'a', depends_on: ['zz'] }]))
    expect(dangling.actor.getSnapshot().context.error).toMatch(/unknown task zz/)
  })

  it('workflowMachine - an empty workflow succeeds at start', () => {
    const run = startRun(workflow([]))
    expect(run.actor.getSnapshot().value).toBe('success')
    expect(run.of('runFinished')).toHaveLength(1)
  })

  it('workflowMachine - resume after restore resubmits running tasks under the same task_id', () => {
    const run = startRun(
      workflow([
        { task_id: 'a', input: 'x' },
        { task_id: 'b', approval: { required: true } },
      ]),
    )
    const before = run.of('submit')
    run.crash()
    const resent = run.send({ type: 'resume', now: 5 })
    expect(resent).toEqual(before)
    expect(run.status('b')).toBe('waiting_approval')
    run.send(result(run, 'a', 'success', 6, { output: 1 }))
    run.send(result(run, 'a', 'success', 7, { output: 2 }))
    expect(workflowSummary(run.actor.getSnapshot()).tasks.a.output).toBe(1)
  })

  it('workflowMachine - resume of a run persisted before it started starts it', () => {
    const run = startRun(workflow([{ task_id: 'a' }]), undefined, 0, false)
    run.crash()
    run.send({ type: 'resume', now: 3 })
    expect(submitted(run)).toEqual(['a#1'])
    expect(workflowSummary(run.actor.getSnapshot()).status).toBe('running')
  })

  it('workflowMachine - workflowDeadline is the earliest retry or run deadline', () => {
    const run = startRun(
      workflow([{ task_id: 'a', retry: { max_retries: 1, initial_delay: 5 } }], { timeout: 3 }),
      undefined,
      0,
    )
    run.send(result(run, 'a', 'failed', 100))
    expect(workflowDeadline(run.actor.getSnapshot().context)).toBe(3000)
  })
})

describe('backoff', () => {
  it('backoff - fixed waits initial_delay, exponential doubles, both capped by max_delay', () => {
    const p = { max_retries: 5, initial_delay: 2, max_delay: 10 }
    expect([1, 2, 3].map((n) => retryDelayMs({ ...p, backoff: 'fixed' }, n))).toEqual([2000, 2000, 2000])
    expect([1, 2, 3, 4].map((n) => retryDelayMs({ ...p, backoff: 'exponential' }, n))).toEqual([
      2000, 4000, 8000, 10_000,
    ])
    expect(retryDelayMs({ ...p, backoff: 'fixed', initial_delay: 30 }, 1)).toBe(10_000)
  })
})
