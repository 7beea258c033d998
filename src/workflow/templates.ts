/**
 * Workflow templates: a YAML header (description, parameters) and, after a `---` line, a workflow
 * with `{{ name }}` placeholders. Placeholders are replaced as text before the workflow is parsed,
 * so they may stand anywhere (ids, lists, priorities); `${{ … }}` expressions are left alone, to be
 * evaluated when the workflow runs.
 *
 * Built-in templates live beside this file in `templates/`; a user directory of `*.yaml`/`*.yml`
 * files adds more, and a user template of the same name as a built-in replaces it.
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, parseDocument, visit } from 'yaml'
import { z } from 'zod'
import { closest } from './closest.ts'
import { parseWorkflow } from './loadWorkflow.ts'
import { WorkflowFileError } from './WorkflowFileError.ts'
import { WorkflowValidationError } from './WorkflowValidationError.ts'

export interface TemplateParameter {
  name: string
  description?: string
  /** Absent for a required parameter. */
  default?: string
  required: boolean
}

export interface TemplateInfo {
  name: string
  description?: string
  parameters: TemplateParameter[]
  source: 'builtin' | 'user'
  path: string
}

/** A template that is unknown, malformed, or given values that do not fit its parameters. */
export class TemplateError extends Error {
  readonly retryable = false
  readonly code = 'TEMPLATE_ERROR'
  /** The parameter at fault, when one is. */
  readonly parameter?: string

  constructor(message: string, opts: { parameter?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'TemplateError'
    this.parameter = opts.parameter
  }
}

const BUILTIN_DIR = fileURLToPath(new URL('./templates/', import.meta.url))
/** `{{ name }}` not preceded by `$` (which would make it an expression). */
const PLACEHOLDER = /(?<!\$)\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String)
const headerSchema = z.strictObject({
  description: z.string().optional(),
  parameters: z
    .record(
      z.string().regex(/^[A-Za-z_][\w-]*$/),
      z.union([
        scalar.transform((d) => ({ default: d }) as { description?: string; default?: string }),
        z.strictObject({ description: z.string().optional(), default: scalar.optional() }),
        z.null().transform(() => ({}) as { description?: string; default?: string }),
      ]),
    )
    .optional(),
})

interface Template {
  info: TemplateInfo
  body: string
}

function splitTemplate(text: string, path: string): { header: string; body: string } {
  const m = /^---[ \t]*$/m.exec(text)
  if (!m) throw new TemplateError(`template ${path} has no \`---\` line between its header and its workflow`)
  return { header: text.slice(0, m.index), body: text.slice(m.index + m[0].length).replace(/^\r?\n/, '') }
}

async function readTemplate(path: string, source: TemplateInfo['source']): Promise<Template> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new WorkflowFileError(`template file ${path} cannot be read`, path, e)
  }
  const { header, body } = splitTemplate(text, path)
  let parsedHeader: z.output<typeof headerSchema>
  try {
    parsedHeader = headerSchema.parse(parse(header) ?? {})
  } catch (e) {
    const why =
      e instanceof z.ZodError
        ? e.issues.map((i) => `${i.path.join('.') || 'header'}: ${i.message}`).join('; ')
        : (e as Error).message
    throw new TemplateError(`template ${path} has an invalid header (${why})`, { cause: e })
  }
  const parameters = Object.entries(parsedHeader.parameters ?? {}).map(([name, p]) => ({
    name,
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.default === undefined ? {} : { default: p.default }),
    required: p.default === undefined,
  }))
  const info: TemplateInfo = { name: basename(path, extname(path)), parameters, source, path }
  if (parsedHeader.description !== undefined) info.description = parsedHeader.description
  return { info, body }
}

async function templateFiles(dir: string): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (e) {
    throw new WorkflowFileError(`template directory ${dir} cannot be read`, dir, e)
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => join(dir, n))
}

async function allTemplates(userDir?: string): Promise<Map<string, Template>> {
  const out = new Map<string, Template>()
  for (const f of await templateFiles(BUILTIN_DIR)) {
    const t = await readTemplate(f, 'builtin')
    out.set(t.info.name, t)
  }
  if (userDir !== undefined) {
    for (const f of await templateFiles(userDir)) {
      const t = await readTemplate(f, 'user')
      out.set(t.info.name, t)
    }
  }
  return out
}

/**
 * Replaces placeholders in the string scalars of the template's workflow (never in its text, so a
 * value holding quotes or `: ` cannot change the YAML's structure). A scalar that is exactly one
 * numeric placeholder becomes a number, so `priority: "{{ priority }}"` can take `7`.
 */
function substitute(t: Template, valueFor: (p: string) => string | undefined): string {
  const doc = parseDocument(t.body)
  if (doc.errors.length > 0) {
    throw new TemplateError(
      `template ${t.info.path} is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`,
    )
  }
  const lookup = (p: string): string => {
    const v = valueFor(p)
    if (v === undefined) {
      throw new TemplateError(
        `template ${t.info.path} uses \`{{ ${p} }}\` but declares no parameter \`${p}\``,
        {
          parameter: p,
        },
      )
    }
    return v
  }
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value !== 'string') return
      const whole = /^\{\{\s*([A-Za-z_][\w-]*)\s*\}\}$/.exec(node.value)
      if (whole) {
        const v = lookup(whole[1])
        node.value = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v
        return
      }
      node.value = node.value.replace(PLACEHOLDER, (_m, p: string) => lookup(p))
    },
  })
  return doc.toString({ lineWidth: 0 })
}

/** The built-in templates and those in `userDir`, sorted by name. */
export async function listTemplates(userDir?: string): Promise<TemplateInfo[]> {
  return [...(await allTemplates(userDir)).values()]
    .map((t) => t.info)
    .sort((a, b) => a.name.localeCompare(b.name))
}

/**
 * Renders a template to workflow YAML text, and checks the result loads.
 * @throws TemplateError for an unknown template, an unknown or missing parameter, a placeholder the
 *   template does not declare, or a rendering that is not a valid workflow.
 * @example await renderTemplate('tdd', { feature_name: 'slugify' })
 */
export async function renderTemplate(
  name: string,
  values: Record<string, string>,
  userDir?: string,
): Promise<string> {
  const templates = await allTemplates(userDir)
  const t = templates.get(name)
  if (!t) {
    const near = closest(name, templates.keys())
    throw new TemplateError(
      `unknown template \`${name}\`${near ? ` (did you mean \`${near}\`?)` : ''}; templates: ${[...templates.keys()].join(', ')}`,
    )
  }
  const params = new Map(t.info.parameters.map((p) => [p.name, p]))
  for (const k of Object.keys(values)) {
    if (!params.has(k)) {
      const near = closest(k, params.keys())
      throw new TemplateError(
        `template \`${name}\` has no parameter \`${k}\`${near ? ` (did you mean \`${near}\`?)` : ''}; parameters: ${[...params.keys()].join(', ')}`,
        { parameter: k },
      )
    }
  }
  const missing = t.info.parameters.filter((p) => p.required && values[p.name] === undefined)
  if (missing.length > 0) {
    throw new TemplateError(
      `template \`${name}\` needs ${missing.map((p) => `\`${p.name}\`${p.description ? ` (${p.description})` : ''}`).join(', ')}`,
      { parameter: missing[0].name },
    )
  }
  for (const [k, v] of Object.entries(values)) {
    if (/[\r\n]/.test(v))
      throw new TemplateError(`parameter \`${k}\` must be a single line`, { parameter: k })
  }
  const rendered = substitute(t, (p) => values[p] ?? params.get(p)?.default)
  try {
    parseWorkflow(rendered, `${name} (template)`)
  } catch (e) {
    if (!(e instanceof WorkflowValidationError)) throw e
    throw new TemplateError(`template \`${name}\` with these values is not a valid workflow:\n${e.message}`, {
      cause: e,
    })
  }
  return rendered
}
