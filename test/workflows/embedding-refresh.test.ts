import { readFileSync } from 'node:fs';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import type { VectorActivities } from '../../activities/vectors/index.js';
import type {
  EmbeddingRefreshProgress,
  EmbeddingRefreshResult,
  EmbeddingRefreshResume,
  RefreshRangeInput,
  RefreshRangeResult,
} from '../../common/knowledge.js';
import { eventually, failureOf, pause, searchAttributesOf, untilCancelled, useStubWorker } from './support/environment.js';

type Stubs = Pick<VectorActivities, 'planRefresh' | 'planRefreshPages' | 'refreshPageRange' | 'finishRefresh'>;

/** Page n of a planned catalog: 10 entries read, n + 1 embedded, `failed` refused; its last key is `key-n`. */
function range(input: RefreshRangeInput, failed = 0): RefreshRangeResult {
  const n = input.page;
  return { page: n, scanned: 10, embedded: n + 1, unchanged: 9 - n, failed, skipped: 0, removed: 0, last: `key-${n}` };
}

function stubs(pages: number, over: Partial<Stubs> = {}): Stubs {
  return {
    planRefresh: async ({ refreshId }) => ({ refreshId, model: 'bge-small', modelVersion: 'v1.5', entries: 10 * pages }),
    planRefreshPages: async () => ({ pages }),
    refreshPageRange: async (input) => range(input),
    finishRefresh: async () => undefined,
    ...over,
  };
}

/** Stub pages that take real time and count how many run at once. */
function timedPages(ms: number) {
  const seen = { running: 0, most: 0 };
  const refreshPageRange = async (input: RefreshRangeInput) => {
    seen.most = Math.max(seen.most, ++seen.running);
    await pause(ms);
    seen.running--;
    return range(input);
  };
  return { seen, refreshPageRange };
}

const embeddedOf = (pages: number) => (pages * (pages + 1)) / 2;

describe('embeddingRefreshWorkflow with stub activities', () => {
  const t = useStubWorker(['planRefresh', 'planRefreshPages', 'refreshPageRange', 'finishRefresh'] satisfies (keyof Stubs)[]);
  const start = (input: object, resume?: EmbeddingRefreshResume) =>
    t.client.workflow.start('embeddingRefreshWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('embedding-refresh'),
      args: resume ? [input, resume] : [input],
    });
  const pagesRun = (rec: ReturnType<typeof t.use>) => rec.argsOf('refreshPageRange').map(([p]) => (p as RefreshRangeInput).page);

  it('plans the catalog as pages once, refreshes every page once, then records the refresh', async () => {
    const rec = t.use(stubs(3));
    const handle = await start({ pageSize: 10, batchSize: 4 });
    const result = (await handle.result()) as EmbeddingRefreshResult;

    expect(rec.names().filter((n) => n !== 'refreshPageRange')).toEqual(['planRefresh', 'planRefreshPages', 'finishRefresh']);
    expect(rec.argsOf('planRefresh')[0]![0]).toMatchObject({ refreshId: handle.firstExecutionRunId });
    expect(rec.argsOf('planRefreshPages')[0]![0]).toMatchObject({
      plan: { refreshId: handle.firstExecutionRunId },
      after: null,
      pageSize: 10,
    });
    expect(pagesRun(rec).sort()).toEqual([0, 1, 2]);
    expect(rec.argsOf('refreshPageRange')[1]![0]).toMatchObject({
      plan: { refreshId: handle.firstExecutionRunId, model: 'bge-small' },
      batchSize: 4,
      maxEntryAttempts: 3,
      reembed: false,
    });
    const totals = { scanned: 30, embedded: 6, unchanged: 24, failed: 0, skipped: 0, removed: 0 };
    expect(rec.argsOf('finishRefresh')).toEqual([
      [{ refreshId: handle.firstExecutionRunId, cursor: 'key-2', totals, status: 'succeeded' }],
    ]);
    expect(result).toEqual({
      refreshId: handle.firstExecutionRunId,
      model: 'bge-small',
      modelVersion: 'v1.5',
      pages: 3,
      outcome: 'succeeded',
      ...totals,
    });
    expect(await handle.query<EmbeddingRefreshProgress>('progress')).toMatchObject({
      phase: 'done',
      model: 'bge-small v1.5',
      entries: 30,
      pages: 3,
      plannedPages: 3,
      runningPages: 0,
      cursor: 'key-2',
    });
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'embedding-refresh', outcome: 'succeeded', rows: 6 });
  });

  it('runs at most parallelPages pages at once, and that many while pages are left', async () => {
    const timed = timedPages(60);
    const rec = t.use(stubs(8, { refreshPageRange: timed.refreshPageRange }));
    expect(await (await start({ parallelPages: 3 })).result()).toMatchObject({ pages: 8, embedded: embeddedOf(8) });
    expect(timed.seen.most).toBe(3);
    expect(pagesRun(rec).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('runs four pages at once by default', async () => {
    const timed = timedPages(60);
    t.use(stubs(10, { refreshPageRange: timed.refreshPageRange }));
    expect(await (await start({})).result()).toMatchObject({ pages: 10 });
    expect(timed.seen.most).toBe(4);
  });

  it('ends partial when the model refused entries', async () => {
    const rec = t.use(stubs(2, { refreshPageRange: async (input) => range(input, 1) }));
    const handle = await start({});
    expect(await handle.result()).toMatchObject({ outcome: 'partial', failed: 2 });
    expect(rec.argsOf('finishRefresh')[0]![0]).toMatchObject({ status: 'partial' });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'partial' });
  });

  it('continues as new every pagesPerRun pages once the pages in flight end; no page runs twice and the plan is made once', async () => {
    const timed = timedPages(20);
    const rec = t.use(stubs(7, { refreshPageRange: timed.refreshPageRange }));
    const handle = await start({ pagesPerRun: 3, parallelPages: 2 });
    const result = (await handle.result()) as EmbeddingRefreshResult;
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    expect(rec.names().filter((n) => n === 'planRefresh' || n === 'planRefreshPages')).toEqual(['planRefresh', 'planRefreshPages']);
    expect(pagesRun(rec)).toHaveLength(7);
    expect(new Set(pagesRun(rec))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
    for (const [input] of rec.argsOf('refreshPageRange')) expect(input).toMatchObject({ plan: { refreshId: handle.firstExecutionRunId } });
    expect(result).toMatchObject({ refreshId: handle.firstExecutionRunId, pages: 7, scanned: 70, embedded: embeddedOf(7) });
    expect(rec.argsOf('finishRefresh')[0]![0]).toMatchObject({ cursor: 'key-6', totals: { embedded: embeddedOf(7) } });
  });

  it('counts a page once when its activity is retried, and runs no other page again', async () => {
    let attemptsOfPage1 = 0;
    const rec = t.use(
      stubs(4, {
        refreshPageRange: async (input) => {
          // The first attempt of page 1 fails after its work (a worker lost before it reported).
          if (input.page === 1 && ++attemptsOfPage1 === 1) throw ApplicationFailure.retryable('connection reset', 'ConnectionReset');
          return range(input);
        },
      }),
    );
    const result = (await (await start({})).result()) as EmbeddingRefreshResult;
    expect(attemptsOfPage1).toBe(2);
    expect(pagesRun(rec).sort()).toEqual([0, 1, 1, 2, 3]);
    expect(result).toMatchObject({ pages: 4, scanned: 40, embedded: embeddedOf(4), outcome: 'succeeded' });
  });

  it('plans the rest of the catalog after the cursor of a run continued from sequential pages', async () => {
    const rec = t.use(stubs(2));
    const plan = { refreshId: 'refresh-from-before', model: 'bge-small', modelVersion: 'v1.5', entries: 40 };
    const totals = { scanned: 20, embedded: 3, unchanged: 17, failed: 0, skipped: 0, removed: 0 };
    const result = (await (await start({}, { plan, cursor: 'page-2', pages: 2, totals })).result()) as EmbeddingRefreshResult;
    expect(rec.names()[0]).toBe('planRefreshPages'); // the plan is the one carried
    expect(rec.argsOf('planRefreshPages')[0]![0]).toMatchObject({ plan, after: 'page-2' });
    expect(result).toMatchObject({ refreshId: 'refresh-from-before', pages: 4, scanned: 40, embedded: 3 + embeddedOf(2) });
  });

  it("fails with the page's own error and records the refresh as failed at the end of the pages done without a gap", async () => {
    const rec = t.use(
      stubs(3, {
        refreshPageRange: async (input) => {
          if (input.page === 1) {
            await pause(100); // page 0 is done by then
            throw ApplicationFailure.nonRetryable('pgvector: dimension 384 expected, got 768', 'DimensionMismatch');
          }
          return range(input);
        },
      }),
    );
    const handle = await start({});
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['DimensionMismatch', 'DimensionMismatch: pgvector: dimension 384 expected, got 768']);
    expect(rec.argsOf('finishRefresh')).toEqual([
      [
        {
          refreshId: handle.firstExecutionRunId,
          cursor: 'key-0',
          totals: expect.objectContaining({ scanned: 20, embedded: 1 + 3 }), // pages 0 and 2
          status: 'failed',
          error: 'DimensionMismatch: pgvector: dimension 384 expected, got 768',
        },
      ],
    ]);
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'embedding-refresh', outcome: 'failed' });
  });

  it('records a cancelled refresh as cancelled', async () => {
    const rec = t.use(stubs(2, { refreshPageRange: untilCancelled }));
    const handle = await start({});
    await eventually(
      async () => rec.names(),
      (names) => names.includes('refreshPageRange'),
      'refreshing started',
    );
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(CancelledFailure);
    expect(rec.argsOf('finishRefresh')[0]![0]).toMatchObject({ status: 'cancelled', cursor: null });
    expect(await searchAttributesOf(handle)).toMatchObject({ outcome: 'cancelled' });
  });

  it('fails at once on bad input, naming the field', async () => {
    const rec = t.use(stubs(1));
    const failure = await failureOf((await start({ pageSize: 0, reembed: 'yes', parallelPages: 0 })).result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/^invalid embedding refresh input: /);
    expect(failure.message).toContain('pageSize: ');
    expect(failure.message).toContain('reembed: ');
    expect(failure.message).toContain('parallelPages: ');
    expect(rec.calls).toEqual([]);
  });
});

describe('embeddingRefreshWorkflow histories recorded by earlier versions', () => {
  it('replays a refresh of sequential pages (recorded before parallel pages) without a determinism error', async () => {
    // Recorded by `npx tsx test/support/record-embedding-refresh-history.ts` on the sequential version.
    const fixture = new URL('../fixtures/embedding-refresh-history.json', import.meta.url);
    const history = historyFromJSON(JSON.parse(readFileSync(fixture, 'utf8')));
    const scheduled = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).toEqual(['planRefresh', 'refreshPage', 'refreshPage', 'refreshPage', 'finishRefresh']);
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, 'recorded-embedding-refresh');
  });
});
