/**
 * The in-process baseline of the task benchmark: a dispatcher in plain JavaScript doing the work
 * Hive does for a task, without actors, bus, codec or validation. A Map of agents with a load
 * and a limit, a FIFO queue, least-loaded pick, the task function called as the function
 * executor calls it, and a result record with timestamps.
 *
 * Async hops: one macrotask (`setImmediate`) for each message an in-process hive sends per task
 * — submit (client → coordinator), assign (coordinator → agent), result (agent → coordinator),
 * reply (coordinator → client) — because the embedded bus delivers each of them on a later
 * macrotask too (batched per pass, as `setImmediate` callbacks are); plus the promise hops of
 * calling an async function. Without them the baseline would measure a synchronous loop that
 * no message-passing design could match, and that no real dispatcher with a network would be.
 */
import type { TaskSpec } from '../../src/schema/domain.ts'

export interface PlainRecord {
  task_id: string
  status: 'success' | 'failed'
  agent_id: string
  output?: unknown
  error?: string
  submitted_at: number
  started_at: number
  finished_at: number
}

interface Agent {
  id: string
  load: number
  max: number
}

interface Job {
  task: TaskSpec & { task_id: string }
  submittedAt: number
  resolve(r: PlainRecord): void
}

export interface PlainDispatcher {
  submit(task: TaskSpec): Promise<PlainRecord>
}

/** A least-loaded FIFO dispatcher over `agents` agents of `maxTasks` slots each, running `fn`. */
export function createPlainDispatcher(o: {
  agents: number
  maxTasks: number
  fn: (task: TaskSpec) => unknown
}): PlainDispatcher {
  const agents = new Map<string, Agent>()
  for (let i = 1; i <= o.agents; i++) agents.set(`p${i}`, { id: `p${i}`, load: 0, max: o.maxTasks })
  const queue: Job[] = []
  let head = 0
  let seq = 0

  const leastLoaded = (): Agent | undefined => {
    let best: Agent | undefined
    for (const a of agents.values())
      if (a.load < a.max && (best === undefined || a.load < best.load)) best = a
    return best
  }

  const pump = () => {
    while (head < queue.length) {
      const agent = leastLoaded()
      if (agent === undefined) break
      const job = queue[head++]
      agent.load++
      setImmediate(run, agent, job) // assign: coordinator → agent
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
  }

  const run = async (agent: Agent, job: Job) => {
    const started = Date.now()
    let rec: PlainRecord
    try {
      const output = await o.fn(job.task)
      rec = { task_id: job.task.task_id, status: 'success', agent_id: agent.id, output } as PlainRecord
    } catch (err) {
      rec = {
        task_id: job.task.task_id,
        status: 'failed',
        agent_id: agent.id,
        error: String(err),
      } as PlainRecord
    }
    rec.submitted_at = job.submittedAt
    rec.started_at = started
    rec.finished_at = Date.now()
    setImmediate(finish, agent, job, rec) // result: agent → coordinator
  }

  const finish = (agent: Agent, job: Job, rec: PlainRecord) => {
    agent.load--
    setImmediate(job.resolve, rec) // reply: coordinator → client
    pump()
  }

  return {
    submit(task) {
      return new Promise<PlainRecord>((resolve) => {
        const job: Job = {
          task: { ...task, task_id: task.task_id ?? `t${++seq}` },
          submittedAt: Date.now(),
          resolve,
        }
        // submit: client → coordinator
        setImmediate(() => {
          queue.push(job)
          pump()
        })
      })
    },
  }
}
