/**
 * The Stately inspector wiring, offline: a WebSocket client stands where the browser's bridge
 * page would, connected to the local relay as a viewer, and sees the hive's actors live.
 */
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createLogger } from '../../src/actors/createLogger.ts'
import { type InspectorHandle, startInspector } from '../../src/actors/startInspector.ts'
import { createHive, type Hive } from '../../src/api/createHive.ts'
import { waitFor } from '../helpers/busFactories.ts'

const log = createLogger({ level: 'silent' })

interface InspectionMessage {
  type: string
  name?: string
  sessionId: string
  event?: { type?: string }
  snapshot?: { value?: unknown; status?: string; context?: unknown }
}

/** Connects to the relay as a viewer and gathers every message it forwards. */
async function viewer(port: number) {
  const messages: InspectionMessage[] = []
  const ws = new WebSocket(`ws://127.0.0.1:${port}`)
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as InspectionMessage))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return { messages, close: () => ws.close() }
}

describe('startInspector - Stately relay and WebSocket inspector', () => {
  let inspector: InspectorHandle | undefined
  let hive: Hive | undefined
  let view: Awaited<ReturnType<typeof viewer>> | undefined
  afterEach(async () => {
    view?.close()
    await hive?.stop()
    inspector?.stop()
  })

  it('startInspector - a viewer on the relay sees the coordinator and agent actors register, take events and change snapshots', async () => {
    inspector = await startInspector({ log })
    expect(inspector.url).toBe(`http://localhost:${inspector.port}`)
    view = await viewer(inspector.port)
    hive = await createHive({
      log,
      inspect: inspector.inspect,
      agents: [
        {
          id: 'echo-1',
          type: 'worker',
          capabilities: ['echo'],
          function: async (t) => ({ echoed: t.input }),
        },
      ],
    })
    const rec = await hive.client.submit(
      { task_id: 'inspected', task_type: 'echo', required_capabilities: ['echo'], input: 42 },
      { wait: true, timeoutMs: 5000 },
    )
    expect(rec.status).toBe('success')

    const messages = view.messages
    const sessionOf = (name: string) =>
      messages.find((m) => m.type === '@xstate.actor' && m.name === name)?.sessionId
    await waitFor(() => sessionOf('coordinator') !== undefined && sessionOf('agent') !== undefined, {
      timeoutMs: 3000,
      message: 'actor registrations of the coordinator and the agent',
    })
    const coordinator = sessionOf('coordinator') as string
    const agent = sessionOf('agent') as string
    const of = (type: string, session: string) =>
      messages.filter((m) => m.type === type && m.sessionId === session)
    // The coordinator takes what one delivery pass brings as one `batch` event: look inside.
    type Ev = { type?: string; events?: Ev[] } & Record<string, unknown>
    const flat = (e: Ev | undefined): Ev[] =>
      e?.type === 'batch' ? (e.events ?? []).flatMap(flat) : e ? [e] : []
    const eventsOf = (session: string) => of('@xstate.event', session).flatMap((m) => flat(m.event as Ev))
    const eventTypes = (session: string) => eventsOf(session).map((e) => e.type)

    await waitFor(
      () => eventTypes(coordinator).includes('task.result') && eventTypes(agent).includes('task.finished'),
      { timeoutMs: 3000, message: 'the task events reach the viewer' },
    )
    expect(eventTypes(coordinator)).toEqual(
      expect.arrayContaining(['agent.register', 'task.submit', 'task.result']),
    )
    expect(eventTypes(agent)).toEqual(expect.arrayContaining(['registered', 'task.assign', 'task.finished']))
    // The events carry the time the host stamped on them: the machine's input, as sent.
    const submit = eventsOf(coordinator).find((e) => e.type === 'task.submit')
    expect(submit).toMatchObject({
      task: { task_id: 'inspected', input: 42 },
      now: expect.any(Number),
    })

    // Snapshots show the machines' state: the agent went busy and back to idle, the coordinator
    // holds the finished task in its context.
    const agentStates = of('@xstate.snapshot', agent).map((m) => m.snapshot?.value)
    expect(agentStates).toContain('busy')
    expect(agentStates.at(-1)).toBe('idle')
    // (The snapshot after an event may reach the viewer a moment after the event itself.)
    const lastStatus = () =>
      (
        of('@xstate.snapshot', coordinator).at(-1)?.snapshot?.context as {
          tasks: Record<string, { status: string }>
        }
      )?.tasks.inspected?.status
    await waitFor(() => lastStatus() === 'success', {
      timeoutMs: 3000,
      message: `the coordinator snapshot with the task done (last seen: ${lastStatus()})`,
    })
  })

  it('startInspector - stop closes the relay and its connections: a viewer is let go, nothing listens on the port', async () => {
    inspector = await startInspector({ log })
    const port = inspector.port
    const ws = new WebSocket(`ws://127.0.0.1:${port}`)
    await new Promise((resolve) => ws.once('open', resolve))
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    inspector.stop()
    inspector = undefined
    // Regression: the relay's own stop() left viewers connected, which kept the process alive.
    const outcome = await Promise.race([closed, new Promise((r) => setTimeout(() => r('still open'), 2000))])
    expect(outcome).not.toBe('still open')
    const refused = await new Promise<boolean>((resolve) => {
      const again = new WebSocket(`ws://127.0.0.1:${port}`)
      again.once('open', () => {
        again.close()
        resolve(false)
      })
      again.once('error', () => resolve(true))
    })
    expect(refused).toBe(true)
  })
})
