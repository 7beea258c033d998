/**
 * The NATS server a benchmark runs against: the one given with `--nats URL`, else a fresh
 * nats-server (no JetStream) started through the test helper, stopped by `stop()`.
 */
export interface BenchServer {
  readonly url: string
  /** Whether the bench started it (and so must stop it). */
  readonly owned: boolean
  /** The server's pid when the bench started it (for its CPU time). */
  readonly pid?: number
  stop(): Promise<void>
}

export async function benchNatsServer(external: string | undefined): Promise<BenchServer> {
  if (external) return { url: external, owned: false, stop: async () => {} }
  // Loaded only when needed, so `--nats` works without the test helpers.
  const { startNatsServer } = await import('../../test/helpers/natsServer.ts')
  const server = await startNatsServer({ jetstream: false })
  return { url: server.url, owned: true, pid: server.pid, stop: () => server.stop() }
}
