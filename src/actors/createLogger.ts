import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger } from 'pino'

export interface LoggerOptions {
  /** The actor (or process) every line is about. */
  actor?: string
  level?: string
  /** Human-readable output; defaults to whether stderr is a TTY. */
  pretty?: boolean
  /** Where lines go; defaults to stderr (stdout is the CLI's own output). */
  destination?: NodeJS.WritableStream
}

/**
 * A pino logger writing JSON lines (pretty on a TTY), with `node` (the process), `actor` and `corr`
 * on every line, each once: `actor` is the node until a child logger binds one with
 * {@link forActor}, `corr` null until one binds it with {@link withCorr}.
 *
 * @example
 * const log = createLogger({ actor: 'coordinator' })
 * withCorr(log, msg.corr).info({ task: id }, 'assigned')
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.HIVE_LOG_LEVEL ?? 'info'
  const usePretty = opts.pretty ?? (process.stderr.isTTY === true && process.env.HIVE_LOG_FORMAT !== 'json')
  const dest = opts.destination ?? process.stderr
  const stream = usePretty
    ? pretty({ destination: dest, colorize: true, sync: true, ignore: 'pid,hostname' })
    : (dest as pino.DestinationStream)
  const node = opts.actor ?? 'hive'
  return pino(
    {
      level,
      base: { node },
      // `actor` and `corr` default here rather than in `base`: pino writes a child's bindings after
      // its parent's without merging, so a child binding its own would repeat the key on the line.
      mixin(_obj, _level, logger) {
        const bound = logger.bindings()
        return {
          ...(bound.actor === undefined && { actor: node }),
          ...(bound.corr === undefined && { corr: null }),
        }
      },
    },
    stream,
  )
}

/** A child logger bound to an actor id. */
export function forActor(log: Logger, actor: string): Logger {
  return log.child({ actor })
}

/** A child logger bound to a correlation id. */
export function withCorr(log: Logger, corr: string | undefined): Logger {
  return corr ? log.child({ corr }) : log
}
