/**
 * Starts real `nats-server` processes for tests: a random client port (`-p -1`) read back from
 * the ports file, a fresh temp dir per server (JetStream store inside it), a TCP probe before
 * use, and stop / restart (same port, same store) / signal / kill -9 for fault injection.
 * Every server started here is killed and its dir removed after the test file, or at exit.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

export interface NatsServer {
  /** `nats://127.0.0.1:<port>`, stable across {@link NatsServer.restart}. */
  readonly url: string
  readonly port: number
  /** The pid of the current process (a restart gives a new one). */
  readonly pid: number
  /** The server's temp dir: ports file, config, JetStream store (`<dir>/js`). */
  readonly dir: string
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>
  /** Stops the server if it runs, then starts the same binary on the same port and store dir. */
  restart(): Promise<void>
  signal(sig: NodeJS.Signals): void
  /** SIGKILL, no goodbye: clients see the TCP connection drop. */
  kill9(): void
}

export interface StartNatsServerOptions {
  /** Enables JetStream with its store in `<dir>/js`. Default true. */
  jetstream?: boolean
  /** Extra command-line arguments. */
  args?: string[]
  /** A config file's text; written to `<dir>/server.conf` and passed with `-c`. */
  config?: string
  /** Joins a cluster: `port` is the cluster (route) port; `routes` are `nats-route://host:port` URLs. */
  cluster?: { name: string; port?: number; routes: string[] }
  /** The server name (`-n`); JetStream in a cluster needs a unique one. */
  serverName?: string
  /** The binary to run; default {@link natsServerBinary}'s search. */
  bin?: string
}

export interface NatsCluster {
  servers: NatsServer[]
  urls: string[]
  stop(): Promise<void>
}

const INSTALL_HINT = 'apt-get update && apt-get install -y nats-server'
const START_TIMEOUT_MS = 10_000

const live = new Set<{ child: ChildProcess | undefined; dir: string }>()

/** Finds the nats-server binary: `$NATS_SERVER_BIN`, `/usr/sbin/nats-server`, then `$PATH`. */
export function natsServerBinary(
  candidates: string[] = [
    process.env.NATS_SERVER_BIN ?? '',
    '/usr/sbin/nats-server',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'nats-server')),
  ].filter(Boolean),
): string {
  const found = candidates.find((c) => existsSync(c))
  if (!found) {
    throw new Error(
      `nats-server NOT FOUND (looked in ${candidates.join(', ')}). These tests need a real nats-server; ` +
        `install it with: ${INSTALL_HINT} (or set NATS_SERVER_BIN)`,
    )
  }
  return found
}

/**
 * Starts one nats-server on loopback with a random client port.
 *
 * @example
 * const server = await startNatsServer()
 * const bus = await createNatsBus({ servers: server.url })
 */
export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerBinary(opts.bin === undefined ? undefined : [opts.bin])
  const dir = mkdtempSync(join(tmpdir(), 'hive-nats-'))
  const entry: { child: ChildProcess | undefined; dir: string } = { child: undefined, dir }
  live.add(entry)
  const base = ['-a', '127.0.0.1', '--ports_file_dir', dir]
  if (opts.jetstream ?? true) base.push('-js', '-sd', join(dir, 'js'))
  if (opts.serverName) base.push('-n', opts.serverName)
  if (opts.cluster) {
    const { name, port, routes } = opts.cluster
    base.push('--cluster_name', name, '--cluster', `nats://127.0.0.1:${port ?? -1}`)
    if (routes.length) base.push('--routes', routes.join(','))
  }
  if (opts.config !== undefined) {
    writeFileSync(join(dir, 'server.conf'), opts.config)
    base.push('-c', join(dir, 'server.conf'))
  }
  base.push(...(opts.args ?? []))

  let port = -1
  let log = ''
  const launch = async (): Promise<void> => {
    log = ''
    const child = spawn(bin, ['-p', String(port), ...base], { stdio: ['ignore', 'ignore', 'pipe'] })
    entry.child = child
    child.stderr?.on('data', (d: Buffer) => {
      // Keep the tail only: enough to explain a failed start.
      log = (log + d.toString()).slice(-8192)
    })
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, sig) =>
        reject(new Error(`nats-server exited during start (code ${code}, signal ${sig}):\n${log}`)),
      ),
    )
    exited.catch(() => {})
    const spawned = new Promise<never>((_, reject) => child.once('error', reject))
    spawned.catch(() => {})
    const ready = (async () => {
      const found = await readPortsFile(dir, child)
      if (port === -1) port = found
      await probeTcp(port)
    })()
    await Promise.race([ready, exited, spawned])
  }

  const stop = async (): Promise<void> => {
    const child = entry.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await gone
    clearTimeout(timer)
  }

  try {
    await launch()
  } catch (err) {
    await stop()
    cleanup(entry)
    throw err
  }

  return {
    get url() {
      return `nats://127.0.0.1:${port}`
    },
    get port() {
      return port
    },
    get pid() {
      return entry.child?.pid ?? -1
    },
    dir,
    stop,
    async restart() {
      await stop()
      await launch()
    },
    signal(sig) {
      entry.child?.kill(sig)
    },
    kill9() {
      entry.child?.kill('SIGKILL')
    },
  }
}

/** The server of {@link useNatsServer}: read inside tests and hooks, once it has started. */
export interface UsedNatsServer {
  readonly server: NatsServer
  readonly url: string
}

/**
 * One nats-server for the enclosing `describe` (or the file): started in `beforeAll`, stopped in
 * `afterAll`. Its getters throw if read before the server has started (at collection time).
 *
 * @example
 * const nats = useNatsServer()
 * it('…', async () => {
 *   const bus = await createNatsBus({ servers: nats.url })
 * })
 */
export function useNatsServer(opts: StartNatsServerOptions = {}): UsedNatsServer {
  let server: NatsServer | undefined
  beforeAll(async () => {
    server = await startNatsServer(opts)
  })
  afterAll(async () => {
    await server?.stop()
  })
  const started = (): NatsServer => {
    if (!server)
      throw new Error('useNatsServer: the server starts in beforeAll; read it inside a test or hook')
    return server
  }
  return {
    get server() {
      return started()
    },
    get url() {
      return started().url
    },
  }
}

/**
 * Starts `n` clustered servers on loopback, every one routing to all the others, and waits until
 * a publish on each server reaches a subscriber on every other one.
 */
export async function startNatsCluster(
  n = 3,
  opts: Omit<StartNatsServerOptions, 'cluster' | 'serverName'> = {},
): Promise<NatsCluster> {
  const name = `hive-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const clusterPorts = await freePorts(n)
  const servers = await Promise.all(
    clusterPorts.map((port, i) =>
      startNatsServer({
        jetstream: false,
        ...opts,
        serverName: `${name}-${i}`,
        cluster: {
          name,
          port,
          routes: clusterPorts.filter((p) => p !== port).map((p) => `nats-route://127.0.0.1:${p}`),
        },
      }),
    ),
  )
  const cluster: NatsCluster = {
    servers,
    urls: servers.map((s) => s.url),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()))
    },
  }
  try {
    await waitForClusterMesh(cluster.urls)
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}

/** Kills every server this module started and removes their dirs. */
export async function stopAllNatsServers(): Promise<void> {
  const all = [...live]
  await Promise.all(
    all.map(async (e) => {
      const c = e.child
      if (c && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()))
        c.kill('SIGKILL')
        await gone
      }
      cleanup(e)
    }),
  )
}

function cleanup(e: { child: ChildProcess | undefined; dir: string }): void {
  live.delete(e)
  rmSync(e.dir, { recursive: true, force: true })
}

// A failing test must not leave servers behind: after the file, and at worker exit.
try {
  afterAll(stopAllNatsServers)
} catch {
  // Imported outside a vitest file (a bench, a script): the exit hook below still cleans up.
}
process.once('exit', () => {
  for (const e of live) {
    try {
      e.child?.kill('SIGKILL')
    } catch {
      // Already gone: nothing to kill.
    }
    rmSync(e.dir, { recursive: true, force: true })
  }
})

async function readPortsFile(dir: string, child: ChildProcess): Promise<number> {
  const file = join(dir, `nats-server_${child.pid}.ports`)
  const until = Date.now() + START_TIMEOUT_MS
  while (Date.now() < until) {
    if (existsSync(file)) {
      try {
        const ports = JSON.parse(readFileSync(file, 'utf8')) as { nats?: string[] }
        const url = ports.nats?.[0]
        if (url) return Number(new URL(url).port)
      } catch {
        // Written but not complete yet: read again on the next poll.
      }
    }
    await pause(20)
  }
  throw new Error(`nats-server ${child.pid} wrote no ports file in ${dir} within ${START_TIMEOUT_MS} ms`)
}

async function probeTcp(port: number): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: '127.0.0.1', port }, () => {
        sock.end()
        resolve(true)
      })
      sock.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until)
      throw new Error(`nats-server port ${port} did not accept within ${START_TIMEOUT_MS} ms`)
    await pause(20)
  }
}

/** Ports free right now: bind to 0, read the port, release (a small race we accept in tests). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer()
          s.once('error', reject)
          s.listen(0, '127.0.0.1', () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => {
    const addr = s.address()
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address')
    return addr.port
  })
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  return ports
}

async function waitForClusterMesh(urls: string[]): Promise<void> {
  const { connect } = await import('@nats-io/transport-node')
  const ncs = await Promise.all(urls.map((u) => connect({ servers: u })))
  try {
    const subject = `_HIVE_MESH.${Math.random().toString(36).slice(2)}`
    const seen = new Set<string>()
    ncs.forEach((nc, i) => {
      nc.subscribe(`${subject}.${i}`, { callback: (_e, m) => void seen.add(`${m.string()}>${i}`) })
    })
    await Promise.all(ncs.map((nc) => nc.flush()))
    const want = urls.length * (urls.length - 1)
    const until = Date.now() + START_TIMEOUT_MS
    while (seen.size < want) {
      if (Date.now() > until)
        throw new Error(`cluster did not form: ${seen.size}/${want} routes carry messages`)
      ncs.forEach((nc, from) => {
        urls.forEach((_u, to) => {
          if (to !== from) nc.publish(`${subject}.${to}`, String(from))
        })
      })
      await Promise.all(ncs.map((nc) => nc.flush()))
      await pause(50)
    }
  } finally {
    await Promise.all(ncs.map((nc) => nc.close()))
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
