import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { IngestionActivities } from '../../activities/ingestion/index.js';
import type { ChunkInput, ChunkResult, SyncPlan, SyncProgress, SyncResult, SyncTotals } from '../../common/sync.js';
import { inMemoryLeases } from './support/lease-stubs.js';
import { eventually, failureOf, searchAttributesOf, suggestContinueAsNewAt, useStubWorker } from './support/environment.js';

type Stubs = Pick<IngestionActivities, 'planSync' | 'copyChunk' | 'finishSync' | 'failSync' | 'failUnplannedSync'>;

const plan = (syncRunId: string, over: Partial<SyncPlan> = {}): SyncPlan => ({
  syncRunId,
  dataset: 'shop.orders',
  team: 'commerce',
  mode: 'incremental',
  source: { kind: 'postgres', connection: 'local-postgres', table: 'orders', primaryKey: ['id'], cursor: 'updated_at' },
  targetTable: 'shop_orders',
  columns: [],
  keyset: ['updated_at', 'id'],
  upperInclusive: true,
  startAfter: ['2024-01-01 00:00:00', '7'],
  cursorUpperBound: '2024-02-01 00:00:00',
  cursorLowerBound: null,
  windowed: false,
  estimatedRows: 300,
  rowsWithoutCursor: 0,
  pageRows: 50,
  pagesPerChunk: 2,
  runPrefix: `shop.orders/2024-02-01/${syncRunId}`,
  startedAtMs: 0,
  ...over,
});

/** Chunk n (1-based) of `of`: 100 rows, its keyset position `[day n, id n]`. */
const chunkResult = (n: number, of: number): ChunkResult => ({
  rows: 100,
  quarantined: n === 1 ? 2 : 0,
  bytes: 1_000,
  objects: 2,
  after: [`2024-01-0${n + 1} 00:00:00`, String(n * 100)],
  nextSeq: 1 + 2 * n,
  done: n === of,
});

/** Which chunk a copy asks for, from where it starts: position n-1 of `chunkResult`. */
const chunkNumber = (input: ChunkInput): number => (input.firstSeq - 1) / 2 + 1;

function stubs(over: Partial<Stubs> = {}, chunks = 3): Stubs {
  return {
    planSync: async (_input, run) => plan(run.syncRunId, { startedAtMs: run.startedAtMs }),
    copyChunk: async (input) => chunkResult(chunkNumber(input), chunks),
    finishSync: async ({ plan: p, totals, after }): Promise<SyncResult> => ({
      ...totals,
      dataset: p.dataset,
      syncRunId: p.syncRunId,
      mode: p.mode,
      deletedRows: 0,
      watermark: after,
      manifestKey: `${p.runPrefix}/_manifest.json`,
    }),
    failSync: async () => undefined,
    failUnplannedSync: async () => undefined,
    ...over,
  };
}

const leases = inMemoryLeases();

describe('syncWorkflow with stub activities', () => {
  const t = useStubWorker(
    ['planSync', 'copyChunk', 'finishSync', 'failSync', 'failUnplannedSync'] satisfies (keyof Stubs)[],
    leases.activities,
  );
  const start = (input: unknown, more: object = {}) =>
    t.client.workflow.start('syncWorkflow', { taskQueue: t.taskQueue, workflowId: t.workflowId('sync:test'), args: [input], ...more });

  it('plans, copies chunk after chunk from the last position, then finishes with the summed totals', async () => {
    const rec = t.use(stubs());
    const handle = await start({ dataset: 'shop.orders', pageRows: 50, pagesPerChunk: 2 });
    const result = (await handle.result()) as SyncResult;

    expect(rec.names()).toEqual(['planSync', 'copyChunk', 'copyChunk', 'copyChunk', 'finishSync']);
    const [input, run] = rec.argsOf('planSync')[0] as Parameters<Stubs['planSync']>;
    expect(input).toEqual({ dataset: 'shop.orders', mode: 'incremental', pageRows: 50, pagesPerChunk: 2, whenBusy: 'fail' });
    expect(run.syncRunId).toBe(handle.firstExecutionRunId);
    const copies = rec.argsOf('copyChunk').map(([c]) => c as ChunkInput);
    expect(copies.map((c) => [c.after, c.firstSeq])).toEqual([
      [['2024-01-01 00:00:00', '7'], 1], // the plan's start
      [['2024-01-02 00:00:00', '100'], 3],
      [['2024-01-03 00:00:00', '200'], 5],
    ]);
    const totals: SyncTotals = { rows: 300, quarantined: 2, bytes: 3_000, objects: 6 };
    expect(rec.argsOf('finishSync')[0]![0]).toMatchObject({ totals, after: ['2024-01-04 00:00:00', '300'] });
    expect(result).toMatchObject({ ...totals, syncRunId: handle.firstExecutionRunId, watermark: ['2024-01-04 00:00:00', '300'] });
    expect(await searchAttributesOf(handle)).toEqual({
      kind: 'sync',
      dataset: 'shop.orders',
      team: 'commerce',
      outcome: 'succeeded',
      rows: 300,
    });
  });

  it('reports progress while it copies: phase, estimated rows and the totals so far', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.use(
      stubs({
        copyChunk: async (input) => {
          if (chunkNumber(input) === 2) await gate;
          return chunkResult(chunkNumber(input), 2);
        },
      }),
    );
    const handle = await start({ dataset: 'shop.orders' });
    const during = await eventually(
      () => handle.query<SyncProgress>('progress'),
      (p) => p.rows > 0,
      'the first chunk counted',
    );
    expect(during).toEqual({
      dataset: 'shop.orders',
      syncRunId: handle.firstExecutionRunId,
      phase: 'copying',
      estimatedRows: 300,
      rows: 100,
      quarantined: 2,
      bytes: 1_000,
      objects: 2,
    });
    release();
    await handle.result();
    expect(await handle.query<SyncProgress>('progress')).toMatchObject({ phase: 'done', rows: 200 });
  });

  it('tags a windowed sync with its window as an ISO 8601 interval', async () => {
    t.use(stubs({}, 1));
    const window = { from: '2024-03-01 00:00:00', to: '2024-03-02 00:00:00' };
    const handle = await start({ dataset: 'shop.orders', window });
    await handle.result();
    expect(await searchAttributesOf(handle)).toMatchObject({ kind: 'sync', partition: '2024-03-01 00:00:00/2024-03-02 00:00:00' });
  });

  it('continues as new when the server suggests it, carrying plan, position, sequence and totals', async () => {
    const rec = t.use(stubs({}, 6));
    const handle = await start({ dataset: 'shop.orders' }, suggestContinueAsNewAt(12));
    const result = (await handle.result()) as SyncResult;

    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((x) => x === 'planSync')).toHaveLength(1); // a continued run does not plan again
    const copies = rec.argsOf('copyChunk').map(([c]) => c as ChunkInput);
    expect(copies.map((c) => c.firstSeq)).toEqual([1, 3, 5, 7, 9, 11]); // no chunk skipped or copied twice
    expect(copies.every((c) => c.plan.syncRunId === handle.firstExecutionRunId)).toBe(true);
    expect(copies[3]!.after).toEqual(chunkResult(3, 6).after);
    expect(result).toMatchObject({ rows: 600, objects: 12, syncRunId: handle.firstExecutionRunId });
    expect(await searchAttributesOf(handle)).toMatchObject({ kind: 'sync', dataset: 'shop.orders', outcome: 'succeeded', rows: 600 });
  });

  it("fails with the activity's own error type and message on top and records the run as failed with them", async () => {
    const rec = t.use(
      stubs({
        copyChunk: async (input) => {
          if (chunkNumber(input) === 2) throw ApplicationFailure.nonRetryable('column orders.total disappeared', 'SourceSchemaError');
          return chunkResult(1, 3);
        },
      }),
    );
    const handle = await start({ dataset: 'shop.orders' });
    const failure = await failureOf(handle.result());
    expect(failure.message).toBe('SourceSchemaError: column orders.total disappeared');
    expect(failure.type).toBe('SourceSchemaError');
    expect(failure.nonRetryable).toBe(true);
    expect(await handle.query<SyncProgress>('progress')).toMatchObject({ phase: 'failed', rows: 100 });
    expect(rec.names()).toEqual(['planSync', 'copyChunk', 'copyChunk', 'failSync']);
    expect(rec.argsOf('failSync')[0]![0]).toMatchObject({
      outcome: 'failed',
      error: 'SourceSchemaError: column orders.total disappeared',
      totals: { rows: 100, quarantined: 2, bytes: 1_000, objects: 2 },
      plan: { syncRunId: handle.firstExecutionRunId },
    });
    expect(await searchAttributesOf(handle)).toMatchObject({ kind: 'sync', outcome: 'failed' });
  });

  it('records a cancelled sync as cancelled, even though the workflow is being cancelled', async () => {
    const rec = t.use(
      stubs({
        copyChunk: async () => {
          for (;;) {
            Context.current().heartbeat();
            await Context.current().sleep(50); // throws once the cancellation arrives
          }
        },
      }),
    );
    const handle = await start({ dataset: 'shop.orders' });
    await eventually(
      async () => rec.names(),
      (names) => names.includes('copyChunk'),
      'copying started',
    );
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(CancelledFailure);
    expect(rec.argsOf('failSync')).toHaveLength(1);
    expect(rec.argsOf('failSync')[0]![0]).toMatchObject({ outcome: 'cancelled' });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'cancelled' });
  });

  it('fails at once on bad input, naming every bad field, and runs no activity', async () => {
    const rec = t.use(stubs());
    const handle = await start({ dataset: 'Shop Orders', pageRows: 0 });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^invalid sync input: /);
    expect(failure.message).toContain('dataset: ');
    expect(failure.message).toContain('pageRows: ');
    expect(rec.calls).toEqual([]);
  });

  it('records a sync that fails while planning, under the dataset its input names, and tags it failed', async () => {
    const rec = t.use(
      stubs({
        planSync: async () => {
          throw ApplicationFailure.nonRetryable('no dataset shop.gone in the catalog', 'UnknownDataset');
        },
      }),
    );
    const handle = await start({ dataset: 'shop.gone', window: { from: '2024-03-01', to: '2024-03-02' } });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['UnknownDataset', 'UnknownDataset: no dataset shop.gone in the catalog']);
    expect(rec.names()).toEqual(['planSync', 'failUnplannedSync']);
    expect(rec.argsOf('failUnplannedSync')[0]![0]).toMatchObject({
      syncRunId: handle.firstExecutionRunId,
      dataset: 'shop.gone',
      mode: 'incremental',
      outcome: 'failed',
      error: 'UnknownDataset: no dataset shop.gone in the catalog',
      window: { from: '2024-03-01 00:00:00', to: '2024-03-02 00:00:00' },
    });
    expect(await searchAttributesOf(handle)).toMatchObject({
      kind: 'sync',
      dataset: 'shop.gone',
      outcome: 'failed',
      partition: '2024-03-01 00:00:00/2024-03-02 00:00:00',
    });
  });

  it('refuses a second sync of a held dataset, non-retryable, naming the holder, and releases the lease at the end', async () => {
    leases.held.set('shop.busy', { workflowId: 'spokeflow:sync:shop.busy-2026-12-02T15:00:00Z', runId: 'r1' });
    const rec = t.use(stubs());
    const handle = await start({ dataset: 'shop.busy' });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.nonRetryable, failure.message]).toEqual([
      'DatasetBusy',
      true,
      'DatasetBusy: dataset busy: shop.busy is held by spokeflow:sync:shop.busy-2026-12-02T15:00:00Z',
    ]);
    expect(failure.details?.[0]).toMatchObject({
      dataset: 'shop.busy',
      holder: { workflowId: 'spokeflow:sync:shop.busy-2026-12-02T15:00:00Z' },
    });
    // Refused before planning: recorded as an unplanned failed run, nothing copied.
    expect(rec.names()).toEqual(['failUnplannedSync']);
    leases.held.delete('shop.busy');
    const done = await start({ dataset: 'shop.busy' });
    await done.result();
    expect(leases.held.has('shop.busy')).toBe(false);
  });

  it('with whenBusy "wait", waits on timers while the dataset is held, then syncs once it is free', async () => {
    leases.held.set('shop.wait', { workflowId: 'sync:shop.wait', runId: 'r1' });
    const rec = t.use(stubs());
    const handle = await start({ dataset: 'shop.wait', whenBusy: 'wait' });
    const waiting = await eventually(
      () => handle.query<SyncProgress>('progress'),
      (p) => p.phase === 'waiting',
      'the sync waiting for the dataset',
    );
    expect(waiting.waitingFor).toBe('sync:shop.wait');
    expect(rec.names()).toEqual([]);
    leases.held.delete('shop.wait');
    await handle.result();
    expect(rec.names()[0]).toBe('planSync');
    expect(leases.held.has('shop.wait')).toBe(false);
  });

  it("starts a dataset's checks after a successful sync, abandoned to run on the quality queue; a dataset without checks starts none", async () => {
    const rec = t.use(stubs({ planSync: async (_input, run) => plan(run.syncRunId, { startedAtMs: run.startedAtMs, checks: 3 }) }));
    const handle = await start({ dataset: 'shop.orders' });
    await handle.result();
    expect(rec.names()).toEqual(['planSync', 'copyChunk', 'copyChunk', 'copyChunk', 'finishSync']); // no activity added
    const events = (await handle.fetchHistory()).events ?? [];
    const started = events.flatMap((e) =>
      e.startChildWorkflowExecutionInitiatedEventAttributes ? [e.startChildWorkflowExecutionInitiatedEventAttributes] : [],
    );
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      workflowId: 'quality-checks:shop.orders',
      workflowType: { name: 'qualityChecksWorkflow' },
      taskQueue: { name: 'spokeflow-quality' },
      parentClosePolicy: 2, // ABANDON
    });
    // The sync is done while its checks wait for a quality worker.
    const checks = t.client.workflow.getHandle('quality-checks:shop.orders');
    expect((await checks.describe()).status.name).toBe('RUNNING');
    await checks.terminate('the test is done with it');

    t.use(stubs());
    const plain = await start({ dataset: 'shop.orders' });
    await plain.result();
    const plainEvents = (await plain.fetchHistory()).events ?? [];
    const markers = (list: typeof events) => list.filter((e) => e.markerRecordedEventAttributes).length;
    expect(plainEvents.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
    expect(markers(plainEvents)).toBe(markers(events) - 1); // no patch marker either: its history is as before
  });
});
