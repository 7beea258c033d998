import { Command, CommanderError } from 'commander'
import pkg from '../../package.json' with { type: 'json' }
import { registerAgentCommands } from './commands/agent.ts'
import { registerEventsCommand } from './commands/events.ts'
import { registerNodeCommands } from './commands/node.ts'
import { registerRunCommand } from './commands/run.ts'
import { registerTaskCommands } from './commands/task.ts'
import { registerWorkflowCommands } from './commands/workflow.ts'
import { exitCodeOf } from './context.ts'
import { EXIT } from './output.ts'

// `hive task list | head`: a closed stdout ends the command quietly, as with any Unix tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

const program = new Command()
  .name('hive')
  .description('Hive: run fleets of AI agents as XState actors over NATS (or an embedded bus).')
  .version(pkg.version, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

registerRunCommand(program)
registerNodeCommands(program)
registerAgentCommands(program)
registerTaskCommands(program)
registerEventsCommand(program)
registerWorkflowCommands(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage)
  }
  const code = exitCodeOf(err)
  process.stderr.write(`hive: ${(err as Error).message ?? String(err)}\n`)
  process.exit(code)
}
