import type { Command } from 'commander'
import { connect, globals, untilSignal, withGlobals } from '../context.ts'

export function registerEventsCommand(program: Command): void {
  withGlobals(
    program
      .command('events')
      .description(
        'tail bus events, one line each (filter relative to hive.<ns>.evt., e.g. "task.>" or "agent.*.dead")',
      )
      .argument('[filter]', 'subject filter', '>')
      .option('--count <n>', 'stop after this many events'),
  ).action(async (filter: string, o: { count?: string }, cmd: Command) => {
    const g = globals(cmd)
    const client = await connect(g)
    const max = o.count ? Number(o.count) : Number.POSITIVE_INFINITY
    const events = client.events(filter)
    void untilSignal().then(() => events.return?.())
    let n = 0
    for await (const { subject, msg } of events) {
      if (g.output === 'json') {
        process.stdout.write(
          `${JSON.stringify({ subject, type: msg.type, from: msg.from, ts: msg.ts, corr: msg.corr, body: msg.body })}\n`,
        )
      } else {
        const b = msg.body as Record<string, unknown>
        const what =
          msg.type === 'event'
            ? `${b.event}${b.state !== undefined ? ` ${JSON.stringify(b.state)}` : ''}`
            : msg.type
        const data = msg.type === 'event' ? b.data : msg.body
        process.stdout.write(
          `${new Date(msg.ts).toISOString()} ${subject} ${what} ${data === undefined ? '' : JSON.stringify(data).slice(0, 200)}\n`,
        )
      }
      if (++n >= max) break
    }
    await client.close()
  })
}
