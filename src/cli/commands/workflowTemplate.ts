import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import { listTemplates, renderTemplate, TemplateError } from '../../workflow/templates.ts'
import { WorkflowFileError } from '../../workflow/WorkflowFileError.ts'
import { globals, withGlobals } from '../context.ts'
import { CliError, EXIT, print } from '../output.ts'
import { parseSets } from './run.ts'

const collect = (v: string, acc: string[]) => [...acc, v]
const DIR_HELP =
  'a directory of your own templates (default: $HIVE_TEMPLATE_DIR); they replace built-ins of the same name'

/** Template and file errors are bad input: one line, exit 2. */
async function orUsage<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (err) {
    if (err instanceof TemplateError || err instanceof WorkflowFileError)
      throw new CliError(err.message, EXIT.usage)
    throw err
  }
}

/** `hive workflow template list|render`. `render` takes `-o FILE` for the file it writes, so its format is `--output` only. */
export function registerTemplateCommands(wf: Command): void {
  const tpl = wf
    .command('template')
    .description('workflow templates: list them, render one to a workflow file')

  withGlobals(tpl.command('list').description('list the templates and their parameters'))
    .option('--dir <dir>', DIR_HELP)
    .action(async (o: { dir?: string }, cmd: Command) => {
      const g = globals(cmd)
      const list = await orUsage(listTemplates(o.dir ?? process.env.HIVE_TEMPLATE_DIR))
      if (g.output !== 'table') return print(list, g.output)
      print(
        list.map((t) => ({
          name: t.name,
          source: t.source,
          description: t.description ?? '',
          parameters: t.parameters
            .map((p) => (p.required ? `${p.name} (required)` : `${p.name}=${p.default}`))
            .join(', '),
        })),
        'table',
      )
    })

  tpl
    .command('render')
    .description('render a template to a workflow file that `hive run` and `hive workflow start` accept')
    .argument('<name>', 'template name (see `hive workflow template list`)')
    .option('--set <key=value>', 'a parameter value (repeatable)', collect, [])
    .option('-o, --out <file>', 'write the workflow here (default: print it)')
    .option('--dir <dir>', DIR_HELP)
    .option('--nats <url>', 'accepted for symmetry; rendering needs no hive')
    .option('--ns <name>', 'accepted for symmetry; rendering needs no hive')
    .option('--output <format>', 'json | yaml | table: what to print (the file is always YAML)', 'table')
    .action(async (name: string, o: { set: string[]; out?: string; dir?: string }, cmd: Command) => {
      const g = globals(cmd)
      const text = await orUsage(
        renderTemplate(name, parseSets(o.set), o.dir ?? process.env.HIVE_TEMPLATE_DIR),
      )
      const workflow = parseYaml(text) as { workflow?: { id?: string } }
      if (o.out) {
        try {
          await writeFile(o.out, text)
        } catch (err) {
          throw new CliError(`cannot write ${o.out}: ${(err as Error).message}`, EXIT.usage)
        }
        const info = { template: name, file: o.out, workflow_id: workflow.workflow?.id ?? null }
        if (g.output === 'table') process.stdout.write(`wrote ${o.out} (workflow ${info.workflow_id})\n`)
        else print(info, g.output)
        return
      }
      if (g.output === 'json') print(workflow, 'json')
      else process.stdout.write(text)
    })
}
