import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { State } from '@temporalio/worker';

/** What a probe answers: an HTTP status and a small JSON body saying why. */
export interface ProbeAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

/**
 * Ready only while every worker of the process polls: 503 before they exist (connecting, loading
 * the bundle) and from SIGTERM on (stopping, draining), so Kubernetes sends no one new meanwhile.
 */
export function readiness(states: readonly State[] | undefined): ProbeAnswer {
  if (!states || states.length === 0) return { status: 503, body: { ready: false, state: 'STARTING' } };
  const ready = states.every((s) => s === 'RUNNING');
  return { status: ready ? 200 : 503, body: { ready, states } };
}

/** Parses `host:port` (IPv6 in brackets); the port may be 0 for any free one. */
export function parseBind(bind: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(bind.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new Error(`invalid configuration: SPOKEFLOW_HEALTH_BIND: expected host:port, got "${bind}"`);
  return { host: m[1] ?? m[2]!, port };
}

export interface HealthServer {
  /** The port it listens on (the bound one when asked for port 0). */
  port: number;
  /** Hands over the workers' states once they exist. */
  watch(states: () => readonly State[]): void;
  close(): Promise<void>;
}

/**
 * `/healthz` (liveness) and `/readyz` (readiness) for Kubernetes probes. Liveness is the event loop
 * answering at all: a blocked loop cannot reply, and the probe's own timeout turns that into a
 * restart; the loop delay is reported so an operator sees how close it came.
 */
export async function startHealthServer(bind: string): Promise<HealthServer> {
  const { host, port } = parseBind(bind);
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  let states: (() => readonly State[]) | undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    let answer: ProbeAnswer;
    if (path === '/healthz') {
      answer = { status: 200, body: { live: true, eventLoopDelayMaxMs: Math.round(delay.max / 1e6) } };
      delay.reset();
    } else if (path === '/readyz') {
      answer = readiness(states?.());
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  // A probe connection must not keep a stopping process alive.
  server.unref();
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    watch: (fn) => {
      states = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        delay.disable();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
