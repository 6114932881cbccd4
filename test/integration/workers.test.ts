import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../support/harness.js';
import { exitOf, polling, startWorkerProcess } from '../support/worker-process.js';

describe('worker processes', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  let h: Harness;
  const children: ChildProcess[] = [];
  const start = (queue: string) => {
    const child = startWorkerProcess(queue);
    children.push(child);
    return child;
  };

  async function declareTable(name: string, rows: number): Promise<string> {
    await h.postgres.query(
      `CREATE TABLE public.${name} AS SELECT g AS id, now() AS at, md5(g::text) AS payload FROM generate_series(1, ${rows}) g`,
    );
    await h.postgres.query(`ALTER TABLE public.${name} ADD PRIMARY KEY (id)`);
    await h.declarePublicTable(`workers.${name}`, name);
    return `workers.${name}`;
  }

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (!h) return;
    const [tables] = await h.warehouse.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?`,
      [`w%_${tag}`],
    );
    for (const { t } of tables) {
      await h.warehouse.query(`DROP TABLE IF EXISTS \`${t}\``);
      await h.postgres.query(`DROP TABLE IF EXISTS public."${t}"`);
    }
    await h.close();
  });

  it('drains on SIGTERM: the copy in flight finishes before the process exits', async () => {
    const dataset = await declareTable(`wdrain_${tag}`, 150_000);
    const queue = `${h.taskQueue}-drain`;
    const first = start(queue);
    const handle = await h.client.workflow.start('syncWorkflow', {
      taskQueue: queue,
      workflowId: `test-drain-${tag}`,
      args: [{ dataset, pageRows: 2_000, pagesPerChunk: 1_000 }],
    });
    for (let i = 0; i < 600; i++) {
      const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM sync_manifest m JOIN sync_runs r USING (sync_run_id) WHERE r.dataset = ?',
        [dataset],
      );
      if (Number(rows[0]?.n) >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill('SIGTERM');
    expect(await exitOf(first)).toBe(0);

    // The whole copy was one activity: it completed on the stopping worker, never retried.
    const history = await handle.fetchHistory();
    const copies = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
    expect(copies.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1, 1, 1]); // take the lease, plan, copy
    expect((history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(3);

    start(queue); // someone has to run the finishing step
    const result = (await handle.result()) as { rows: number };
    expect(result.rows).toBe(150_000);
  });

  it('shares one task queue between several processes', async () => {
    const queue = `${h.taskQueue}-shared`;
    await Promise.all([polling(start(queue)), polling(start(queue))]);
    const datasets = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => declareTable(`wshare${i}_${tag}`, 3_000)));
    const handles = await Promise.all(
      datasets.map((dataset, i) =>
        h.client.workflow.start('syncWorkflow', {
          taskQueue: queue,
          workflowId: `test-share-${tag}-${i}`,
          args: [{ dataset, pageRows: 1_000, pagesPerChunk: 1 }],
        }),
      ),
    );
    const results = (await Promise.all(handles.map((handle) => handle.result()))) as { rows: number }[];
    expect(results.map((r) => r.rows)).toEqual([3_000, 3_000, 3_000, 3_000, 3_000, 3_000]);
    const identities = new Set<string>();
    for (const handle of handles) {
      for (const e of (await handle.fetchHistory()).events ?? []) {
        const identity = e.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    expect(identities.size).toBe(2);
  });
});
