import { ExecutorConfigError } from './ExecutorConfigError.ts'

/** Where a function executor's code lives. */
export interface FunctionSpec {
  module: string
  export: string
}

/**
 * Parses `path/to/module.ts#name` (the `function:` field of a workflow agent). Without `#name`
 * the export is `default`.
 *
 * @example parseFunctionSpec('agents/review.ts#review') // { module: 'agents/review.ts', export: 'review' }
 * @throws ExecutorConfigError when the module part or the export name is empty.
 */
export function parseFunctionSpec(spec: string): FunctionSpec {
  const hash = spec.lastIndexOf('#')
  const module = (hash < 0 ? spec : spec.slice(0, hash)).trim()
  const name = hash < 0 ? 'default' : spec.slice(hash + 1).trim()
  if (module === '')
    throw new ExecutorConfigError(`function spec "${spec}" names no module; write path/to/module.ts#export`)
  if (name === '') throw new ExecutorConfigError(`function spec "${spec}" has an empty export after "#"`)
  return { module, export: name }
}
