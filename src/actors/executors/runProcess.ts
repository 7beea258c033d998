import { type ChildProcess, spawn } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { createTailBuffer, type TailBuffer } from './createTailBuffer.ts'

/** @internal */
export interface RunProcessOptions {
  argv: readonly string[]
  cwd: string
  env: NodeJS.ProcessEnv
  /** Written to the child's stdin, which is then closed. */
  stdin: string
  timeoutMs?: number
  killGraceMs: number
  maxOutputBytes: number
  signal: AbortSignal
  onStdoutLine?: (line: string) => void
  /** Called with the pid (= process group id) as soon as the process has started. */
  onSpawn?: (pid: number) => void
}

/** @internal */
export interface ProcessOutcome {
  pid?: number
  exitCode: number | null
  signal: string | null
  stdout: TailBuffer
  stderr: TailBuffer
  /** Set when Hive ended the process itself. */
  killedFor?: 'timeout' | 'cancelled'
  /** The process ignored SIGTERM for the whole grace period and got SIGKILL. */
  escalated: boolean
  /** The process could not be started at all. */
  spawnError?: NodeJS.ErrnoException
  /** `onStdoutLine` threw; progress reporting stopped there. */
  progressError?: unknown
}

/**
 * Runs one process with no shell, in its own process group, and always resolves. A timeout or an
 * abort sends SIGTERM to the whole group (so `sh -c` grandchildren go too), then SIGKILL after
 * `killGraceMs`. When the leader exits, whatever it left behind in its group is killed: nothing a
 * task started may outlive the task.
 * @internal
 */
export function runProcess(o: RunProcessOptions): Promise<ProcessOutcome> {
  const out: ProcessOutcome = {
    exitCode: null,
    signal: null,
    stdout: createTailBuffer(o.maxOutputBytes),
    stderr: createTailBuffer(o.maxOutputBytes),
    escalated: false,
  }
  if (o.signal.aborted) return Promise.resolve({ ...out, killedFor: 'cancelled' })
  return new Promise((resolve) => {
    let child: ChildProcess
    try {
      child = spawn(o.argv[0], o.argv.slice(1), {
        cwd: o.cwd,
        env: o.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
      })
    } catch (err) {
      // Arguments node refuses outright (a NUL byte in an argument or the environment).
      resolve({ ...out, spawnError: err as NodeJS.ErrnoException })
      return
    }
    out.pid = child.pid
    if (child.pid !== undefined) o.onSpawn?.(child.pid)
    const timers: NodeJS.Timeout[] = []
    let done = false
    const lines = createLineSplitter(o.maxOutputBytes, (line) => {
      if (!o.onStdoutLine || out.progressError !== undefined) return
      try {
        o.onStdoutLine(line)
      } catch (err) {
        out.progressError = err
      }
    })

    const finish = (): void => {
      if (done) return
      done = true
      for (const t of timers) clearTimeout(t)
      o.signal.removeEventListener('abort', onAbort)
      lines.end()
      resolve(out)
    }
    const signalGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return
      try {
        process.kill(-child.pid, sig)
      } catch (err) {
        // ESRCH: the group is already gone, which is what we wanted.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') child.kill(sig)
      }
    }
    const kill = (reason: 'timeout' | 'cancelled'): void => {
      if (out.killedFor || done) return
      out.killedFor = reason
      signalGroup('SIGTERM')
      timers.push(
        setTimeout(() => {
          out.escalated = true
          signalGroup('SIGKILL')
        }, o.killGraceMs),
      )
    }
    const onAbort = (): void => kill('cancelled')

    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) {
        out.spawnError = err
        finish()
      } else {
        // After a start, only a failed kill lands here; the outcome says so rather than hiding it.
        out.stderr.push(Buffer.from(`[hive: ${err.message}]\n`))
      }
    })
    child.on('exit', (code, sig) => {
      out.exitCode = code
      out.signal = sig
      signalGroup('SIGKILL')
      // A straggler outside the group (it called setsid) may still hold the pipes open.
      timers.push(
        setTimeout(() => {
          child.stdout?.destroy()
          child.stderr?.destroy()
          finish()
        }, o.killGraceMs),
      )
    })
    child.on('close', finish)
    child.stdout?.on('data', (chunk: Buffer) => {
      out.stdout.push(chunk)
      lines.push(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => out.stderr.push(chunk))
    child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
      // A command that never reads its input may exit before we finish writing it: not a failure.
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET')
        out.stderr.push(Buffer.from(`[hive: stdin: ${err.message}]\n`))
    })
    child.stdin?.end(o.stdin)

    if (o.timeoutMs !== undefined) timers.push(setTimeout(() => kill('timeout'), o.timeoutMs))
    o.signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Cuts a byte stream into lines; a line longer than `maxLine` characters is passed on in pieces. */
function createLineSplitter(maxLine: number, onLine: (line: string) => void) {
  const decoder = new StringDecoder('utf8')
  let partial = ''
  const drain = (): void => {
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      onLine(partial.slice(0, nl).replace(/\r$/, ''))
      partial = partial.slice(nl + 1)
    }
    while (partial.length > maxLine) {
      onLine(partial.slice(0, maxLine))
      partial = partial.slice(maxLine)
    }
  }
  return {
    push(chunk: Buffer) {
      partial += decoder.write(chunk)
      drain()
    },
    end() {
      partial += decoder.end()
      drain()
      if (partial !== '') onLine(partial)
      partial = ''
    },
  }
}
