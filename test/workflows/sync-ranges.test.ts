import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { IngestionActivities } from '../../activities/ingestion/index.js';
import type { KeyRangeInput, SyncPlan, SyncProgress, SyncResult, SyncTotals } from '../../common/sync.js';
import { inMemoryLeases } from './support/lease-stubs.js';
import { failureOf, pause, suggestContinueAsNewAt, untilCancelled, useStubWorker } from './support/environment.js';

type Stubs = Pick<
  IngestionActivities,
  'planSync' | 'copyChunk' | 'finishSync' | 'failSync' | 'failUnplannedSync' | 'planKeyRanges' | 'copyKeyRange'
>;

/** A full refresh of 1,000 rows at 100 rows a chunk, declared to copy 2 key ranges at once. */
const plan = (syncRunId: string, over: Partial<SyncPlan> = {}): SyncPlan => ({
  syncRunId,
  dataset: 'shop.orders',
  team: 'commerce',
  mode: 'full',
  source: { kind: 'postgres', connection: 'local-postgres', table: 'orders', primaryKey: ['id'], cursor: 'updated_at' },
  targetTable: 'shop_orders',
  columns: [],
  keyset: ['id'],
  upperInclusive: true,
  startAfter: null,
  cursorUpperBound: '2024-02-01 00:00:00',
  cursorLowerBound: null,
  windowed: false,
  estimatedRows: 1_000,
  rowsWithoutCursor: 0,
  pageRows: 50,
  pagesPerChunk: 2,
  runPrefix: `shop.orders/2024-02-01/${syncRunId}`,
  startedAtMs: 0,
  parallelRanges: 2,
  ...over,
});

/** Range r's counts: 100 rows in 2 objects, and r bytes so that a range counted twice (or not at all) shows. */
const rangeTotals = (range: number): SyncTotals => ({ rows: 100, quarantined: 0, bytes: 1_000 + range, objects: 2 });
const sumOf = (ranges: number[]): SyncTotals => ({
  rows: 100 * ranges.length,
  quarantined: 0,
  bytes: ranges.reduce((n, r) => n + 1_000 + r, 0),
  objects: 2 * ranges.length,
});
const all = (n: number) => [...Array(n).keys()];

function stubs(over: Partial<Stubs> = {}, ranges = 10): Stubs {
  return {
    planSync: async (_input, run) => plan(run.syncRunId, { startedAtMs: run.startedAtMs }),
    copyChunk: async () => {
      throw ApplicationFailure.nonRetryable('a plan with key ranges copies no chunk', 'Unexpected');
    },
    planKeyRanges: async () => ({ ranges }),
    copyKeyRange: async ({ range }) => rangeTotals(range),
    finishSync: async ({ plan: p, totals }): Promise<SyncResult> => ({
      ...totals,
      dataset: p.dataset,
      syncRunId: p.syncRunId,
      mode: p.mode,
      deletedRows: 0,
      watermark: [p.cursorUpperBound, null],
      manifestKey: `${p.runPrefix}/_manifest.json`,
    }),
    failSync: async () => undefined,
    failUnplannedSync: async () => undefined,
    ...over,
  };
}

const leases = inMemoryLeases();

/** The text of every marker's payloads in a history (a patch marker names its patch). */
async function markerTexts(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }): Promise<string> {
  type Marker = { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> } };
  const events = ((await handle.fetchHistory()).events ?? []) as Marker[];
  return events
    .flatMap((e) => Object.values(e.markerRecordedEventAttributes?.details ?? {}))
    .flatMap((p) => p.payloads ?? [])
    .map((p) => (p.data ? Buffer.from(p.data).toString() : ''))
    .join('\n');
}

describe('syncWorkflow copying key ranges in parallel, with stub activities', () => {
  const t = useStubWorker(
    ['planSync', 'copyChunk', 'finishSync', 'failSync', 'failUnplannedSync', 'planKeyRanges', 'copyKeyRange'] satisfies (keyof Stubs)[],
    leases.activities,
  );
  const start = (input: unknown, more: object = {}) =>
    t.client.workflow.start('syncWorkflow', { taskQueue: t.taskQueue, workflowId: t.workflowId('sync:ranges'), args: [input], ...more });

  it('copies every range once, never more than parallelRanges at once, and finishes once, after the last range is in', async () => {
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const rec = t.use(
      stubs({
        copyKeyRange: async ({ range }: KeyRangeInput) => {
          running += 1;
          most = Math.max(most, running);
          // Held until a second range runs beside it (bounded, so a sequential copy fails the test, not the run).
          for (let i = 0; i < 100 && running < 2 && range < 9; i++) await pause(20);
          await pause(10);
          running -= 1;
          order.push(`range ${range}`);
          return rangeTotals(range);
        },
        finishSync: async (input) => {
          order.push('finish');
          return stubs().finishSync(input);
        },
      }),
    );
    const handle = await start({ dataset: 'shop.orders', mode: 'full', pageRows: 50, pagesPerChunk: 2 });
    const result = (await handle.result()) as SyncResult;

    expect(most).toBe(2);
    expect(rec.names().filter((n) => n === 'planKeyRanges')).toHaveLength(1);
    const ranges = rec.argsOf('copyKeyRange').map(([r]) => (r as KeyRangeInput).range);
    expect([...ranges].sort((a, b) => a - b)).toEqual(all(10));
    expect(rec.names()).not.toContain('copyChunk');
    // The run's end (the full refresh's delete, the watermark) comes once, after every range.
    expect(order.filter((o) => o === 'finish')).toEqual(['finish']);
    expect(order.at(-1)).toBe('finish');
    expect(rec.argsOf('finishSync')[0]![0]).toMatchObject({ totals: sumOf(all(10)), after: null });
    expect(result).toMatchObject({ ...sumOf(all(10)), watermark: ['2024-02-01 00:00:00', null] });
    expect(await handle.query<SyncProgress>('progress')).toMatchObject({
      phase: 'done',
      rows: 1_000,
      ranges: { planned: 10, done: 10, running: 0 },
    });
    expect(await markerTexts(handle)).toContain('sync-key-ranges');
  });

  it('copies a plan without parallelRanges chunk after chunk, with no key-range patch in its history', async () => {
    let chunk = 0;
    const rec = t.use(
      stubs({
        planSync: async (_input, run) => plan(run.syncRunId, { parallelRanges: undefined }),
        copyChunk: async () => {
          chunk += 1;
          return { ...rangeTotals(chunk), after: [String(chunk * 100)], nextSeq: 1 + 2 * chunk, done: chunk === 3 };
        },
      }),
    );
    const handle = await start({ dataset: 'shop.orders', mode: 'full' });
    await handle.result();
    expect(rec.names()).toEqual(['planSync', 'copyChunk', 'copyChunk', 'copyChunk', 'finishSync']);
    expect(await markerTexts(handle)).not.toContain('sync-key-ranges');
  });

  it('continues as new between ranges, carrying the ranges: none planned or copied twice, every one counted once', async () => {
    const rec = t.use(stubs({}, 12));
    const handle = await start({ dataset: 'shop.orders', mode: 'full' }, suggestContinueAsNewAt(20));
    const result = (await handle.result()) as SyncResult;

    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((n) => n === 'planSync' || n === 'planKeyRanges')).toEqual(['planSync', 'planKeyRanges']);
    const ranges = rec.argsOf('copyKeyRange').map(([r]) => (r as KeyRangeInput).range);
    expect([...ranges].sort((a, b) => a - b)).toEqual(all(12));
    expect(rec.argsOf('copyKeyRange').every(([r]) => (r as KeyRangeInput).plan.syncRunId === handle.firstExecutionRunId)).toBe(true);
    expect(rec.names().filter((n) => n === 'finishSync')).toHaveLength(1);
    expect(result).toMatchObject({ ...sumOf(all(12)), syncRunId: handle.firstExecutionRunId });
  });

  it('counts a range retried after a failure once', async () => {
    let failedOnce = false;
    const rec = t.use(
      stubs(
        {
          copyKeyRange: async ({ range }) => {
            if (range === 1 && !failedOnce) {
              failedOnce = true;
              throw ApplicationFailure.retryable('connection reset', 'ECONNRESET');
            }
            return rangeTotals(range);
          },
        },
        4,
      ),
    );
    const handle = await start({ dataset: 'shop.orders', mode: 'full' });
    const result = (await handle.result()) as SyncResult;
    expect(
      rec
        .argsOf('copyKeyRange')
        .map(([r]) => (r as KeyRangeInput).range)
        .filter((r) => r === 1),
    ).toHaveLength(2);
    expect(result).toMatchObject(sumOf(all(4)));
  });

  it('cancels the ranges still running when one fails, and records the run failed only once they have stopped', async () => {
    const order: string[] = [];
    let zeroRunning = false;
    const rec = t.use(
      stubs(
        {
          copyKeyRange: async ({ range }) => {
            if (range === 1) {
              for (let i = 0; i < 100 && !zeroRunning; i++) await pause(20); // fails while range 0 runs
              throw ApplicationFailure.nonRetryable('column orders.total disappeared', 'SourceSchemaError');
            }
            zeroRunning = true;
            try {
              return await untilCancelled();
            } finally {
              order.push(`range ${range} stopped`);
            }
          },
          failSync: async () => {
            order.push('failSync');
          },
        },
        4,
      ),
    );
    const handle = await start({ dataset: 'shop.orders', mode: 'full' });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['SourceSchemaError', 'SourceSchemaError: column orders.total disappeared']);
    expect(rec.argsOf('copyKeyRange').map(([r]) => (r as KeyRangeInput).range)).toEqual(expect.arrayContaining([0, 1])); // two at once, no third
    expect(rec.argsOf('copyKeyRange')).toHaveLength(2);
    expect(order).toEqual(['range 0 stopped', 'failSync']);
    expect(rec.names()).not.toContain('finishSync');
  });
});
