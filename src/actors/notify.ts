import { spawn } from 'node:child_process'
import type { NotificationTarget } from '../schema/workflow.ts'
import type { Logger } from './createLogger.ts'

/**
 * Delivers a workflow notification to its extra targets (the bus event is published by the
 * caller): a command gets the notification as JSON on stdin and in HIVE_NOTIFICATION (never on
 * its command line); a URL gets it as a JSON POST. Failures are logged, never thrown: a broken
 * webhook must not fail the workflow.
 */
export async function notify(targets: NotificationTarget[], payload: unknown, log: Logger): Promise<void> {
  const json = JSON.stringify(payload)
  await Promise.all(
    targets.map(async (t) => {
      try {
        if (t.command?.length) await runCommand(t.command, json)
        if (t.url) {
          const res = await fetch(t.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: json,
            signal: AbortSignal.timeout(10_000),
          })
          if (!res.ok) throw new Error(`HTTP ${res.status} from ${t.url}`)
        }
      } catch (err) {
        log.warn({ err, target: t }, 'notification failed')
      }
    }),
  )
}

function runCommand(argv: string[], json: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, HIVE_NOTIFICATION: json },
      timeout: 30_000,
    })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-500)
    })
    child.on('error', reject)
    // A command that does not read its stdin closes the pipe: that is its business, not an error.
    child.stdin.on('error', () => {})
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}: ${stderr.trim()}`)),
    )
    child.stdin.end(json)
  })
}
