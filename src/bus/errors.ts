/**
 * Typed errors of the bus. Each is a small named class with a `code` and a `retryable` flag, and
 * can cross the bus as a tagged plain object ({@link toErrorBody} / {@link fromErrorBody}).
 */

export interface ErrorBody {
  name: string
  code: string
  message: string
  retryable: boolean
  data?: Record<string, unknown>
}

/** Base class of every Hive error. */
export class HiveError extends Error {
  readonly code: string
  readonly retryable: boolean
  readonly data?: Record<string, unknown>

  constructor(
    message: string,
    opts: { code?: string; retryable?: boolean; data?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'HiveError'
    this.code = opts.code ?? 'HIVE_ERROR'
    this.retryable = opts.retryable ?? false
    this.data = opts.data
  }
}

/** Bytes that do not decode, or an envelope or body that fails its schema. */
export class MalformedMessageError extends HiveError {
  constructor(message: string, opts: { data?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { ...opts, code: 'MALFORMED_MESSAGE', retryable: false })
    this.name = 'MalformedMessageError'
  }
}

/** An envelope whose protocol version `v` this process does not speak. */
export class VersionMismatchError extends HiveError {
  readonly got: unknown
  readonly expected: number

  constructor(got: unknown, expected: number) {
    super(
      `protocol version ${String(got)} is not supported (this process speaks v${expected}); upgrade the older side`,
      {
        code: 'VERSION_MISMATCH',
        retryable: false,
        data: { got, expected },
      },
    )
    this.name = 'VersionMismatchError'
    this.got = got
    this.expected = expected
  }
}

/** A request that got no reply within its timeout. */
export class RequestTimeoutError extends HiveError {
  constructor(subject: string, timeoutMs: number) {
    super(`no reply on ${subject} within ${timeoutMs} ms`, {
      code: 'REQUEST_TIMEOUT',
      retryable: true,
      data: { subject, timeoutMs },
    })
    this.name = 'RequestTimeoutError'
  }
}

/** A request to a subject that nobody serves. */
export class NoRespondersError extends HiveError {
  constructor(subject: string) {
    super(`no responders on ${subject}: is the service running?`, {
      code: 'NO_RESPONDERS',
      retryable: true,
      data: { subject },
    })
    this.name = 'NoRespondersError'
  }
}

/** Any use of a bus after `close()`. */
export class BusClosedError extends HiveError {
  constructor() {
    super('the bus is closed', { code: 'BUS_CLOSED', retryable: false })
    this.name = 'BusClosedError'
  }
}

/** A message larger than the transport's maximum payload. */
export class PayloadTooLargeError extends HiveError {
  constructor(size: number, max: number) {
    super(`payload of ${size} bytes exceeds the maximum of ${max} bytes`, {
      code: 'PAYLOAD_TOO_LARGE',
      retryable: false,
      data: { size, max },
    })
    this.name = 'PayloadTooLargeError'
  }
}

/** An error raised by the remote handler of a request, carried back in an `error` reply. */
export class RemoteError extends HiveError {
  constructor(body: ErrorBody) {
    super(body.message, { code: body.code, retryable: body.retryable, data: body.data })
    this.name = body.name === 'Error' ? 'RemoteError' : body.name
  }
}

/** Serialises any thrown value as a tagged plain object. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof HiveError) {
    return { name: err.name, code: err.code, message: err.message, retryable: err.retryable, data: err.data }
  }
  if (err instanceof Error) return { name: err.name, code: 'ERROR', message: err.message, retryable: false }
  return { name: 'Error', code: 'ERROR', message: String(err), retryable: false }
}

const known: Record<string, (b: ErrorBody) => HiveError> = {
  MalformedMessageError: (b) => new MalformedMessageError(b.message, { data: b.data }),
  VersionMismatchError: (b) => new VersionMismatchError(b.data?.got, Number(b.data?.expected)),
  RequestTimeoutError: (b) => new RequestTimeoutError(String(b.data?.subject), Number(b.data?.timeoutMs)),
  NoRespondersError: (b) => new NoRespondersError(String(b.data?.subject)),
  BusClosedError: () => new BusClosedError(),
  PayloadTooLargeError: (b) => new PayloadTooLargeError(Number(b.data?.size), Number(b.data?.max)),
}

/** Rebuilds a typed error from its tagged form; unknown names become a {@link RemoteError}. */
export function fromErrorBody(body: ErrorBody): HiveError {
  return known[body.name]?.(body) ?? new RemoteError(body)
}
