import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillWorkflowId, type BackfillProgress } from '../../common/backfill.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { ingestionPlugin } from '../../workers/plugins.js';
import type { BackfillResult } from '../../workflows/backfill.js';
import { openHarness, type Harness } from '../support/harness.js';
import { exitOf } from '../support/worker-process.js';

const TEMPORAL_CLI = process.env.TEMPORAL_CLI_PATH ?? new URL('../../.stack/py/bin/temporal', import.meta.url).pathname;
const PORT = 17_433 + Math.floor(Math.random() * 500);

/** A Temporal dev server of this test's own, on a database file that outlives a restart. */
function startServer(dbFile: string): ChildProcess {
  const typeName = (t: string) => (t === 'INT' ? 'Int' : 'Keyword');
  return spawn(
    TEMPORAL_CLI,
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(PORT),
      '--db-filename',
      dbFile,
      '--log-level',
      'error',
      ...ALL_SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${typeName(a.type)}`]),
    ],
    { stdio: 'ignore' },
  );
}

async function connect(): Promise<Connection> {
  for (let i = 0; i < 200; i++) {
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${PORT}`, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the test Temporal server did not come up');
}

describe('a backfill across a Temporal server restart', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'spokeflow-temporal-'));
  const dbFile = join(dir, 'temporal.db');
  const table = `restart_${tag}`;
  const dataset = `restart_${tag}.events`;
  let h: Harness;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    await h.postgres.query(`
      CREATE TABLE public.${table} AS SELECT g AS id, timestamp '2024-01-01' + (g - 1) * interval '1 hour' AS at FROM generate_series(1, 60 * 24) g;
      ALTER TABLE public.${table} ADD PRIMARY KEY (id)`);
    await h.declarePublicTable(dataset, table);
  });

  afterAll(async () => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`${table}\``);
    await h.close();
  });

  it('picks up where it was when the server comes back, and finishes every partition once', async () => {
    server = startServer(dbFile);
    let connection = await connect();
    const workerConnection = await NativeConnection.connect({ address: `127.0.0.1:${PORT}` });
    const worker = await Worker.create({
      connection: workerConnection,
      taskQueue: h.taskQueue,
      plugins: [ingestionPlugin({ config: h.config, clients: h.clients })],
    });
    const running = worker.run();
    try {
      let client = new Client({ connection });
      const handle = await client.workflow.start('backfillWorkflow', {
        taskQueue: h.taskQueue,
        workflowId: backfillWorkflowId(dataset),
        args: [{ dataset, from: '2024-01-01', to: '2024-03-01', concurrency: 2 }],
      });
      for (let i = 0; ; i++) {
        const p = await handle.query<BackfillProgress>('progress');
        if (p.succeeded >= 10) break;
        if (i > 600) throw new Error('the backfill did not get going');
        await new Promise((r) => setTimeout(r, 50));
      }

      // The server goes away mid-backfill (its state is on disk), then comes back.
      server.kill('SIGTERM');
      await exitOf(server);
      server = startServer(dbFile);
      await connection.close();
      connection = await connect();
      client = new Client({ connection });

      const result = (await client.workflow.getHandle(handle.workflowId).result()) as BackfillResult;
      expect(result).toMatchObject({ status: 'completed', partitions: 60, toRun: 60, succeeded: 60, failed: 0, rows: 60 * 24 });
      const [rows] = await h.warehouse.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
      expect(Number((rows as { n: number }[])[0]?.n)).toBe(60 * 24);
    } finally {
      worker.shutdown();
      await running;
      await workerConnection.close();
      await connection.close();
    }
  });
});
