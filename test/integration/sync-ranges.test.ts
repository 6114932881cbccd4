import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncResult } from '../../common/sync.js';
import { connectWorker } from '../../runtime/temporal.js';
import { DOMAIN_PLUGINS, WORKFLOWS_PATH } from '../../workers/plugins.js';
import { mysqlDigest, openHarness, postgresDigest, type Harness } from '../support/harness.js';

const ROWS = 20_000;
/** 500-row pages, 4 a chunk: ranges of 2,000 rows. */
const PAGING = { pageRows: 500, pagesPerChunk: 4 };
const COLUMNS = ['id', 'updated_at', 'payload', 'amount'];

// Two ingestion Workers poll the test's queue, two activity slots each, so four ranges at once
// need both; a sync of a dataset declaring parallelRanges cuts its key space into 2,000-row ranges.
describe('a large sync cut into primary-key ranges, copied by two ingestion workers at once', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const table = `ranges_${tag}`;
  const dataset = `ranges.${tag}`;
  const sourceDb = `spokeflow_src_${tag}`;
  const mysqlDataset = `ranges_mysql.${tag}`;
  const identities = [`ranges-a-${tag}`, `ranges-b-${tag}`];
  let h: Harness;
  let connections: NativeConnection[] = [];
  let workers: Worker[] = [];
  let running: Promise<void>[] = [];

  const sync = async (input: Record<string, unknown>): Promise<{ result: SyncResult; handle: WorkflowHandle }> => {
    const handle = await h.client.workflow.start('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: `test-ranges-${tag}-${randomUUID().slice(0, 6)}`,
      args: [{ ...PAGING, ...input }],
    });
    return { result: (await handle.result()) as SyncResult, handle };
  };
  const silverDigest = () => mysqlDigest(h.warehouse, `\`${table}\``, COLUMNS, ['id']);
  const sourceDigest = () => postgresDigest(h.postgres, `public.${table}`, COLUMNS, ['id']);
  const rangesOf = async (syncRunId: string) => {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS ranges, COUNT(done_at) AS done, SUM(rows_copied) AS `rows` FROM sync_key_ranges WHERE sync_run_id = ?',
      [syncRunId],
    );
    return { ranges: Number(rows[0]?.ranges), done: Number(rows[0]?.done), rows: Number(rows[0]?.rows) };
  };
  /** Who ran each copyKeyRange of a run: the identities on their started events. */
  const rangeWorkers = async (handle: WorkflowHandle) => {
    const events = (await handle.fetchHistory()).events ?? [];
    const rangeCopies = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'copyKeyRange').map((e) => String(e.eventId)),
    );
    return new Set(
      events
        .filter((e) => rangeCopies.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
        .map((e) => e.activityTaskStartedEventAttributes!.identity),
    );
  };

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    await h.postgres.query(`
      CREATE TABLE public.${table} AS
        SELECT g::bigint AS id,
               timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute' AS updated_at,
               md5(g::text) AS payload,
               ((g % 1000)::numeric / 7)::numeric(12, 4) AS amount
        FROM generate_series(1, ${ROWS}) AS g;
      ALTER TABLE public.${table} ADD PRIMARY KEY (id);`);
    await h.datasets.upsert({
      name: dataset,
      source: { kind: 'postgres', connection: 'local-postgres', table: `public.${table}`, primaryKey: ['id'], cursor: 'updated_at' },
      target: { table },
      owner: 'ops@example.com',
      team: 'platform',
      parallelRanges: 4,
    });
    // A connection each: the SDK refuses two workers of one queue on one connection.
    connections = await Promise.all(identities.map(() => connectWorker(h.config)));
    const plugin = DOMAIN_PLUGINS.ingestion!;
    workers = await Promise.all(
      identities.map((identity, i) =>
        Worker.create({
          connection: connections[i]!,
          namespace: h.config.temporal.namespace,
          taskQueue: h.taskQueue,
          identity,
          maxConcurrentActivityTaskExecutions: 2,
          // The first also runs the workflows; the second only activities, as a worker of its own would.
          plugins: [plugin({ config: h.config, clients: h.clients, registerWorkflows: i === 0 })],
        }),
      ),
    );
    running = workers.map((w) => w.run());
  });

  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
    await Promise.all(connections.map((c) => c.close()));
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h.warehouse.query(`DROP DATABASE IF EXISTS \`${sourceDb}\``);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`${table}\`, \`lines_${tag}\``);
    await h.close();
  });

  it('copies a full refresh range by range on both workers: silver equals the source, every range once', async () => {
    const { result, handle } = await sync({ dataset, mode: 'full' });
    expect(result).toMatchObject({ rows: ROWS, quarantined: 0, objects: ROWS / PAGING.pageRows, deletedRows: 0 });
    expect(await silverDigest()).toEqual(await sourceDigest());
    expect(await rangesOf(result.syncRunId)).toEqual({ ranges: 10, done: 10, rows: ROWS });
    const [manifest] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS pages, SUM(rows_copied) AS n FROM sync_manifest WHERE sync_run_id = ?',
      [result.syncRunId],
    );
    expect([Number(manifest[0]?.pages), Number(manifest[0]?.n)]).toEqual([ROWS / PAGING.pageRows, ROWS]);
    expect(await rangeWorkers(handle)).toEqual(new Set(identities));
    // The watermark is the plan's top of the cursor, written once the last range was in.
    const [mark] = await h.clients.catalog.query<RowDataPacket[]>('SELECT position, sync_run_id FROM watermarks WHERE dataset = ?', [
      dataset,
    ]);
    expect(mark[0]?.sync_run_id).toBe(result.syncRunId);
    expect(result.watermark?.[0]).toBe('2025-01-14 21:20:00');
    // Ranges end in whatever order the workers finish them: the history replays all the same.
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, await handle.fetchHistory(), handle.workflowId);
  });

  it('reruns to the same silver table, then removes exactly the rows gone from the source', async () => {
    const again = await sync({ dataset, mode: 'full' });
    expect(again.result).toMatchObject({ rows: ROWS, deletedRows: 0 });
    expect(await silverDigest()).toEqual(await sourceDigest());

    const { rowCount: gone } = await h.postgres.query(`DELETE FROM public.${table} WHERE id % 97 = 0 OR id > ${ROWS - 300}`);
    await h.postgres.query(
      `UPDATE public.${table} SET payload = 'changed', updated_at = updated_at + interval '1 second' WHERE id % 101 = 0`,
    );
    const after = await sync({ dataset, mode: 'full' });
    expect(after.result).toMatchObject({ rows: ROWS - gone!, deletedRows: gone });
    expect(await silverDigest()).toEqual(await sourceDigest());
    expect(await rangeWorkers(after.handle)).toEqual(new Set(identities));
  });

  it('copies a window as key ranges of the rows in it, leaving the watermark alone', async () => {
    const [before] = await h.clients.catalog.query<RowDataPacket[]>('SELECT position FROM watermarks WHERE dataset = ?', [dataset]);
    const window = { from: '2025-01-03 00:00:00', to: '2025-01-10 00:00:00' };
    const { rows } = await h.postgres.query(
      `SELECT count(*)::int AS n FROM public.${table} WHERE updated_at >= $1::timestamptz AND updated_at < $2::timestamptz`,
      [`${window.from}+00`, `${window.to}+00`],
    );
    const { result } = await sync({ dataset, window });
    expect(result.rows).toBe(rows[0].n);
    const ranges = await rangesOf(result.syncRunId);
    expect(ranges).toEqual({ ranges: Math.ceil(rows[0].n / 2_000), done: Math.ceil(rows[0].n / 2_000), rows: rows[0].n });
    expect(await silverDigest()).toEqual(await sourceDigest());
    const [mark] = await h.clients.catalog.query<RowDataPacket[]>('SELECT position FROM watermarks WHERE dataset = ?', [dataset]);
    expect(mark[0]?.position).toEqual(before[0]?.position);
  });

  it('cuts a MySQL table with a two-column key into ranges and copies it exactly', async () => {
    await h.warehouse.query(`CREATE DATABASE \`${sourceDb}\` CHARACTER SET utf8mb4`);
    await h.warehouse.query(
      `CREATE TABLE \`${sourceDb}\`.lines (order_id INT NOT NULL, line_no INT NOT NULL, sku VARCHAR(20) NOT NULL, qty INT NULL, PRIMARY KEY (order_id, line_no))`,
    );
    const lines = Array.from({ length: 6_000 }, (_, i) => [Math.floor(i / 7), i % 7, `sku-${i}`, i % 13 === 0 ? null : i % 50]);
    await h.warehouse.query(`INSERT INTO \`${sourceDb}\`.lines (order_id, line_no, sku, qty) VALUES ?`, [lines]);
    await h.datasets.upsert({
      name: mysqlDataset,
      source: { kind: 'mysql', connection: 'local-mysql', table: `${sourceDb}.lines` },
      target: { table: `lines_${tag}` },
      owner: 'ops@example.com',
      team: 'platform',
      parallelRanges: 3,
    });
    const { result } = await sync({ dataset: mysqlDataset, mode: 'full' });
    expect(result.rows).toBe(6_000);
    expect(await rangesOf(result.syncRunId)).toEqual({ ranges: 3, done: 3, rows: 6_000 });
    const columns = ['order_id', 'line_no', 'sku', 'qty'];
    const key = ['order_id', 'line_no'];
    expect(await mysqlDigest(h.warehouse, `\`lines_${tag}\``, columns, key)).toEqual(
      await mysqlDigest(h.warehouse, `\`${sourceDb}\`.lines`, columns, key),
    );
  });
});
