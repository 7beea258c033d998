/**
 * Expands a validated workflow file into the `WorkflowDef` the run machine consumes: every default
 * applied, every shorthand written out in full.
 */
import type { RetryPolicy } from '../schema/domain.ts'
import type { NotificationTarget, WorkflowDef, WorkflowTaskDef } from '../schema/workflow.ts'
import { PRIORITY_NAMES, type TaskFile, type WorkflowFile } from './workflowFileSchema.ts'

export const DEFAULT_MAX_PARALLEL = 4
export const DEFAULT_PRIORITY = 5

/** Splits a command line into words, honouring '…' and "…" quoting (no expansion of any kind). */
export function splitWords(line: string): string[] {
  const words: string[] = []
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g
  for (const m of line.matchAll(re))
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]))
  return words
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])
const argv = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : splitWords(v)
const caps = (v: string | string[] | undefined): string[] => [
  ...new Set(list(v).map((c) => c.trim().toLowerCase())),
]

/** `low|medium|high|critical` or 1-10, as a number. */
export function priorityOf(p: WorkflowFile['priority'], fallback: number): number {
  if (p === undefined) return fallback
  return typeof p === 'number' ? p : PRIORITY_NAMES[p]
}

function retryOf(r: TaskFile['retry']): RetryPolicy {
  const base: RetryPolicy = { max_retries: 0, backoff: 'exponential', initial_delay: 1, max_delay: 60 }
  if (r === undefined) return base
  if (typeof r === 'number') return { ...base, max_retries: r }
  return {
    max_retries: r.max ?? r.max_retries ?? base.max_retries,
    backoff: r.backoff ?? base.backoff,
    initial_delay: r.initial ?? r.initial_delay ?? base.initial_delay,
    max_delay: r.max_delay ?? base.max_delay,
  }
}

/** A `when` written as `${{ expr }}` or as a bare expression, as the bare expression. */
export function conditionOf(w: string | boolean): string {
  if (typeof w === 'boolean') return String(w)
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(w)
  return (m && !m[1].includes('}}') ? m[1] : w).trim()
}

function targetOf(
  t: string | { command?: string | string[]; url?: string; email?: string },
): NotificationTarget {
  if (typeof t === 'string') {
    if (/^https?:\/\//.test(t)) return { url: t }
    if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(t)) return { email: t }
    return { command: splitWords(t) }
  }
  if (t.url !== undefined) return { url: t.url }
  if (t.email !== undefined) return { email: t.email }
  return { command: argv(t.command) }
}

function taskOf(t: TaskFile, workflowPriority: number): WorkflowTaskDef {
  const out: WorkflowTaskDef = {
    task_id: t.task_id,
    depends_on: [...new Set(list(t.depends_on))],
    capabilities: caps(t.agent_capabilities ?? t.capabilities),
    retry: retryOf(t.retry),
    priority: priorityOf(t.priority, workflowPriority),
  }
  if (t.description !== undefined) out.description = t.description
  if (t.agent_type !== undefined) out.agent_type = t.agent_type
  if (t.run !== undefined) out.run = t.run
  if (t.exec !== undefined) out.exec = argv(t.exec)
  if (t.input !== undefined) out.input = t.input
  if (t.timeout !== undefined) out.timeout = t.timeout
  if (t.when !== undefined) out.when = conditionOf(t.when)
  if (t.approval !== undefined) {
    const a = t.approval
    out.approval =
      typeof a === 'boolean'
        ? { required: a }
        : typeof a === 'string'
          ? { required: true, message: a }
          : { required: a.required ?? true, ...(a.message === undefined ? {} : { message: a.message }) }
  }
  return out
}

/**
 * The `WorkflowDef` for a validated file. `fallbackId` names a workflow that has no `id` (the file's
 * base name); `vars` (from `--set`) override the file's `vars:` defaults.
 */
export function normalizeWorkflow(
  f: WorkflowFile,
  fallbackId: string,
  vars: Record<string, string> = {},
): WorkflowDef {
  const id = f.id ?? fallbackId
  const priority = priorityOf(f.priority, DEFAULT_PRIORITY)
  const fileVars = Object.fromEntries(Object.entries(f.vars ?? {}).map(([k, v]) => [k, String(v)]))
  const def: WorkflowDef = {
    id,
    name: f.name ?? id,
    priority,
    max_parallel: f.max_parallel ?? DEFAULT_MAX_PARALLEL,
    on_failure: f.on_failure ?? 'fail_fast',
    agents: (f.agents ?? []).map((a) => {
      const agent: WorkflowDef['agents'][number] = {
        id: a.id,
        type: a.type,
        capabilities: caps(a.capabilities),
        max_tasks: a.max_tasks ?? 1,
      }
      if (a.weight !== undefined) agent.weight = a.weight
      if (a.exec !== undefined) agent.exec = argv(a.exec)
      if (a.function !== undefined) agent.function = a.function
      return agent
    }),
    tasks: f.tasks.map((t) => taskOf(t, priority)),
    notification: {
      on_complete: list(f.notification?.on_complete).map(targetOf),
      on_failure: list(f.notification?.on_failure).map(targetOf),
      on_approval_needed: list(f.notification?.on_approval_needed).map(targetOf),
    },
    vars: { ...fileVars, ...vars },
  }
  if (f.description !== undefined) def.description = f.description
  if (f.timeout !== undefined) def.timeout = f.timeout
  return def
}
