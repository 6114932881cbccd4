import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSilverPage } from '../../activities/catalog/silver.js';
import { backfillWorkflowId } from '../../common/backfill.js';
import type { SyncProgress } from '../../common/sync.js';
import { syncWorkflowId } from '../../common/workflow-ids.js';
import { openHarness, type Harness } from '../support/harness.js';

describe('one writer per dataset', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  let h: Harness;
  let dataset: string;
  const table = `lease_${tag}`;

  type Origin = 'schedule' | 'cli' | 'backfill';
  /** A run of the dataset as each origin starts it: the ids schedules, the CLI and backfills use. */
  function startAs(origin: Origin, extra: Record<string, unknown> = {}): Promise<WorkflowHandle> {
    const [type, workflowId, input] =
      origin === 'backfill'
        ? ['backfillWorkflow', backfillWorkflowId(dataset), { dataset, from: '2024-03-01', to: '2024-03-03', concurrency: 1 }]
        : origin === 'cli'
          ? ['syncWorkflow', syncWorkflowId(dataset), { dataset }]
          : ['syncWorkflow', `spokeflow:sync:${dataset}-2026-12-02T15:00:00Z`, { dataset }];
    return h.client.workflow.start(type, { taskQueue: h.taskQueue, workflowId, args: [{ ...input, ...extra }] });
  }

  async function holder(): Promise<string | null> {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>('SELECT holder_workflow_id FROM dataset_leases WHERE dataset = ?', [
      dataset,
    ]);
    return (rows[0]?.holder_workflow_id as string | undefined) ?? null;
  }

  async function untilHeldBy(workflowId: string | null): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if ((await holder()) === workflowId) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the lease of ${dataset} never became ${workflowId ?? 'free'} (held by ${await holder()})`);
  }

  async function failureOf(handle: WorkflowHandle): Promise<string> {
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause?.message ?? '';
  }

  beforeAll(async () => {
    h = await openHarness();
    // Every query of the source sleeps half a second (once per query), so a run holds the lease long enough to be met.
    await h.postgres.query(`
      CREATE TABLE public.${table} AS
        SELECT g AS id, timestamp '2024-03-01' + g * interval '1 hour' AS at FROM generate_series(1, 40) g;
      ALTER TABLE public.${table} ADD PRIMARY KEY (id)`);
    dataset = `lease_${tag}.orders`;
    await h.datasets.upsert({
      name: dataset,
      source: {
        kind: 'postgres',
        connection: 'local-postgres',
        query: `SELECT id, at FROM public.${table}, (SELECT pg_sleep(0.5)) AS slow`,
        primaryKey: ['id'],
        cursor: 'at',
      },
      target: { table },
      owner: 'ops@example.com',
      team: 'platform',
    });
  });

  afterAll(async () => {
    await h?.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h?.warehouse.query(`DROP TABLE IF EXISTS \`${table}\``);
    await h?.close();
  });

  const origins: Origin[] = ['schedule', 'cli', 'backfill'];
  it.each(origins)('while a run started by %s holds the dataset, every other origin is refused "dataset busy"', async (first) => {
    const running = await startAs(first);
    await untilHeldBy(running.workflowId);
    for (const second of origins.filter((o) => o !== first)) {
      const refused = await startAs(second);
      expect(await failureOf(refused)).toBe(`DatasetBusy: dataset busy: ${dataset} is held by ${running.workflowId}`);
    }
    // A cancelled run still releases the lease.
    await running.cancel();
    await running.result().catch(() => undefined);
    await untilHeldBy(null);
  });

  it('a run with whenBusy "wait" waits for the holder, then runs once it has ended', async () => {
    const first = await startAs('cli', { mode: 'full' });
    await untilHeldBy(first.workflowId);
    const waiting = await startAs('schedule', { whenBusy: 'wait' });
    for (let i = 0; i < 400; i++) {
      const p = await waiting.query<SyncProgress>('progress');
      if (p.phase === 'waiting') {
        expect(p.waitingFor).toBe(first.workflowId);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await first.result();
    const firstClosed = (await first.describe()).closeTime!.getTime();
    await waiting.result();
    const history = (await waiting.fetchHistory()).events ?? [];
    const planned = history.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'planSync');
    expect(Number(planned?.eventTime?.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(firstClosed / 1000) * 1000);
    expect(await holder()).toBeNull();
  });

  it('a lease whose holder crashed is taken over once it has expired, and refused before', async () => {
    const take = (expires: string) =>
      h.clients.catalog.query(
        `REPLACE INTO dataset_leases (dataset, holder_workflow_id, holder_run_id, taken_at, expires_at)
         VALUES (?, 'sync:crashed', 'gone', UTC_TIMESTAMP(6) - INTERVAL 1 HOUR, UTC_TIMESTAMP(6) + INTERVAL ${expires})`,
        [dataset],
      );
    await take('1 HOUR');
    expect(await failureOf(await startAs('cli'))).toBe(`DatasetBusy: dataset busy: ${dataset} is held by sync:crashed`);
    await take('-1 SECOND');
    const result = await (await startAs('cli')).result();
    expect(result).toMatchObject({ dataset });
    expect(await holder()).toBeNull();
  });

  it('an old version of a row arriving after a newer one leaves the newer row in silver', async () => {
    const silver = { database: h.config.mysql.silverDatabase, table: `stale_${tag}` };
    await h.warehouse.query(
      `CREATE TABLE \`${silver.table}\` (id BIGINT NOT NULL PRIMARY KEY, at DATETIME(6) NULL, v VARCHAR(20) NULL,
       _spokeflow_run VARCHAR(64) NOT NULL, _spokeflow_loaded_at DATETIME(6) NOT NULL)`,
    );
    const columns = [
      { name: 'id', type: { kind: 'int' } },
      { name: 'at', type: { kind: 'timestamp' } },
      { name: 'v', type: { kind: 'string' } },
    ] as Parameters<typeof loadSilverPage>[2];
    const load = async (tsv: string, run: string) => {
      const conn = await h.warehouse.getConnection();
      try {
        await conn.beginTransaction();
        await loadSilverPage(conn, silver, columns, Buffer.from(tsv), run, { cursor: 'at', claimSeenRows: false });
        await conn.commit();
      } finally {
        conn.release();
      }
    };
    try {
      await load('1\t2024-03-02 00:00:00\tnew\n2\t2024-03-01 00:00:00\told\n', 'incremental');
      // A slow partition read both rows before they changed: row 1 is older than silver's, row 2 newer.
      await load('1\t2024-03-01 00:00:00\tstale\n2\t2024-03-03 00:00:00\tnewer\n3\t2024-03-01 00:00:00\tfresh\n', 'partition');
      const [rows] = await h.warehouse.query<RowDataPacket[]>(
        `SELECT CAST(id AS CHAR) AS id, DATE_FORMAT(at, '%Y-%m-%d') AS at, v, _spokeflow_run AS run FROM \`${silver.table}\` ORDER BY id`,
      );
      expect(rows.map((r) => ({ ...r }))).toEqual([
        { id: '1', at: '2024-03-02', v: 'new', run: 'incremental' },
        { id: '2', at: '2024-03-03', v: 'newer', run: 'partition' },
        { id: '3', at: '2024-03-01', v: 'fresh', run: 'partition' },
      ]);
    } finally {
      await h.warehouse.query(`DROP TABLE IF EXISTS \`${silver.table}\``);
    }
  });
});
