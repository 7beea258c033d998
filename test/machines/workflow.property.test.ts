// biome-ignore-all lint/suspicious/noTemplateCurlyInString: workflow expressions are written as ${{ }} in plain strings
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { dependencyVerdict } from '../../src/machines/dag.ts'
import { defaultWorkflowRules, type WorkflowRules } from '../../src/machines/reduceWorkflow.ts'
import {
  createWorkflowMachine,
  type WorkflowMachine,
  workflowMachine,
} from '../../src/machines/workflowMachine.ts'
import { arbCrash, arbScenario } from './workflowScenarios.ts'
import { simulate } from './workflowSimulator.ts'

const FINAL = ['success', 'failed', 'timeout', 'skipped', 'cancelled']

// Each property runs on the plain run and on one interrupted by a crash and a resume.
const withCrash = fc.option(arbCrash, { freq: 2 })

const dependenciesRespected = (m: WorkflowMachine) =>
  fc.property(arbScenario, withCrash, (s, crash) => {
    expect(simulate(m, s, crash ?? undefined).violations).toEqual([])
  })

const attemptsBounded = (m: WorkflowMachine) =>
  fc.property(arbScenario, withCrash, (s, crash) => {
    const r = simulate(m, s, crash ?? undefined)
    for (const t of s.def.tasks) {
      const seen = r.attempts[t.task_id] ?? []
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1))
      expect(seen.length).toBeLessThanOrEqual(t.retry.max_retries + 1)
      expect(r.summary.tasks[t.task_id].attempts).toBe(seen.length)
    }
  })

const terminatesOnce = (m: WorkflowMachine) =>
  fc.property(arbScenario, withCrash, (s, crash) => {
    const r = simulate(m, s, crash ?? undefined)
    expect(r.done).toBe(true)
    expect(['success', 'failed', 'cancelled', 'timeout']).toContain(r.value)
    expect(r.runFinished.map((e) => e.status)).toEqual([r.value])
    expect(r.summary.status).toBe(r.value)
    expect(r.runFinished[0].tasks).toEqual(r.summary.tasks)
  })

const nothingLeftRunning = (m: WorkflowMachine) =>
  fc.property(arbScenario, withCrash, (s, crash) => {
    const r = simulate(m, s, crash ?? undefined)
    for (const [id, t] of Object.entries(r.summary.tasks))
      expect([id, FINAL.includes(t.status)]).toEqual([id, true])
    expect(r.orphans).toEqual([])
  })

const resumeEquivalent = (m: WorkflowMachine) =>
  fc.property(arbScenario, arbCrash, (s, crash) => {
    const plain = simulate(m, s)
    const resumed = simulate(m, s, crash)
    expect(resumed.value).toEqual(plain.value)
    expect(resumed.summary).toEqual(plain.summary)
  })

const runs = { numRuns: 100 }
// No shrinking: the mutant checks only need to know that a counterexample exists.
const mutantRuns = { numRuns: 200, endOnFailure: true }
const mutant = (rules: Partial<WorkflowRules>) => createWorkflowMachine({ ...defaultWorkflowRules, ...rules })

describe('workflowMachine properties', () => {
  it('workflowMachine - no task is submitted before its dependencies succeeded, its when held and its gate opened, nor beyond max_parallel, and it gets its dependency output', () => {
    fc.assert(dependenciesRespected(workflowMachine), runs)
  })

  it('workflowMachine - mutant: starting a task when only some dependencies succeeded is caught', () => {
    const some = mutant({
      dependencyVerdict: (t, s) =>
        t.depends_on.length === 0 || t.depends_on.some((d) => s[d] === 'success')
          ? 'run'
          : dependencyVerdict(t, s),
    })
    expect(fc.check(dependenciesRespected(some), mutantRuns).failed).toBe(true)
  })

  it('workflowMachine - a task is submitted at most max_retries + 1 times, attempts numbered 1..n', () => {
    fc.assert(attemptsBounded(workflowMachine), runs)
  })

  it('workflowMachine - mutant: one retry too many is caught', () => {
    const extra = mutant({ mayRetry: (n, r) => n <= r.max_retries + 1 })
    expect(fc.check(attemptsBounded(extra), mutantRuns).failed).toBe(true)
  })

  it('workflowMachine - every run ends in exactly one final state and announces it once', () => {
    fc.assert(terminatesOnce(workflowMachine), runs)
  })

  it('workflowMachine - mutant: never skipping dependants of a failed task hangs the run and is caught', () => {
    const noSkip = mutant({
      dependencyVerdict: (t, s) => (dependencyVerdict(t, s) === 'skip' ? 'wait' : dependencyVerdict(t, s)),
    })
    expect(fc.check(terminatesOnce(noSkip), mutantRuns).failed).toBe(true)
  })

  it('workflowMachine - after the run ends (cancel, fail_fast, timeout or not) nothing is left running', () => {
    fc.assert(nothingLeftRunning(workflowMachine), runs)
  })

  it('workflowMachine - mutant: fail_fast that forgets running tasks is caught', () => {
    const forgetful = mutant({ cancelRunningOnFailFast: false })
    expect(fc.check(nothingLeftRunning(forgetful), mutantRuns).failed).toBe(true)
  })

  it('workflowMachine - a run restored from a persisted snapshot and resumed ends as the uninterrupted run', () => {
    fc.assert(resumeEquivalent(workflowMachine), runs)
  })

  it('workflowMachine - mutant: a resume that resubmits nothing is caught', () => {
    const deaf = workflowMachine.provide({ actions: { resume: () => {} } })
    expect(fc.check(resumeEquivalent(deaf), mutantRuns).failed).toBe(true)
  })
})

describe('workflowMachine scenario generator', () => {
  it('workflowMachine - the generated scenarios reach every ending, retries, rejections and mid-run crashes', () => {
    // A fixed seed: this checks the generator, so that the properties above are not vacuous.
    const seen = new Set<string>()
    for (const [s, crash] of fc.sample(fc.tuple(arbScenario, arbCrash), { numRuns: 150, seed: 7 })) {
      const r = simulate(workflowMachine, s)
      seen.add(`end:${String(r.value)}`)
      if (Object.values(r.summary.tasks).some((t) => t.attempts > 1)) seen.add('retried')
      if (Object.values(r.summary.tasks).some((t) => t.error?.startsWith('rejected'))) seen.add('rejected')
      if (Object.values(r.summary.tasks).some((t) => t.status === 'skipped')) seen.add('skipped')
      if (crash.atStep < r.steps) seen.add(`crash:${crash.mode}`)
    }
    expect([...seen].sort()).toEqual([
      'crash:dedupe',
      'crash:lostEmits',
      'crash:replay',
      'crash:rerun',
      'end:cancelled',
      'end:failed',
      'end:success',
      'end:timeout',
      'rejected',
      'retried',
      'skipped',
    ])
  })
})
