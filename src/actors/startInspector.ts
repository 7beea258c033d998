import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type Socket } from 'node:net'
import { createWebSocketInspector } from '@statelyai/inspect'
import { createInspectorServer } from '@statelyai/inspect/server'
import type { InspectionEvent } from 'xstate'
import type { Logger } from './createLogger.ts'

export interface InspectorHandle {
  /** Where to open the inspector in a browser (the page itself is served by stately.ai). */
  readonly url: string
  readonly port: number
  /** Pass to every root actor (`createActor(m, { inspect })`). */
  readonly inspect: (event: InspectionEvent) => void
  stop(): void
}

/**
 * Starts the Stately inspector relay (`@statelyai/inspect/server`) and a WebSocket inspector that
 * feeds it: open `url` in a browser to watch every actor of this process live.
 */
export async function startInspector(
  o: { port?: number; log?: Logger; autoOpen?: boolean } = {},
): Promise<InspectorHandle> {
  const port = o.port ?? (await freePort())
  // The relay's stop() closes its listener but not the connections it has (ws 8 no longer closes
  // them), so a viewer still connected would keep this process alive. It does not expose its
  // server, so its sockets are tracked here, by the port they were accepted on.
  const sockets = new Set<Socket>()
  const onSocket = (m: unknown) => {
    const socket = (m as { socket: Socket }).socket
    if (socket.localPort !== port) return
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  subscribe('net.server.socket', onSocket)
  const relay = createInspectorServer({ port, autoOpen: o.autoOpen ?? false })
  const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` })
  const url = `http://localhost:${port}`
  o.log?.info({ url }, 'Stately inspector relay running: open this URL in a browser')
  const observer = inspector.inspect as { next?: (e: InspectionEvent) => void }
  return {
    url,
    port,
    inspect: (e) => observer.next?.(e),
    stop() {
      inspector.stop()
      relay.stop()
      unsubscribe('net.server.socket', onSocket)
      for (const socket of sockets) socket.destroy()
    },
  }
}

/** A port that was free a moment ago (the relay takes a fixed port; port 0 is not exposed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}
