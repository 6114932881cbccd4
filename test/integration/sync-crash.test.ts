import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncProgress } from '../../common/sync.js';
import { mysqlDigest, openHarness, postgresDigest, type Harness } from '../support/harness.js';
import { startWorkerProcess } from '../support/worker-process.js';

const ROWS = 300_000;

const startWorker = (taskQueue: string) => startWorkerProcess(taskQueue);

describe('a worker killed in the middle of a large copy', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const table = `crash_${tag}`;
  const dataset = `crash.${tag}`;
  let h: Harness;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    await h.postgres.query(`
      CREATE TABLE public.${table} AS
        SELECT g::bigint AS id,
               timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second' AS updated_at,
               md5(g::text) AS payload,
               ((g % 1000)::numeric / 7)::numeric(12, 4) AS amount
        FROM generate_series(1, ${ROWS}) AS g;
      ALTER TABLE public.${table} ADD PRIMARY KEY (id);
      CREATE INDEX ON public.${table} (updated_at, id);`);
    await h.declarePublicTable(dataset, table, 'updated_at');
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`${table}\``);
    await h.close();
  });

  it('resumes from its last committed page after a restart, with no row lost or doubled', async () => {
    const first = startWorker(h.taskQueue);
    children.push(first);
    const handle = await h.client.workflow.start('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-crash-${tag}`,
      args: [{ dataset, pageRows: 5_000, pagesPerChunk: 100 }],
    });

    // Wait until a good part of the copy has been committed, then pull the plug.
    let progress: SyncProgress | undefined;
    for (let i = 0; i < 600; i++) {
      progress = await handle.query<SyncProgress>('progress').catch(() => undefined);
      const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
        'SELECT COALESCE(SUM(m.rows_copied), 0) AS n FROM sync_manifest m JOIN sync_runs r USING (sync_run_id) WHERE r.dataset = ?',
        [dataset],
      );
      if (Number(rows[0]?.n) >= 60_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const killedAt = new Date();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const [committed] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT COALESCE(SUM(m.rows_copied), 0) AS n FROM sync_manifest m JOIN sync_runs r USING (sync_run_id) WHERE r.dataset = ?',
      [dataset],
    );
    expect(Number(committed[0]?.n)).toBeGreaterThan(0);
    expect(Number(committed[0]?.n)).toBeLessThan(ROWS);
    expect(progress?.phase).toBe('copying');

    children.push(startWorker(h.taskQueue));
    const result = (await handle.result()) as { rows: number; syncRunId: string };
    expect(result.rows).toBe(ROWS);

    const columns = ['id', 'updated_at', 'payload', 'amount'];
    const source = await postgresDigest(h.postgres, `public.${table}`, columns, ['id']);
    expect(await mysqlDigest(h.warehouse, `\`${table}\``, columns, ['id'])).toEqual(source);

    // Pages committed before the kill were not copied again: the retry resumed after them.
    const [before] = await h.warehouse.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE _spokeflow_loaded_at < ?`, [
      killedAt.toISOString().replace('T', ' ').replace('Z', ''),
    ]);
    expect(Number(before[0]?.n)).toBe(Number(committed[0]?.n));

    const [manifest] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS pages, SUM(rows_copied) AS n, MIN(seq) AS lo, MAX(seq) AS hi FROM sync_manifest WHERE sync_run_id = ?',
      [result.syncRunId],
    );
    expect(Number(manifest[0]?.n)).toBe(ROWS);
    expect(Number(manifest[0]?.pages)).toBe(ROWS / 5_000);
    expect([Number(manifest[0]?.lo), Number(manifest[0]?.hi)]).toEqual([1, ROWS / 5_000]);

    const history = await handle.fetchHistory();
    const attempts = (history.events ?? [])
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });
});
