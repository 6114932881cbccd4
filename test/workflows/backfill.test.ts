import { inMemoryLeases } from './support/lease-stubs.js';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { BackfillActivities } from '../../activities/ingestion/backfill.js';
import type { IngestionActivities } from '../../activities/ingestion/index.js';
import type { BackfillProgress } from '../../common/backfill.js';
import type { ChunkInput, SyncInput, SyncPlan, SyncResult } from '../../common/sync.js';
import { failureOf, gate, eventually, pause, searchAttributesOf, untilCancelled, useStubWorker } from './support/environment.js';

type Stubs = Pick<BackfillActivities, 'planBackfill' | 'nextPartitions' | 'recordPartitionFailure' | 'finishBackfill' | 'failBackfill'> &
  Pick<IngestionActivities, 'planSync' | 'copyChunk' | 'finishSync'>;
type PlanRun = Parameters<Stubs['planSync']>[1];
type Result = BackfillProgress & { status: 'completed' | 'cancelled' };

/** Daily partitions from 2024-03-01: `2024-03-01` … */
const dayKey = (i: number) => new Date(Date.UTC(2024, 2, 1 + i)).toISOString().slice(0, 10);

/** A partition's plan: its window, 10 rows to copy. */
const plan = (input: SyncInput, run: PlanRun): SyncPlan => ({
  syncRunId: run.syncRunId,
  dataset: input.dataset,
  team: 'commerce',
  mode: 'incremental',
  source: { kind: 'postgres', connection: 'local-postgres', table: 'orders', primaryKey: ['id'], cursor: 'updated_at' },
  targetTable: 'shop_orders',
  columns: [],
  keyset: ['updated_at', 'id'],
  upperInclusive: false,
  startAfter: null,
  cursorUpperBound: input.window!.to,
  cursorLowerBound: input.window!.from,
  windowed: true,
  estimatedRows: 10,
  rowsWithoutCursor: 0,
  pageRows: input.pageRows,
  pagesPerChunk: input.pagesPerChunk,
  runPrefix: `shop.orders/2024-03-01/${run.syncRunId}`,
  startedAtMs: run.startedAtMs,
});

/** The partition a copy is for: its sync run id ends with the partition key. */
const keyOf = (c: ChunkInput) => c.plan.syncRunId.split(':').at(-1)!;

/** Stubs over `days` daily partitions from 2024-03-01; each partition copies 10 rows; `meter` counts partitions in flight. */
function stubs(days: number, over: Partial<Stubs> = {}, meter = { running: 0, max: 0 }): Stubs {
  const keys = Array.from({ length: days }, (_, i) => dayKey(i));
  return {
    planBackfill: async () => ({ partitions: days, toRun: days, team: 'commerce' }),
    nextPartitions: async ({ afterKey, limit }) => {
      const rest = keys.filter((k) => afterKey === null || k > afterKey).slice(0, limit);
      const last = rest[rest.length - 1] ?? afterKey;
      return {
        partitions: rest.map((key) => ({ key, from: `${key} 00:00:00`, to: `${key} 23:59:59` })),
        afterKey: last,
        exhausted: last === keys[keys.length - 1],
      };
    },
    planSync: async (input, run) => {
      meter.max = Math.max(meter.max, ++meter.running);
      return plan(input, run);
    },
    copyChunk: async () => {
      await pause(20);
      return { rows: 10, quarantined: 0, bytes: 100, objects: 1, after: null, nextSeq: 2, done: true };
    },
    finishSync: async ({ plan: p, totals }): Promise<SyncResult> => {
      meter.running--;
      return {
        ...totals,
        dataset: p.dataset,
        syncRunId: p.syncRunId,
        mode: p.mode,
        deletedRows: 0,
        watermark: null,
        manifestKey: `${p.runPrefix}/_manifest.json`,
      };
    },
    recordPartitionFailure: async () => undefined,
    finishBackfill: async () => undefined,
    failBackfill: async () => undefined,
    ...over,
  };
}

describe('backfillWorkflow with stub activities', () => {
  const t = useStubWorker(
    [
      'planBackfill',
      'nextPartitions',
      'planSync',
      'copyChunk',
      'finishSync',
      'recordPartitionFailure',
      'finishBackfill',
      'failBackfill',
    ] satisfies (keyof Stubs)[],
    inMemoryLeases().activities,
  );
  const input = (more: object = {}) => ({ dataset: 'shop.orders', from: '2024-03-01', to: '2024-03-06', ...more });
  const start = (args: object) =>
    t.client.workflow.start('backfillWorkflow', { taskQueue: t.taskQueue, workflowId: t.workflowId('backfill:test'), args: [args] });
  const progressOf = (handle: Awaited<ReturnType<typeof start>>) => handle.query<BackfillProgress>('progress');
  // Partitions start in order; with several in flight their activities may reach the worker in another.
  const keysSynced = (rec: ReturnType<typeof t.use>) =>
    rec
      .argsOf('planSync')
      .map(([, run]) => (run as PlanRun).partition!.key)
      .sort();

  it('syncs each partition of the range in order, at most `concurrency` at once, and finishes completed', async () => {
    const meter = { running: 0, max: 0 };
    const rec = t.use(stubs(5, {}, meter));
    const handle = await start(input({ concurrency: 2, pageRows: 500 }));
    const result = (await handle.result()) as Result;

    expect(rec.names()[0]).toBe('planBackfill');
    expect(rec.argsOf('planBackfill')[0]).toEqual([
      {
        dataset: 'shop.orders',
        from: '2024-03-01 00:00:00', // normalised to UTC by the input schema
        to: '2024-03-06 00:00:00',
        granularity: 'daily',
        mode: 'missing',
        concurrency: 2,
        pageRows: 500,
        partitionsPerRun: 1000,
        whenBusy: 'fail',
      },
      { backfillId: handle.firstExecutionRunId },
    ]);
    expect(keysSynced(rec)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05']);
    // Each partition is the sync of its window, under a sync run fixed by backfill and partition.
    const [partitionInput, run] = rec.argsOf('planSync').find(([, r]) => (r as PlanRun).partition?.key === '2024-03-01') as [
      SyncInput,
      PlanRun,
    ];
    expect(partitionInput).toMatchObject({
      dataset: 'shop.orders',
      mode: 'incremental',
      window: { from: '2024-03-01 00:00:00', to: '2024-03-01 23:59:59' },
      pageRows: 500,
    });
    expect(run).toMatchObject({
      syncRunId: `${handle.firstExecutionRunId}:2024-03-01`,
      partition: { backfillId: handle.firstExecutionRunId, dataset: 'shop.orders', granularity: 'daily', key: '2024-03-01' },
    });
    expect(
      rec
        .argsOf('finishSync')
        .map(([f]) => (f as { partition: { key: string } }).partition.key)
        .sort(),
    ).toEqual(keysSynced(rec));
    expect(meter.max).toBe(2);
    expect(rec.names()[rec.names().length - 1]).toBe('finishBackfill');
    expect(rec.argsOf('finishBackfill')[0]![0]).toMatchObject({ status: 'completed', progress: { succeeded: 5, failed: 0, rows: 50 } });
    expect(result).toMatchObject({
      status: 'completed',
      partitions: 5,
      toRun: 5,
      succeeded: 5,
      failed: 0,
      running: 0,
      rows: 50,
      backfillId: handle.firstExecutionRunId,
    });
    expect(await searchAttributesOf(handle)).toEqual({
      kind: 'backfill',
      dataset: 'shop.orders',
      team: 'commerce',
      partition: '2024-03-01/2024-03-06',
      outcome: 'succeeded',
      rows: 50,
    });
  });

  it('goes on past a failing partition and records its failure with the activity’s message', async () => {
    const s = stubs(4);
    const rec = t.use({
      ...s,
      copyChunk: async (c: ChunkInput) => {
        if (keyOf(c) === '2024-03-02')
          throw ApplicationFailure.nonRetryable('source rows of 2024-03-02 are unreadable', 'SourceSchemaError');
        return s.copyChunk(c);
      },
    });
    const handle = await start(input({ to: '2024-03-05', concurrency: 1 }));
    const result = (await handle.result()) as Result;
    expect(keysSynced(rec)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04']);
    expect(rec.argsOf('recordPartitionFailure')).toHaveLength(1);
    expect(rec.argsOf('recordPartitionFailure')[0]![0]).toMatchObject({
      task: { key: '2024-03-02' },
      status: 'failed',
      error: 'SourceSchemaError: source rows of 2024-03-02 are unreadable',
    });
    expect(result).toMatchObject({ status: 'completed', succeeded: 3, failed: 1, rows: 30 });
    // The partition's sync run is ended as a failed sync's, and the backfill as partial.
    expect(rec.argsOf('recordPartitionFailure')[0]![0]).toMatchObject({ plan: { syncRunId: `${handle.firstExecutionRunId}:2024-03-02` } });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'partial', rows: 30 });
  });

  it('records a partition that fails while planning with the reason, its sync run id and window', async () => {
    const s = stubs(2);
    const rec = t.use({
      ...s,
      planSync: async (i: SyncInput, run: PlanRun) => {
        if (run.partition!.key === '2024-03-02')
          throw ApplicationFailure.nonRetryable('password authentication failed', 'AuthenticationFailed');
        return s.planSync(i, run);
      },
    });
    const handle = await start(input({ to: '2024-03-03', concurrency: 1 }));
    expect(await handle.result()).toMatchObject({ status: 'completed', succeeded: 1, failed: 1 });
    const [failure] = rec.argsOf('recordPartitionFailure')[0]! as [Record<string, unknown>];
    expect(failure).toMatchObject({
      task: { key: '2024-03-02' },
      status: 'failed',
      error: 'AuthenticationFailed: password authentication failed',
      syncRunId: `${handle.firstExecutionRunId}:2024-03-02`,
      window: { from: '2024-03-02 00:00:00', to: '2024-03-02 23:59:59' },
    });
    expect(failure).not.toHaveProperty('plan');
    expect(rec.argsOf('planSync').filter(([, run]) => (run as PlanRun).partition!.key === '2024-03-02')).toHaveLength(1);
  });

  it('records a backfill that fails while planning, tagged with its dataset and range', async () => {
    const rec = t.use(
      stubs(3, {
        planBackfill: async () => {
          throw ApplicationFailure.nonRetryable('unknown dataset "shop.gone"', 'UnknownDataset');
        },
      }),
    );
    const handle = await start(input({ dataset: 'shop.gone' }));
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['UnknownDataset', 'UnknownDataset: unknown dataset "shop.gone"']);
    expect(rec.names()).toEqual(['planBackfill', 'failBackfill']);
    expect(rec.argsOf('failBackfill')[0]![0]).toMatchObject({
      backfillId: handle.firstExecutionRunId,
      input: { dataset: 'shop.gone' },
      outcome: 'failed',
      error: 'UnknownDataset: unknown dataset "shop.gone"',
    });
    expect(await searchAttributesOf(handle)).toMatchObject({ kind: 'backfill', dataset: 'shop.gone', outcome: 'failed' });
  });

  it('pauses (no new partition starts) and resumes through updates', async () => {
    const first = gate();
    const s = stubs(3);
    const rec = t.use({
      ...s,
      copyChunk: async (c: ChunkInput) => {
        if (keyOf(c) === '2024-03-01') await first.opened;
        return s.copyChunk(c);
      },
    });
    const handle = await start(input({ to: '2024-03-04', concurrency: 1 }));
    await eventually(
      () => progressOf(handle),
      (p) => p.running === 1,
      'the first partition running',
    );
    const paused = await handle.executeUpdate<BackfillProgress, []>('pause');
    expect(paused).toMatchObject({ paused: true, running: 1, succeeded: 0 });
    first.open();
    await eventually(
      () => progressOf(handle),
      (p) => p.succeeded === 1 && p.running === 0,
      'the running partition done',
    );
    await pause(300);
    expect(keysSynced(rec)).toEqual(['2024-03-01']); // none started while paused
    expect(await handle.executeUpdate<BackfillProgress, []>('resume')).toMatchObject({ paused: false });
    expect(await handle.result()).toMatchObject({ status: 'completed', succeeded: 3 });
  });

  it('changes concurrency while running, refusing a value out of range', async () => {
    const hold = gate();
    const s = stubs(4);
    t.use({
      ...s,
      copyChunk: async (c: ChunkInput) => {
        await hold.opened;
        return s.copyChunk(c);
      },
    });
    const handle = await start(input({ to: '2024-03-05', concurrency: 1 }));
    await eventually(
      () => progressOf(handle),
      (p) => p.running === 1,
      'one partition running',
    );
    const refused = await handle.executeUpdate('setConcurrency', { args: [0] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refused as WorkflowUpdateFailedError).cause?.message)).toContain(
      'concurrency must be a whole number from 1 to 200, not 0',
    );
    expect(await handle.executeUpdate<BackfillProgress, [number]>('setConcurrency', { args: [3] })).toMatchObject({ concurrency: 3 });
    const widened = await eventually(
      () => progressOf(handle),
      (p) => p.running === 3,
      'three partitions running',
    );
    expect(widened).toMatchObject({ concurrency: 3, partitions: 4, toRun: 4, succeeded: 0 });
    hold.open();
    expect(await handle.result()).toMatchObject({ status: 'completed', succeeded: 4, concurrency: 3 });
  });

  it('cancels through an update: running partitions are cancelled and recorded, nothing new starts, the backfill ends cancelled', async () => {
    const rec = t.use({ ...stubs(5), copyChunk: untilCancelled });
    const handle = await start(input({ concurrency: 2 }));
    await eventually(
      () => progressOf(handle),
      (p) => p.running === 2,
      'two partitions running',
    );
    expect(await handle.executeUpdate<BackfillProgress, []>('cancel')).toMatchObject({ cancelled: true });
    const result = (await handle.result()) as Result;
    expect(result).toMatchObject({ status: 'cancelled', cancelled: true, succeeded: 0, failed: 0, running: 0 });
    expect(keysSynced(rec)).toEqual(['2024-03-01', '2024-03-02']);
    expect(rec.argsOf('recordPartitionFailure').map(([a]) => (a as { status: string }).status)).toEqual(['cancelled', 'cancelled']);
    expect(rec.argsOf('finishBackfill')[0]![0]).toMatchObject({ status: 'cancelled' });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'cancelled' });
  });

  it('continues as new every partitionsPerRun partitions, carrying the last key and the counts', async () => {
    const rec = t.use(stubs(25));
    const handle = await start(input({ to: '2024-03-26', concurrency: 4, partitionsPerRun: 10 }));
    const result = (await handle.result()) as Result;

    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((n) => n === 'planBackfill')).toHaveLength(1);
    expect(keysSynced(rec)).toEqual(Array.from({ length: 25 }, (_, i) => dayKey(i))); // each once, in order
    const afterKeys = rec.argsOf('nextPartitions').map(([a]) => (a as { afterKey: string | null }).afterKey);
    expect(afterKeys).toContain('2024-03-10'); // the second run starts after the first run's last partition
    expect(afterKeys).toContain('2024-03-20');
    expect(rec.argsOf('finishBackfill')).toHaveLength(1);
    expect(result).toMatchObject({ status: 'completed', backfillId: handle.firstExecutionRunId, partitions: 25, succeeded: 25, rows: 250 });
  });

  it('fails at once on bad input, naming the field', async () => {
    const rec = t.use(stubs(1));
    const handle = await start(input({ from: '2024-03-06', to: '2024-03-01', concurrency: 0 }));
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/^invalid backfill input: /);
    expect(failure.message).toContain('concurrency: ');
    expect(rec.calls).toEqual([]);
  });
});
