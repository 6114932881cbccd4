import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../support/harness.js';
import { exitOf, startWorkerProcess } from '../support/worker-process.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The probe's status, or undefined while nothing listens (not yet, or no longer). */
async function probe(port: number, path: '/healthz' | '/readyz'): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  } catch {
    return undefined;
  }
}

describe('worker health endpoint (SPOKEFLOW_HEALTH_BIND)', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const table = `whealth_${tag}`;
  let h: Harness;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    await h.postgres.query(
      `CREATE TABLE public.${table} AS SELECT g AS id, now() AS at, md5(g::text) AS payload FROM generate_series(1, 30000) g`,
    );
    await h.postgres.query(`ALTER TABLE public.${table} ADD PRIMARY KEY (id)`);
    await h.declarePublicTable(`workers.${table}`, table);
  });

  afterAll(async () => {
    worker?.kill('SIGKILL');
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h.close();
  });

  it('is live but not ready while the worker starts, ready once it polls, and unready from SIGTERM until it exits', async () => {
    const port = await freePort();
    const queue = `${h.taskQueue}-health`;
    worker = startWorkerProcess(queue, { SPOKEFLOW_HEALTH_BIND: `127.0.0.1:${port}` });

    // Readiness goes 503 (connecting, bundling) → 200 (polling), never back while it runs.
    const starting: number[] = [];
    let live: number | undefined;
    for (;;) {
      const ready = await probe(port, '/readyz');
      if (ready === undefined) {
        expect(worker.exitCode).toBeNull();
      } else {
        starting.push(ready);
        live ??= await probe(port, '/healthz');
        if (ready === 200) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(live).toBe(200);
    expect(starting[0]).toBe(503);
    expect(starting.indexOf(200)).toBe(starting.length - 1);

    const handle = await h.client.workflow.start('syncWorkflow', {
      taskQueue: queue,
      workflowId: `test-health-${tag}`,
      args: [{ dataset: `workers.${table}`, pageRows: 500, pagesPerChunk: 1_000 }],
    });
    for (let i = 0; i < 600; i++) {
      const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM sync_manifest m JOIN sync_runs r USING (sync_run_id) WHERE r.dataset = ?',
        [`workers.${table}`],
      );
      if (Number(rows[0]?.n) >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await probe(port, '/readyz')).toBe(200);

    // Draining the copy in flight: still live, no longer ready, until the process is gone.
    const exited = exitOf(worker);
    worker.kill('SIGTERM');
    const draining: { ready: number | undefined; live: number | undefined }[] = [];
    while (worker.exitCode === null) {
      const [ready, alive] = await Promise.all([probe(port, '/readyz'), probe(port, '/healthz')]);
      if (ready !== undefined) draining.push({ ready, live: alive });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await exited).toBe(0);
    // The signal is handled on the worker's next loop turn: a probe already in flight may still say 200.
    const unready = draining.findIndex((d) => d.ready === 503);
    expect(unready).toBeGreaterThanOrEqual(0);
    expect(unready).toBeLessThanOrEqual(1);
    expect(draining.slice(unready).every((d) => d.ready === 503)).toBe(true);
    expect(draining.filter((d) => d.live !== undefined).every((d) => d.live === 200)).toBe(true);
    await handle.terminate('test done');
  });
});
