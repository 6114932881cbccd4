import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillWorkflowId, type BackfillProgress } from '../../common/backfill.js';
import type { BackfillResult } from '../../workflows/backfill.js';
import { openHarness, type Harness } from '../support/harness.js';
import { SearchAttr } from '../../common/search-attributes.js';

const DAYS = 10;
const ROWS_PER_DAY = 24;

describe('backfill of a partition range', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  let h: Harness;
  const tables: string[] = [];

  /** A source with ROWS_PER_DAY rows on each of DAYS days from 2024-03-01; `poison` rows break its query. */
  async function declareSource(name: string, opts: { poisonDays?: number[] } = {}): Promise<string> {
    const table = `${name}_${tag}`;
    tables.push(table);
    await h.postgres.query(`
      CREATE TABLE public.${table} AS
        SELECT g AS id, timestamp '2024-03-01' + (g - 1) * interval '1 hour' AS at, false AS poison
        FROM generate_series(1, ${DAYS * ROWS_PER_DAY}) g;
      ALTER TABLE public.${table} ADD PRIMARY KEY (id)`);
    for (const day of opts.poisonDays ?? []) {
      await h.postgres.query(`UPDATE public.${table} SET poison = true WHERE at >= $1::date AND at < $1::date + 1 AND id % 24 = 5`, [
        `2024-03-${String(day).padStart(2, '0')}`,
      ]);
    }
    await h.datasets.upsert({
      name: `backfill_${tag}.${name}`,
      source: {
        kind: 'postgres',
        connection: 'local-postgres',
        // Dividing by zero on a poison row makes that partition's query fail, as a broken source would.
        query: `SELECT id, at, 1 / (CASE WHEN poison THEN 0 ELSE 1 END) AS one FROM public.${table}`,
        primaryKey: ['id'],
        cursor: 'at',
      },
      target: { table },
      owner: 'ops@example.com',
      team: 'platform',
    });
    return `backfill_${tag}.${name}`;
  }

  function startBackfill(dataset: string, args: Record<string, unknown>): Promise<WorkflowHandle> {
    return h.client.workflow.start('backfillWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: backfillWorkflowId(dataset),
      args: [{ dataset, from: '2024-03-01', to: `2024-03-${String(DAYS + 1).padStart(2, '0')}`, ...args }],
    });
  }

  async function partitionStates(dataset: string): Promise<Record<string, string>> {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT partition_key, status FROM backfill_partitions WHERE dataset = ? ORDER BY partition_key',
      [dataset],
    );
    return Object.fromEntries(rows.map((r) => [r.partition_key, r.status]));
  }

  const silverRows = async (table: string) =>
    Number((await h.warehouse.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``))[0][0]?.n);

  async function until(handle: WorkflowHandle, check: (p: BackfillProgress) => boolean): Promise<BackfillProgress> {
    for (let i = 0; i < 1_200; i++) {
      const p = await handle.query<BackfillProgress>('progress');
      if (check(p)) return p;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('backfill never reached the expected state');
  }

  beforeAll(async () => {
    h = await openHarness();
  });

  afterAll(async () => {
    if (!h) return;
    for (const t of tables) {
      await h.postgres.query(`DROP TABLE IF EXISTS public.${t}`);
      await h.warehouse.query(`DROP TABLE IF EXISTS \`${t}\``);
    }
    await h.close();
  });

  it('syncs every partition of the range, each bounded to its window', async () => {
    const dataset = await declareSource('all');
    const handle = await startBackfill(dataset, { concurrency: 4 });
    const result = (await handle.result()) as BackfillResult;
    expect(result).toMatchObject({
      status: 'completed',
      partitions: DAYS,
      toRun: DAYS,
      succeeded: DAYS,
      failed: 0,
      rows: DAYS * ROWS_PER_DAY,
    });
    expect(Object.values(await partitionStates(dataset))).toEqual(Array(DAYS).fill('succeeded'));
    expect(await silverRows(`all_${tag}`)).toBe(DAYS * ROWS_PER_DAY);
    // An operator finds it in the Web UI by dataset, kind and the range it covers.
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect([SearchAttr.dataset, SearchAttr.kind, SearchAttr.partition].map((key) => attributes.get(key))).toEqual([
      dataset,
      'backfill',
      '2024-03-01/2024-03-11',
    ]);

    // Nothing is missing any more: a second backfill has nothing to do.
    const again = (await (await startBackfill(dataset, {})).result()) as BackfillResult;
    expect(again).toMatchObject({ toRun: 0, succeeded: 0 });
  });

  it('keeps going past a failing partition, and a `failed` run retries only those', async () => {
    const dataset = await declareSource('flaky', { poisonDays: [3, 7] });
    const first = (await (await startBackfill(dataset, { concurrency: 3 })).result()) as BackfillResult;
    expect(first).toMatchObject({ succeeded: DAYS - 2, failed: 2 });
    const states = await partitionStates(dataset);
    expect(
      Object.entries(states)
        .filter(([, s]) => s === 'failed')
        .map(([k]) => k),
    ).toEqual(['2024-03-03', '2024-03-07']);
    // Each failed partition keeps the reason on top: the error's type and Postgres's own words.
    const [reasons] = await h.clients.catalog.query<RowDataPacket[]>(
      "SELECT error FROM backfill_partitions WHERE dataset = ? AND status = 'failed'",
      [dataset],
    );
    for (const r of reasons) expect(r.error).toMatch(/^\w+: .*division by zero/);
    const [before] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT partition_key, sync_run_id FROM backfill_partitions WHERE dataset = ?',
      [dataset],
    );

    await h.postgres.query(`UPDATE public.flaky_${tag} SET poison = false`);
    const retry = (await (await startBackfill(dataset, { mode: 'failed' })).result()) as BackfillResult;
    expect(retry).toMatchObject({ toRun: 2, succeeded: 2, failed: 0, rows: 2 * ROWS_PER_DAY });
    const [after] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT partition_key, sync_run_id FROM backfill_partitions WHERE dataset = ?',
      [dataset],
    );
    const changed = after
      .filter((r) => before.find((b) => b.partition_key === r.partition_key)?.sync_run_id !== r.sync_run_id)
      .map((r) => r.partition_key);
    expect(changed.sort()).toEqual(['2024-03-03', '2024-03-07']);
    expect(await silverRows(`flaky_${tag}`)).toBe(DAYS * ROWS_PER_DAY);
  });

  it('pauses, changes concurrency, resumes, and refuses a bad concurrency', async () => {
    const dataset = await declareSource('paused');
    const handle = await startBackfill(dataset, { concurrency: 1 });
    const paused = await handle.executeUpdate<BackfillProgress, []>('pause');
    expect(paused.paused).toBe(true);
    const idle = await until(handle, (p) => p.running === 0);
    // While paused nothing new starts, however long we look.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const p = await handle.query<BackfillProgress>('progress');
      expect([p.succeeded + p.failed, p.running]).toEqual([idle.succeeded + idle.failed, 0]);
    }
    expect(idle.succeeded).toBeLessThan(DAYS);
    const refused = await handle.executeUpdate('setConcurrency', { args: [0] }).catch((err: Error) => err);
    expect((refused as Error & { cause?: Error }).cause?.message).toMatch(/concurrency must be a whole number from 1 to 200, not 0/);
    expect((await handle.executeUpdate<BackfillProgress, [number]>('setConcurrency', { args: [5] })).concurrency).toBe(5);
    await handle.executeUpdate('resume');
    const result = (await handle.result()) as BackfillResult;
    expect(result).toMatchObject({ status: 'completed', succeeded: DAYS, concurrency: 5, paused: false });
  });

  it('cancels: partitions stop, the rest stays missing for the next backfill', async () => {
    const dataset = await declareSource('cancelled');
    const handle = await startBackfill(dataset, { concurrency: 1 });
    await until(handle, (p) => p.succeeded >= 2);
    await handle.executeUpdate('cancel');
    const result = (await handle.result()) as BackfillResult;
    expect(result.status).toBe('cancelled');
    expect(result.succeeded).toBeLessThan(DAYS);
    const [row] = await h.clients.catalog.query<RowDataPacket[]>('SELECT status FROM backfills WHERE backfill_id = ?', [result.backfillId]);
    expect(row[0]?.status).toBe('cancelled');
    // The backfill's count is what the catalog recorded: nothing finished behind its back.
    expect(Object.values(await partitionStates(dataset)).filter((s) => s === 'succeeded')).toHaveLength(result.succeeded);

    const rest = (await (await startBackfill(dataset, {})).result()) as BackfillResult;
    expect(rest.toRun).toBe(DAYS - result.succeeded);
    expect(rest.succeeded).toBe(DAYS - result.succeeded);
    expect(await silverRows(`cancelled_${tag}`)).toBe(DAYS * ROWS_PER_DAY);
  });

  it('runs a 10,000-partition range through continue-as-new, each partition recorded once', async () => {
    const table = `empty_${tag}`;
    tables.push(table);
    await h.postgres.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, at timestamp NOT NULL)`);
    const dataset = `backfill_${tag}.empty`;
    await h.declarePublicTable(dataset, table);
    const to = new Date(Date.UTC(2023, 0, 1) + 10_000 * 3_600_000).toISOString().slice(0, 13);
    const handle = await h.client.workflow.start('backfillWorkflow', {
      taskQueue: h.taskQueue,
      workflowId: backfillWorkflowId(dataset),
      args: [{ dataset, from: '2023-01-01', to, granularity: 'hourly', concurrency: 100, partitionsPerRun: 2_500 }],
    });
    const result = (await handle.result()) as BackfillResult;
    expect(result).toMatchObject({ status: 'completed', partitions: 10_000, toRun: 10_000, succeeded: 10_000, failed: 0 });
    const first = await h.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    const [counts] = await h.clients.catalog.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(status = 'succeeded') AS ok, MAX(attempts) AS attempts FROM backfill_partitions WHERE dataset = ?",
      [dataset],
    );
    expect([Number(counts[0]?.n), Number(counts[0]?.ok), Number(counts[0]?.attempts)]).toEqual([10_000, 10_000, 1]);
  }, 600_000); // 10,000 partitions take one to several minutes, with the machine's load

  it('records a backfill that fails while planning, with its error, and it holds no range', async () => {
    const dataset = `backfill_${tag}.no_cursor`;
    const table = `no_cursor_${tag}`;
    tables.push(table);
    await h.postgres.query(`CREATE TABLE public.${table} (id int PRIMARY KEY)`);
    await h.datasets.upsert({
      name: dataset,
      source: { kind: 'postgres', connection: 'local-postgres', table: `public.${table}`, primaryKey: ['id'] },
      target: { table },
      owner: 'ops@example.com',
      team: 'platform',
    });
    const handle = await startBackfill(dataset, {});
    const err = await handle.result().catch((e: unknown) => e as { cause?: { type?: string; message?: string } });
    expect(err.cause).toMatchObject({ type: 'InvalidInput' });
    expect(err.cause?.message).toMatch(/^InvalidInput: dataset .* declares no cursor column/);
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>('SELECT status, error, finished_at FROM backfills WHERE dataset = ?', [
      dataset,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failed', error: err.cause?.message });
    expect(rows[0]!.finished_at).not.toBeNull();
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect([attributes.get(SearchAttr.kind), attributes.get(SearchAttr.dataset), attributes.get(SearchAttr.outcome)]).toEqual([
      'backfill',
      dataset,
      'failed',
    ]);
  });

  it('refuses a second backfill of the same dataset while one runs', async () => {
    const dataset = await declareSource('twice');
    const handle = await startBackfill(dataset, { concurrency: 1 });
    await handle.executeUpdate('pause');
    await expect(startBackfill(dataset, {})).rejects.toThrow(/already started/i);
    await handle.executeUpdate('resume');
    await handle.result();
  });
});
