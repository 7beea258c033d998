import { z } from 'zod'
import type { AgentDef } from '../api/createHive.ts'
import { ConfigFileError, readYamlSource, validateSource } from './yamlSource.ts'

const strategyName = z.enum([
  'round_robin',
  'least_loaded',
  'capability_match',
  'priority_weighted',
  'predictive',
])

const agentSchema = z.strictObject({
  id: z.string().min(1),
  type: z.string().min(1),
  capabilities: z.array(z.string().min(1)).min(1, 'an agent needs at least one capability'),
  max_tasks: z.number().int().min(1).optional(),
  weight: z.number().int().min(1).max(100).optional(),
  exec: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
  function: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeout: z.number().positive().optional(),
  replicas: z.number().int().min(1).max(100).optional(),
  resources: z
    .strictObject({
      cpu_cores: z.number().min(0).optional(),
      memory_mb: z.number().min(0).optional(),
      disk_mb: z.number().min(0).optional(),
      network_mbps: z.number().min(0).optional(),
    })
    .optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
})

/** `hive.yaml`: what a node runs. Unknown keys are errors (a typo must not pass silently). */
export const hiveConfigSchema = z.strictObject({
  ns: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .optional(),
  nats: z
    .strictObject({
      servers: z.union([z.string(), z.array(z.string())]),
      user: z.string().optional(),
      pass: z.string().optional(),
      token: z.string().optional(),
      nkey: z.string().optional(),
      creds: z.string().optional(),
      tls: z
        .strictObject({
          caFile: z.string().optional(),
          certFile: z.string().optional(),
          keyFile: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  strategy: strategyName.optional(),
  heartbeat_interval_ms: z.number().int().min(50).optional(),
  breaker: z
    .strictObject({
      failure_threshold: z.number().int().min(1).optional(),
      window_ms: z.number().int().min(1).optional(),
      recovery_timeout_ms: z.number().int().min(1).optional(),
    })
    .optional(),
  agents: z.array(agentSchema).default([]),
})

export type HiveConfig = z.output<typeof hiveConfigSchema>

/** Loads and validates hive.yaml; errors name the file, the line and the fix. */
export async function loadHiveConfig(file: string): Promise<HiveConfig> {
  const src = await readYamlSource(file)
  const wrapped = src.value && typeof src.value === 'object' && 'hive' in (src.value as object)
  const config = validateSource(src, hiveConfigSchema, wrapped ? ['hive'] : [])
  for (const [i, a] of config.agents.entries()) {
    if ((a.exec === undefined) === (a.function === undefined)) {
      const { line, column } = src.locate([...(wrapped ? ['hive'] : []), 'agents', i])
      throw new ConfigFileError([
        {
          file,
          line,
          column,
          message: `agent ${a.id} needs exactly one of \`exec\` (a command) and \`function\` (module#export)`,
          fix: 'add `exec: "my-agent --json"` or `function: ./agents/mine.ts#run`',
        },
      ])
    }
  }
  return config
}

/**
 * The agents a config declares, replicas expanded (`id-1`, `id-2`, …). Relative paths in `exec`
 * and `function` are resolved against `baseDir` (the config file's directory).
 */
export function agentDefsOf(config: HiveConfig, baseDir?: string): AgentDef[] {
  return config.agents.flatMap((a) => {
    const base: AgentDef = {
      id: a.id,
      type: a.type,
      capabilities: a.capabilities,
      max_tasks: a.max_tasks,
      weight: a.weight,
      exec: a.exec,
      function: a.function,
      env: a.env,
      timeoutMs: a.timeout ? a.timeout * 1000 : undefined,
      resources: a.resources,
      metadata: a.metadata,
      baseDir,
    }
    if (!a.replicas || a.replicas === 1) return [base]
    return Array.from({ length: a.replicas }, (_, i) => ({ ...base, id: `${a.id}-${i + 1}` }))
  })
}
