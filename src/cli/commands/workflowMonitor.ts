import type { WorkflowRunView } from '../../actors/startWorkflowService.ts'
import type { HiveClient } from '../../api/createClient.ts'
import type { Body, MessageType } from '../../bus/catalogue.ts'
import { expectType } from '../../bus/createBus.ts'
import { envelope } from '../../bus/envelope.ts'
import { HiveError } from '../../bus/errors.ts'
import { subject } from '../../bus/subjects.ts'
import { untilSignal } from '../context.ts'
import { CliError, EXIT } from '../output.ts'

const FINAL_RUN = ['success', 'failed', 'cancelled', 'timeout']
const OPEN_TASK = ['pending', 'ready', 'running', 'waiting_approval']

/** Whether a run status is final. */
export const runEnded = (status: string): boolean => FINAL_RUN.includes(status)

/**
 * Asks the workflow service and returns the reply body of the expected type. A hive without a
 * workflow service becomes a one-line error with exit code 3.
 */
export async function askWorkflowService<T extends MessageType>(
  client: HiveClient,
  msg: Parameters<HiveClient['bus']['publish']>[1],
  type: T,
  timeoutMs = 10_000,
): Promise<Body<T>> {
  const svc = subject(client.bus.ns, { kind: 'service', service: 'workflow' })
  try {
    return expectType(await client.bus.request(svc, msg, { timeoutMs }), type).body
  } catch (err) {
    if (err instanceof HiveError && (err.code === 'NO_RESPONDERS' || err.code === 'REQUEST_TIMEOUT')) {
      throw new CliError(
        `no workflow service answers in namespace ${client.bus.ns}: start a hive with \`hive up --nats URL\` or \`hive node --roles coordinator --nats URL\``,
        EXIT.unavailable,
      )
    }
    throw err
  }
}

const SYMBOL: Record<string, string> = {
  pending: '·',
  ready: '·',
  waiting_approval: '?',
  running: '▶',
  success: '✓',
  failed: '✗',
  timeout: '⌛',
  skipped: '-',
  cancelled: '⊘',
}

/** A live per-task display (redrawn in place on a TTY; one plain line per task change otherwise). */
export function createRunMonitorDisplay(out: NodeJS.WriteStream, tty: boolean) {
  const start = Date.now()
  let lines = 0
  const last = new Map<string, string>()
  return (v: WorkflowRunView) => {
    const entries = Object.entries(v.tasks)
    const done = entries.filter(([, t]) => !OPEN_TASK.includes(t.status)).length
    const elapsed = ((Date.now() - start) / 1000).toFixed(1)
    if (!tty) {
      for (const [id, t] of entries) {
        if (last.get(id) === t.status) continue
        last.set(id, t.status)
        if (t.status !== 'pending')
          out.write(`[${elapsed}s] ${id}: ${t.status} (${done}/${entries.length})\n`)
      }
      if (runEnded(v.status) && last.get('') !== v.status) {
        last.set('', v.status)
        out.write(`[${elapsed}s] run ${v.run_id}: ${v.status}\n`)
      }
      return
    }
    const rows = [
      `${v.name ?? v.workflow_id} (${v.run_id}) — ${v.status}, ${done}/${entries.length} done, ${elapsed}s`,
    ]
    for (const [id, t] of entries) {
      rows.push(
        `  ${SYMBOL[t.status] ?? ' '} ${id.padEnd(24)} ${t.status}${t.attempts > 1 ? ` (attempt ${t.attempts})` : ''}`,
      )
    }
    out.write(`${lines ? `\x1b[${lines}A` : ''}${rows.map((l) => `\x1b[2K${l}`).join('\n')}\n`)
    lines = rows.length
  }
}

/**
 * Follows a run until it ends: its bus events trigger a fresh status, and a poll catches what the
 * events miss (a run hosted in another process, a lost event). Resolves with the final view, or
 * with the signal's name when interrupted.
 */
export async function followRun(
  client: HiveClient,
  runId: string,
  onView: (v: WorkflowRunView) => void,
  pollMs = 1000,
): Promise<WorkflowRunView | NodeJS.Signals> {
  const status = () =>
    askWorkflowService(
      client,
      envelope('workflow.status', { run_id: runId }, { from: client.bus.node }),
      'workflow.status.result',
    )
  let wake: (() => void) | undefined
  const events = client.events(`hive.${client.bus.ns}.evt.workflow.${runId}.>`)
  void (async () => {
    for await (const _ of events) wake?.()
  })()
  let stopped: NodeJS.Signals | undefined
  const signal = untilSignal().then((s) => {
    stopped = s
    wake?.()
  })
  try {
    for (;;) {
      const v = await status()
      onView(v)
      if (runEnded(v.status)) return v
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, pollMs).unref()
      })
      if (stopped) return stopped
    }
  } finally {
    await events.return?.()
    void signal
  }
}
