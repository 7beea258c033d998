import type { Command } from 'commander'
import { createClient, type HiveClient } from '../api/createClient.ts'
import { HiveError } from '../bus/errors.ts'
import { CliError, EXIT, type OutputFormat, parseFormat } from './output.ts'

/** The options every command shares. */
export interface GlobalOptions {
  nats?: string
  ns: string
  output: OutputFormat
}

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { nats?: string; ns?: string; output?: string }
  return {
    nats: o.nats ?? process.env.HIVE_NATS_URL ?? undefined,
    ns: o.ns ?? process.env.HIVE_NS ?? 'default',
    output: parseFormat(o.output),
  }
}

/** Adds the shared options to a command. */
export function withGlobals(cmd: Command): Command {
  return cmd
    .option(
      '--nats <url>',
      'NATS server URL(s), comma-separated (default: $HIVE_NATS_URL, else the embedded bus)',
    )
    .option('--ns <name>', 'namespace of the hive (default: $HIVE_NS or "default")')
    .option('-o, --output <format>', 'json | yaml | table', 'table')
}

/** Connects to a running hive; commands that query one need NATS. */
export async function connect(g: GlobalOptions): Promise<HiveClient> {
  if (!g.nats) {
    throw new CliError(
      'this command talks to a running hive: give --nats nats://HOST:4222 or set HIVE_NATS_URL (start one with `hive up --nats …`)',
      EXIT.usage,
    )
  }
  try {
    return await createClient({ servers: g.nats, ns: g.ns })
  } catch (err) {
    throw new CliError(`cannot reach NATS at ${g.nats}: ${(err as Error).message}`, EXIT.unavailable)
  }
}

/** Maps an error to a CLI exit code. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode
  if (err instanceof HiveError) {
    if (['NO_RESPONDERS', 'REQUEST_TIMEOUT', 'BUS_CLOSED'].includes(err.code)) return EXIT.unavailable
    return EXIT.usage
  }
  return EXIT.failed
}

/** Resolves on SIGINT/SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(sig)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}
