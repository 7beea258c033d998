/**
 * Hive's public API.
 *
 * @example
 * import { createHive } from 'hive'
 * const hive = await createHive({ agents: [{ id: 'a1', type: 'worker', capabilities: ['echo'], function: (t) => t.input }] })
 */

export { type Clock, createManualClock, systemClock } from './actors/clock.ts'
export { createLogger, type Logger } from './actors/createLogger.ts'
export { createCommandExecutor } from './actors/executors/createCommandExecutor.ts'
export { createFunctionExecutor } from './actors/executors/createFunctionExecutor.ts'
export type { ExecutionContext, ExecutionResult, Executor } from './actors/executors/types.ts'
export { type BusEvent, type ClientOptions, createClient, type HiveClient } from './api/createClient.ts'
export { type AgentDef, createHive, type Hive, type HiveOptions, type Role } from './api/createHive.ts'
export * from './bus/index.ts'
